import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  command,
  defineProtocol,
  error,
  event,
  type ProtocolDef,
  stream,
  topic,
} from '../../src/protocol/define.js';
import { BUILTIN_ERRORS } from '../../src/protocol/error-codes.js';
import { testProtocol } from '../support/fixtures.js';

const io = { input: z.object({}), output: z.null() };
const MEMBER_NAME = '/^[A-Za-z][A-Za-z0-9_]*$/';
const ERROR_CODE = '/^[A-Z][A-Z0-9_]*$/';

/** What `run` threw; fails the test when it did not throw. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (thrown) {
    return thrown;
  }
  throw new Error('expected a throw');
}

/** Asserts that defining this protocol throws a TypeError with exactly this message. */
function expectRefused(definition: Partial<ProtocolDef>, message: string): void {
  const thrown = thrownBy(() =>
    defineProtocol({ name: 'p', version: '1.0.0', resources: {}, ...definition }),
  );
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as TypeError).message).toBe(message);
}

describe('member helpers', () => {
  test('command, stream, event and topic tag their definition with its kind', () => {
    const input = z.object({ id: z.string() });
    expect(command({ ...io, permission: 'a:b', timeoutMs: 5, wireId: 3 })).toEqual({
      kind: 'command',
      ...io,
      permission: 'a:b',
      timeoutMs: 5,
      wireId: 3,
    });
    const item = z.number();
    expect(stream({ input, item })).toEqual({ kind: 'stream', input, item });
    expect(event(input, { description: 'd', wireId: 1 })).toEqual({
      kind: 'event',
      payload: input,
      description: 'd',
      wireId: 1,
    });
    expect(topic({ pattern: 'a.{b}', payload: input })).toEqual({
      kind: 'topic',
      pattern: 'a.{b}',
      payload: input,
    });
  });

  test('error keeps data only when given', () => {
    const data = z.object({ id: z.string() });
    expect(error('Not found')).toEqual({ message: 'Not found' });
    expect(Object.keys(error('Not found'))).toEqual(['message']);
    expect(error('Not found', data)).toEqual({ message: 'Not found', data });
  });
});

