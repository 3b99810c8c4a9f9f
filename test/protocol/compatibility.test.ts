import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  acceptanceGaps,
  command,
  compareContracts,
  contractOf,
  defineProtocol,
  error,
  event,
  isContract,
  stream,
  topic,
} from '../../src/protocol/index.js';

type Parts = {
  queueInput?: z.ZodType;
  queueOutput?: z.ZodType;
  queuePermission?: string;
  queueWireId?: number;
  queueIdempotent?: boolean;
  tailItem?: z.ZodType;
  statusKind?: 'command' | 'stream';
  dropStatus?: boolean;
  extraCommand?: boolean;
  eventPayload?: z.ZodType;
  dropEvent?: boolean;
  topicPattern?: string;
  errors?: string[];
};

const jobInput = z.object({ name: z.string().max(64), priority: z.number().int().min(0).max(9).optional() });
const jobOutput = z.object({ id: z.string(), state: z.enum(['queued', 'running']) });

/** The job queue at version 1, and at version 2 with the parts a change replaces. */
function jobs(parts: Parts = {}) {
  const commands: Record<string, ReturnType<typeof command> | ReturnType<typeof stream>> = {
    queue: command({
      input: parts.queueInput ?? jobInput,
      output: parts.queueOutput ?? jobOutput,
      permission: parts.queuePermission ?? 'jobs:create',
      wireId: parts.queueWireId ?? 1,
      idempotent: parts.queueIdempotent ?? true,
    }),
    tail: stream({ input: z.object({ id: z.string() }), item: parts.tailItem ?? z.string() }),
  };
  if (!parts.dropStatus) {
    commands.status =
      parts.statusKind === 'stream'
        ? stream({ input: z.object({ id: z.string() }), item: jobOutput })
        : command({ input: z.object({ id: z.string() }), output: jobOutput });
  }
  if (parts.extraCommand) commands.prune = command({ input: z.object({}), output: z.number() });
  const events: Record<string, ReturnType<typeof event>> = {};
  if (!parts.dropEvent) events.updated = event(parts.eventPayload ?? jobOutput);
  const errors: Record<string, ReturnType<typeof error>> = {};
  for (const code of parts.errors ?? ['JOB_NOT_FOUND']) errors[code] = error(code);
  return contractOf(
    defineProtocol({
      name: 'jobs',
      version: '1.0.0',
      resources: {
        jobs: {
          commands,
          events,
          topics: {
            logs: topic({ pattern: parts.topicPattern ?? 'jobs.{jobId}.logs', payload: z.string() }),
          },
        },
      },
      errors,
    }),
  );
}