describe('defineProtocol', () => {
  test('keeps the name, version and definition', () => {
    expect(testProtocol.name).toBe('test');
    expect(testProtocol.version).toBe('1.2.0');
    expect(Object.keys(testProtocol.definition.resources)).toEqual([
      'math',
      'slow',
      'logs',
      'rooms',
      'keys',
      'ticks',
    ]);
  });

  test('indexes commands and streams by dotted name, in definition order, with their kinds', () => {
    expect([...testProtocol.commands].map(([name, member]) => [name, member.name, member.kind])).toEqual([
      ['math.add', 'math.add', 'command'],
      ['math.divide', 'math.divide', 'command'],
      ['slow.wait', 'slow.wait', 'command'],
      ['slow.crash', 'slow.crash', 'command'],
      ['slow.lie', 'slow.lie', 'command'],
      ['logs.tail', 'logs.tail', 'stream'],
      ['logs.forever', 'logs.forever', 'stream'],
    ]);
  });

  test('keeps each member definition alongside its name', () => {
    const { divide } = testProtocol.definition.resources.math.commands;
    expect(testProtocol.commands.get('math.divide')).toEqual({ ...divide, name: 'math.divide' });
    expect(testProtocol.commands.get('math.divide')?.permission).toBe('math:divide');
    expect(testProtocol.commands.get('slow.wait')?.timeoutMs).toBe(200);
    expect(testProtocol.commands.get('math.add')?.permission).toBeUndefined();
  });

  test('indexes events by dotted name', () => {
    expect([...testProtocol.events].map(([name, def]) => [name, def.name, def.kind])).toEqual([
      ['logs.appended', 'logs.appended', 'event'],
    ]);
  });

  test('indexes topics by dotted name with the parameters of their pattern', () => {
    expect(
      [...testProtocol.topics].map(([name, def]) => [name, def.name, def.kind, def.pattern, def.params]),
    ).toEqual([
      ['rooms.messages', 'rooms.messages', 'topic', 'rooms.{roomId}', ['roomId']],
      ['keys.sync', 'keys.sync', 'topic', 'keys.{team}', ['team']],
      ['ticks.prices', 'ticks.prices', 'topic', 'ticks.{symbol}.price', ['symbol']],
    ]);
    expect(testProtocol.topics.get('rooms.messages')?.presence).toBe(true);
  });

  test('indexes the protocol errors by code', () => {
    expect([...testProtocol.errors.keys()]).toEqual(['DIVIDE_BY_ZERO']);
    expect(testProtocol.errors.get('DIVIDE_BY_ZERO')?.message).toBe('Cannot divide by zero');
  });

  test('accepts a protocol with no resources and no errors', () => {
    const empty = defineProtocol({ name: 'empty', version: '0.0.1', resources: {} });
    expect([empty.commands.size, empty.events.size, empty.topics.size, empty.errors.size]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  test('lets a command and an event share a wire id: they are numbered apart', () => {
    const protocol = defineProtocol({
      name: 'p',
      version: '1.0.0',
      resources: {
        a: { commands: { x: command({ ...io, wireId: 1 }) }, events: { y: event(z.null(), { wireId: 1 }) } },
      },
    });
    expect([protocol.commands.get('a.x')?.wireId, protocol.events.get('a.y')?.wireId]).toEqual([1, 1]);
  });

  test('refuses an empty protocol name', () => {
    expectRefused({ name: '' }, 'protocol name must not be empty');
  });

  test.each(['1.0', '1', 'v1.0.0', '1.0.0-beta', '01.0.0', '1.0.0.0', ''])(
    'refuses version %j',
    (version) => {
      expectRefused({ version }, `protocol version "${version}" is not major.minor.patch`);
    },
  );

  test.each(['a.b', '1st', '_x', 'a-b', ''])('refuses resource name %j', (name) => {
    expectRefused({ resources: { [name]: {} } }, `resource name "${name}" must match ${MEMBER_NAME}`);
  });

  test.each(['x-y', 'a.b', '9', ''])('refuses command name %j', (name) => {
    expectRefused(
      { resources: { a: { commands: { [name]: command(io) } } } },
      `command name "${name}" must match ${MEMBER_NAME}`,
    );
  });

  test('refuses a bad stream name with the command message', () => {
    expectRefused(
      { resources: { a: { commands: { 'tail-f': stream({ input: z.null(), item: z.null() }) } } } },
      `command name "tail-f" must match ${MEMBER_NAME}`,
    );
  });

  test('refuses a bad event name', () => {
    expectRefused(
      { resources: { a: { events: { '1st': event(z.null()) } } } },
      `event name "1st" must match ${MEMBER_NAME}`,
    );
  });

  test('refuses a bad topic name', () => {
    expectRefused(
      { resources: { a: { topics: { 'b.c': topic({ pattern: 'a.b', payload: z.null() }) } } } },
      `topic name "b.c" must match ${MEMBER_NAME}`,
    );
  });

  test.each([
    ['a..b', 'a.t: bad segment "" in pattern "a..b"'],
    ['a.{1x}', 'a.t: bad segment "{1x}" in pattern "a.{1x}"'],
    ['a.b c', 'a.t: bad segment "b c" in pattern "a.b c"'],
    ['a.{x}.{x}', 'a.t: parameter "x" appears twice in "a.{x}.{x}"'],
  ])('refuses topic pattern %j', (pattern, message) => {
    expectRefused({ resources: { a: { topics: { t: topic({ pattern, payload: z.null() }) } } } }, message);
  });

  test.each(['notFound', 'not_found', 'Not_FOUND', '_X', '9X', 'X-Y'])('refuses error code %j', (code) => {
    expectRefused({ errors: { [code]: error('x') } }, `error code "${code}" must match ${ERROR_CODE}`);
  });

  test.each(Object.keys(BUILTIN_ERRORS))('refuses error code %s, which shadows a built-in one', (code) => {
    expectRefused(
      { errors: { [code]: error('x') } },
      `error code "${code}" is built in and cannot be redefined`,
    );
  });

  test('refuses a wire id used twice in one resource', () => {
    expectRefused(
      {
        resources: {
          a: {
            commands: {
              x: command({ ...io, wireId: 1 }),
              y: stream({ input: z.null(), item: z.null(), wireId: 1 }),
            },
          },
        },
      },
      'a.y: wireId 1 is already used by a.x',
    );
  });

  test('refuses a command wire id used twice across resources', () => {
    expectRefused(
      {
        resources: {
          a: { commands: { x: command({ ...io, wireId: 7 }) } },
          b: { commands: { y: command({ ...io, wireId: 7 }) } },
        },
      },
      'b.y: wireId 7 is already used by a.x',
    );
  });

  test('refuses an event wire id used twice', () => {
    expectRefused(
      {
        resources: {
          a: { events: { x: event(z.null(), { wireId: 2 }) } },
          b: { events: { y: event(z.null(), { wireId: 2 }) } },
        },
      },
      'b.y: wireId 2 is already used by a.x',
    );
  });

  test.each([-1, 1.5, Number.NaN])('refuses wire id %s', (wireId) => {
    expectRefused(
      { resources: { a: { commands: { x: command({ ...io, wireId }) } } } },
      'a.x: wireId must be a non-negative integer',
    );
  });
});