const cases: [string, Parts, 'breaking' | 'safe' | 'none', string?][] = [
  ['nothing changed', {}, 'none'],
  ['a command removed', { dropStatus: true }, 'breaking', 'command jobs.status was removed'],
  ['a command added', { extraCommand: true }, 'safe', 'command jobs.prune was added'],
  [
    'a command became a stream',
    { statusKind: 'stream' },
    'breaking',
    'jobs.status changed from a command to a stream',
  ],
  [
    'a new required input field',
    { queueInput: jobInput.extend({ owner: z.string() }) },
    'breaking',
    'command jobs.queue narrowed: input.owner: a new required field',
  ],
  ['a new optional input field', { queueInput: jobInput.extend({ note: z.string().optional() }) }, 'safe'],
  [
    'an input bound narrowed',
    { queueInput: jobInput.extend({ priority: z.number().int().min(0).max(5).optional() }) },
    'breaking',
    'command jobs.queue narrowed: input.priority: upper bound narrowed from 9 to 5',
  ],
  [
    'an input bound widened',
    { queueInput: jobInput.extend({ priority: z.number().int().min(0).max(99).optional() }) },
    'safe',
    'command jobs.queue input widened',
  ],
  [
    'an input string length narrowed',
    { queueInput: jobInput.extend({ name: z.string().max(10) }) },
    'breaking',
    'command jobs.queue narrowed: input.name: now takes at most 10 characters',
  ],
  [
    'an input integer became a number',
    { queueInput: jobInput.extend({ priority: z.number().min(0).max(9).optional() }) },
    'safe',
  ],
  [
    'an input type changed',
    { queueInput: jobInput.extend({ name: z.number() }) },
    'breaking',
    'command jobs.queue narrowed: input.name: string is now number',
  ],
  [
    'an input field became nullable',
    { queueInput: jobInput.extend({ name: z.string().max(64).nullable() }) },
    'safe',
  ],
  [
    'an output type changed',
    { queueOutput: jobOutput.extend({ id: z.number() }) },
    'breaking',
    'command jobs.queue changed: output.id: number is now string',
  ],
  [
    'an output enum gained a value old clients do not know',
    { queueOutput: jobOutput.extend({ state: z.enum(['queued', 'running', 'paused']) }) },
    'breaking',
    'command jobs.queue changed: output.state: no longer accepts "paused"',
  ],
  [
    'an output enum lost a value',
    { queueOutput: jobOutput.extend({ state: z.enum(['queued']) }) },
    'safe',
    'command jobs.queue output narrowed',
  ],
  [
    'an output field became optional',
    { queueOutput: jobOutput.extend({ id: z.string().optional() }) },
    'breaking',
    'command jobs.queue changed: output.id: a new required field',
  ],
  ['an output field added', { queueOutput: jobOutput.extend({ at: z.number() }) }, 'safe'],
  [
    'a stream item type changed',
    { tailItem: z.number() },
    'breaking',
    'stream jobs.tail changed: item: number is now string',
  ],
  [
    'a permission added',
    { queuePermission: 'jobs:admin' },
    'breaking',
    'jobs.queue now requires permission "jobs:admin"',
  ],
  [
    'a command no longer idempotent',
    { queueIdempotent: false },
    'breaking',
    "jobs.queue is no longer idempotent: old clients' retries may run it twice",
  ],
  ['a wire id changed', { queueWireId: 7 }, 'breaking', 'command jobs.queue wire id changed from 1 to 7'],
  ['an event removed', { dropEvent: true }, 'breaking', 'event jobs.updated was removed'],
  [
    'an event payload changed',
    { eventPayload: z.object({ id: z.number() }) },
    'breaking',
    'event jobs.updated changed: payload.id: number is now string',
  ],
  [
    'a topic pattern changed',
    { topicPattern: 'jobs.{id}.logs' },
    'breaking',
    `jobs.logs's pattern changed from "jobs.{jobId}.logs" to "jobs.{id}.logs"`,
  ],
  ['an error code removed', { errors: [] }, 'breaking', 'error JOB_NOT_FOUND was removed'],
  [
    'an error code added',
    { errors: ['JOB_NOT_FOUND', 'QUOTA_EXCEEDED'] },
    'safe',
    'error QUOTA_EXCEEDED was added',
  ],
];

describe('compareContracts', () => {
  test.each(cases)('%s', (_name, parts, expected, message) => {
    const report = compareContracts(jobs(), jobs(parts));
    if (expected === 'none') {
      expect(report.changes).toEqual([]);
      return;
    }
    expect(report.compatible).toBe(expected === 'safe');
    const severities = new Set(report.changes.map((change) => change.severity));
    expect(severities.has(expected)).toBe(true);
    if (expected === 'safe') expect(report.breaking).toEqual([]);
    if (message) expect(report.changes.map((change) => change.message)).toContain(message);
  });

  test('lists breaking changes before safe ones', () => {
    const report = compareContracts(jobs(), jobs({ extraCommand: true, dropStatus: true }));
    expect(report.changes.map((change) => [change.severity, change.where])).toEqual([
      ['breaking', 'command jobs.status'],
      ['safe', 'command jobs.prune'],
    ]);
  });

  test('a contract survives JSON and is recognised by isContract', () => {
    const contract = jobs();
    const copy = JSON.parse(JSON.stringify(contract));
    expect(isContract(copy)).toBe(true);
    expect(compareContracts(copy, contract).changes).toEqual([]);
    expect(isContract({ ...copy, commands: { x: { kind: 'rpc' } } })).toBe(false);
    expect(isContract(null)).toBe(false);
  });
});

describe('acceptanceGaps', () => {
  test('refuses to vouch for schemas nested deeper than 64 levels', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 200; i++) deep = { type: 'array', items: deep };
    expect(acceptanceGaps(deep, deep, 'x')[0]).toMatch(/nested deeper than 64 levels/);
  });

  test('follows local $refs, including recursive ones, without looping', () => {
    const tree = {
      $defs: {
        node: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/node' } } } },
      },
      $ref: '#/$defs/node',
    };
    expect(acceptanceGaps(tree, tree, 'tree')).toEqual([]);
    const leaves = {
      ...tree,
      $defs: { node: { type: 'object', properties: { kids: { type: 'array', items: { type: 'string' } } } } },
    };
    expect(acceptanceGaps(leaves, tree, 'tree')).toEqual(['tree.kids[]: object is now string']);
  });

  test('a schema always accepts what it sends itself, whatever the schema (property)', () => {
    const leaf = fc.oneof(
      fc.constant({ type: 'string' }),
      fc.record({ type: fc.constant('integer'), minimum: fc.integer(), maximum: fc.integer() }),
      fc.record({ enum: fc.array(fc.oneof(fc.string(), fc.integer()), { minLength: 1 }) }),
      fc.constant(true),
    );
    const schema = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.record({ type: fc.constant('array'), items: tie('node') }),
        fc.record({
          type: fc.constant('object'),
          properties: fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 3 }),
        }),
        fc.record({ anyOf: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
      ),
    })).node;
    fc.assert(
      fc.property(schema, (s) => {
        expect(acceptanceGaps(s as never, s as never, 'v')).toEqual([]);
      }),
    );
  });

  test('never throws on arbitrary JSON posing as schemas (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const receiver = typeof a === 'object' && a !== null && !Array.isArray(a) ? a : {};
        const sender = typeof b === 'object' && b !== null && !Array.isArray(b) ? b : {};
        expect(Array.isArray(acceptanceGaps(receiver, sender, 'v'))).toBe(true);
      }),
    );
  });
});

describe('contracts from peers are compared within bounds', () => {
  const base = jobs();
  /** `[[[…]]]` nested `depth` levels, built without recursion. */
  const nestedArray = (depth: number) => {
    let value: unknown[] = [];
    for (let i = 1; i < depth; i++) value = [value];
    return value;
  };
  const withEventPayload = (payload: unknown) => ({
    ...base,
    events: { ...base.events, 'jobs.updated': { payload } },
  });

  test('a schema of only a deeply nested "description" is refused as incompatible, without throwing', () => {
    const peer = withEventPayload({ description: nestedArray(5000) });
    expect(isContract(peer)).toBe(true);
    const message = 'event jobs.updated payload: schema nested deeper than 64 levels';
    const change = { severity: 'breaking', where: 'event jobs.updated', message };
    expect(compareContracts(peer as never, base)).toEqual({
      changes: [change],
      breaking: [change],
      compatible: false,
    });
    expect(compareContracts(base, peer as never).breaking).toEqual([change]);
  });

  test('a schema just within the depth bound is compared as usual', () => {
    const peer = withEventPayload({ description: nestedArray(63) });
    expect(compareContracts(peer as never, base).compatible).toBe(true);
  });

  test('unions of unions that would cost exponential work stop at the step budget as "too complex"', () => {
    // Each level doubles the comparisons on both sides: 2^(2·20) without a budget.
    let schema: unknown = { type: 'string' };
    for (let i = 0; i < 20; i++) schema = { anyOf: [schema, { ...(schema as object), title: `t${i}` }] };
    const peer = withEventPayload(schema);
    const other = withEventPayload({ anyOf: [schema, { type: 'number' }] });
    const report = compareContracts(peer as never, other as never, { maxDepth: 64, maxSteps: 10_000 });
    expect(report.compatible).toBe(false);
    expect(report.breaking[0]?.message).toMatch(/too complex to compare$/);
  });

  test('compareContracts never throws, whatever a peer puts in its schemas', () => {
    const schemaLike = fc.letrec((tie) => ({
      schema: fc.oneof(
        { depthSize: 'small' },
        fc.boolean(),
        fc.record(
          {
            type: fc.constantFrom('string', 'number', 'integer', 'object', 'array', 'null'),
            anyOf: fc.array(tie('schema'), { maxLength: 3 }),
            items: tie('schema'),
            properties: fc.dictionary(fc.string({ maxLength: 3 }), tie('schema'), { maxKeys: 3 }),
            enum: fc.array(fc.jsonValue(), { maxLength: 3 }),
            $ref: fc.constantFrom('#', '#/properties/a', '#/nope'),
            description: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
      ),
    })).schema;
    fc.assert(
      fc.property(schemaLike, schemaLike, fc.integer({ min: 0, max: 3000 }), (a, b, depth) => {
        const deepA = depth > 64 ? { description: nestedArray(depth) } : a;
        const report = compareContracts(withEventPayload(deepA) as never, withEventPayload(b) as never);
        expect(typeof report.compatible).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
