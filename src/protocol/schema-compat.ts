import { type JsonSchema, OPAQUE } from './contract.js';

/** Contracts may come from peers: a schema nested deeper than this is not trusted to be compatible. */
const MAX_DEPTH = 64;

/**
 * Comparisons one contract check may make. Unions compared with unions multiply, and `$ref`s let a
 * small schema describe a huge tree, so a peer's schema could otherwise buy exponential work; past
 * the budget every comparison answers "too complex", which counts as breaking. Real contracts use a
 * few thousand.
 */
export const DEFAULT_COMPARISON_STEPS = 100_000;

/** The comparisons left to one contract check, shared by every {@link acceptanceGaps} call it makes. */
export interface ComparisonBudget {
  steps: number;
}

type Node = { readonly [key: string]: unknown };

/**
 * Why a receiver with schema `receiver` would reject a value that a sender with schema `sender` may
 * send; empty when every value `sender` allows is accepted. Written by hand because no maintained
 * library decides JSON Schema inclusion; this covers what validators emit for JSON payloads (types,
 * unions, enums and consts, bounds, lengths, patterns, objects, arrays, tuples, local `$ref`s) and
 * answers "incompatible" for anything it cannot prove, so it errs on the side of a breaking report.
 *
 * @example
 * acceptanceGaps({ type: 'number' }, { type: 'integer' }, 'input') // []
 * acceptanceGaps({ type: 'integer' }, { type: 'number' }, 'input') // ['input: number is now integer']
 */
export function acceptanceGaps(
  receiver: JsonSchema,
  sender: JsonSchema,
  path: string,
  budget: ComparisonBudget = { steps: DEFAULT_COMPARISON_STEPS },
): string[] {
  return gaps(receiver, sender, path, 0, { receiver, sender, comparing: new Set(), budget });
}

interface Roots {
  readonly receiver: JsonSchema;
  readonly sender: JsonSchema;
  /** `$ref` pairs being compared further up: meeting one again is a recursive type, compatible so far. */
  readonly comparing: Set<string>;
  readonly budget: ComparisonBudget;
}

function gaps(
  receiverIn: JsonSchema,
  senderIn: JsonSchema,
  path: string,
  depth: number,
  roots: Roots,
): string[] {
  if (depth > MAX_DEPTH) return [`${path}: nested deeper than ${MAX_DEPTH} levels`];
  if (--roots.budget.steps < 0) return [`${path}: too complex to compare`];
  const refPair = `${refOf(receiverIn)}|${refOf(senderIn)}`;
  if (refPair !== '|') {
    if (roots.comparing.has(refPair)) return [];
    roots.comparing.add(refPair);
    try {
      return compare(receiverIn, senderIn, path, depth, roots);
    } finally {
      roots.comparing.delete(refPair);
    }
  }
  return compare(receiverIn, senderIn, path, depth, roots);
}

function refOf(schema: JsonSchema): string {
  return typeof schema === 'object' && typeof schema.$ref === 'string' ? schema.$ref : '';
}

function compare(
  receiverIn: JsonSchema,
  senderIn: JsonSchema,
  path: string,
  depth: number,
  roots: Roots,
): string[] {
  const receiver = resolve(receiverIn, roots.receiver);
  const sender = resolve(senderIn, roots.sender);
  if (receiver === undefined || sender === undefined) return [`${path}: unresolvable $ref`];
  if (receiver === true || sender === false) return [];
  if (receiver === false) return [`${path}: no longer accepts any value`];
  if (isEmpty(receiver)) return [];
  if (sender !== true && OPAQUE in receiver !== OPAQUE in sender) {
    return [`${path}: a schema that cannot be compared replaced one that can, or the reverse`];
  }
  if (sender !== true && OPAQUE in receiver && OPAQUE in sender) {
    return JSON.stringify(receiver) === JSON.stringify(sender)
      ? []
      : [`${path}: a schema that cannot be compared (${String(receiver[OPAQUE] ?? sender[OPAQUE])}) changed`];
  }

  // A union sender: every branch must be accepted. A union receiver: some branch must accept each branch.
  const senderBranches = sender === true ? undefined : branches(sender);
  if (senderBranches)
    return senderBranches.flatMap((branch) => gaps(receiver, branch, path, depth + 1, roots));
  const receiverBranches = branches(receiver);
  if (receiverBranches) {
    const tried = receiverBranches.map((branch) => gaps(branch, sender, path, depth + 1, roots));
    return tried.some((found) => found.length === 0) ? [] : (tried[0] ?? [`${path}: no branch accepts it`]);
  }
  if (sender === true || isEmpty(sender)) return [`${path}: was any value, now ${describe(receiver)}`];

  const found: string[] = [];
  const senderValues = enumerated(sender);
  const receiverValues = enumerated(receiver);
  if (receiverValues) {
    if (!senderValues) return [`${path}: was ${describe(sender)}, now only ${list(receiverValues)}`];
    const dropped = senderValues.filter((value) => !receiverValues.some((kept) => sameValue(kept, value)));
    if (dropped.length) found.push(`${path}: no longer accepts ${list(dropped)}`);
    return found;
  }
  if (senderValues) {
    // Finite values: each is checked against the receiver's type and bounds.
    const rejected = senderValues.filter((value) => !acceptsValue(receiver, value));
    return rejected.length ? [`${path}: no longer accepts ${list(rejected)}`] : [];
  }

  const receiverTypes = typesOf(receiver);
  const senderTypes = typesOf(sender);
  if (receiverTypes) {
    if (!senderTypes) return [`${path}: was any type, now ${receiverTypes.join(' | ')}`];
    const lost = senderTypes.filter(
      (type) => !receiverTypes.includes(type) && !(type === 'integer' && receiverTypes.includes('number')),
    );
    if (lost.length) found.push(`${path}: ${senderTypes.join(' | ')} is now ${receiverTypes.join(' | ')}`);
  }
  const shared = senderTypes ?? receiverTypes ?? [];

  if (shared.some((type) => type === 'number' || type === 'integer')) {
    found.push(...bounds(receiver, sender, path, 'minimum', 'exclusiveMinimum', 'lower'));
    found.push(...bounds(receiver, sender, path, 'maximum', 'exclusiveMaximum', 'upper'));
    if (receiver.multipleOf !== undefined && receiver.multipleOf !== sender.multipleOf) {
      const divides =
        typeof sender.multipleOf === 'number' &&
        typeof receiver.multipleOf === 'number' &&
        Number.isInteger(sender.multipleOf / receiver.multipleOf);
      if (!divides) found.push(`${path}: must now be a multiple of ${receiver.multipleOf}`);
    }
  }
  if (shared.includes('string')) {
    found.push(...lengths(receiver, sender, path, 'minLength', 'maxLength', 'characters'));
    if (receiver.pattern !== undefined && receiver.pattern !== sender.pattern)
      found.push(`${path}: must now match /${String(receiver.pattern)}/`);
    if (receiver.format !== undefined && receiver.format !== sender.format)
      found.push(`${path}: must now be a ${String(receiver.format)}`);
  }
  if (shared.includes('object')) found.push(...objectGaps(receiver, sender, path, depth, roots));
  if (shared.includes('array')) found.push(...arrayGaps(receiver, sender, path, depth, roots));
  return found;
}

function objectGaps(receiver: Node, sender: Node, path: string, depth: number, roots: Roots): string[] {
  const found: string[] = [];
  const receiverProps = (receiver.properties ?? {}) as Record<string, JsonSchema>;
  const senderProps = (sender.properties ?? {}) as Record<string, JsonSchema>;
  const senderRequired = new Set(Array.isArray(sender.required) ? (sender.required as string[]) : []);
  for (const name of Array.isArray(receiver.required) ? (receiver.required as string[]) : []) {
    if (!senderRequired.has(name)) found.push(`${path}.${name}: a new required field`);
  }
  for (const [name, schema] of Object.entries(receiverProps)) {
    const sent = senderProps[name];
    // A field the sender never declared: senders that follow their schema do not send it.
    if (sent !== undefined) found.push(...gaps(schema, sent, `${path}.${name}`, depth + 1, roots));
  }
  if (receiver.additionalProperties === false) {
    for (const name of Object.keys(senderProps)) {
      if (!(name in receiverProps)) found.push(`${path}.${name}: no longer accepted`);
    }
  } else if (isSchema(receiver.additionalProperties)) {
    for (const [name, schema] of Object.entries(senderProps)) {
      if (!(name in receiverProps))
        found.push(...gaps(receiver.additionalProperties, schema, `${path}.${name}`, depth + 1, roots));
    }
    if (isSchema(sender.additionalProperties))
      found.push(
        ...gaps(receiver.additionalProperties, sender.additionalProperties, `${path}[*]`, depth + 1, roots),
      );
  }
  return found;
}

function arrayGaps(receiver: Node, sender: Node, path: string, depth: number, roots: Roots): string[] {
  const found = lengths(receiver, sender, path, 'minItems', 'maxItems', 'items');
  const receiverTuple = Array.isArray(receiver.prefixItems) ? (receiver.prefixItems as JsonSchema[]) : [];
  const senderTuple = Array.isArray(sender.prefixItems) ? (sender.prefixItems as JsonSchema[]) : [];
  const senderRest = isSchema(sender.items) ? sender.items : true;
  const receiverRest = isSchema(receiver.items) ? receiver.items : true;
  const width = Math.max(receiverTuple.length, senderTuple.length);
  for (let index = 0; index < width; index++) {
    found.push(
      ...gaps(
        receiverTuple[index] ?? receiverRest,
        senderTuple[index] ?? senderRest,
        `${path}[${index}]`,
        depth + 1,
        roots,
      ),
    );
  }
  found.push(...gaps(receiverRest, senderRest, `${path}[]`, depth + 1, roots));
  return found;
}

function bounds(
  receiver: Node,
  sender: Node,
  path: string,
  inclusive: 'minimum' | 'maximum',
  exclusive: 'exclusiveMinimum' | 'exclusiveMaximum',
  side: 'lower' | 'upper',
): string[] {
  const limit = (node: Node) => {
    const closed = typeof node[inclusive] === 'number' ? (node[inclusive] as number) : undefined;
    const open = typeof node[exclusive] === 'number' ? (node[exclusive] as number) : undefined;
    return { closed, open };
  };
  const r = limit(receiver);
  const s = limit(sender);
  if (r.closed === undefined && r.open === undefined) return [];
  const tighter = side === 'lower' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  // The sender's effective bound; a missing one is unbounded, so any receiver bound narrows it.
  const sBound = s.closed ?? s.open;
  if (sBound === undefined) return [`${path}: now has a ${side} bound`];
  const sOpen = s.closed === undefined;
  const rBound = (r.closed ?? r.open) as number;
  const rOpen = r.closed === undefined;
  if (tighter(rBound, sBound) || (rBound === sBound && rOpen && !sOpen))
    return [`${path}: ${side} bound narrowed from ${sBound} to ${rBound}`];
  return [];
}

function lengths(
  receiver: Node,
  sender: Node,
  path: string,
  min: string,
  max: string,
  unit: string,
): string[] {
  const found: string[] = [];
  const rMin = typeof receiver[min] === 'number' ? (receiver[min] as number) : 0;
  const sMin = typeof sender[min] === 'number' ? (sender[min] as number) : 0;
  if (rMin > sMin) found.push(`${path}: now needs at least ${rMin} ${unit}`);
  const rMax = typeof receiver[max] === 'number' ? (receiver[max] as number) : Number.POSITIVE_INFINITY;
  const sMax = typeof sender[max] === 'number' ? (sender[max] as number) : Number.POSITIVE_INFINITY;
  if (rMax < sMax) found.push(`${path}: now takes at most ${rMax} ${unit}`);
  return found;
}

/** Whether a single JSON value passes the receiver's type, enum and bounds (for enum senders). */
function acceptsValue(receiver: Node, value: unknown): boolean {
  const types = typesOf(receiver);
  if (
    types &&
    !types.includes(typeOfValue(value)) &&
    !(typeOfValue(value) === 'integer' && types.includes('number'))
  )
    return false;
  if (typeof value === 'number') {
    if (typeof receiver.minimum === 'number' && value < receiver.minimum) return false;
    if (typeof receiver.maximum === 'number' && value > receiver.maximum) return false;
    if (typeof receiver.exclusiveMinimum === 'number' && value <= receiver.exclusiveMinimum) return false;
    if (typeof receiver.exclusiveMaximum === 'number' && value >= receiver.exclusiveMaximum) return false;
  }
  if (typeof value === 'string') {
    if (typeof receiver.minLength === 'number' && value.length < receiver.minLength) return false;
    if (typeof receiver.maxLength === 'number' && value.length > receiver.maxLength) return false;
    if (typeof receiver.pattern === 'string') {
      try {
        if (!new RegExp(receiver.pattern, 'u').test(value)) return false;
      } catch {
        return false;
      }
    }
  }
  // Objects and arrays as enum members are rare; only identical schemas prove them accepted.
  return typeof value !== 'object' || value === null || types === undefined;
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema | undefined {
  let current = schema;
  for (let hops = 0; hops < 16; hops++) {
    if (typeof current !== 'object' || typeof current.$ref !== 'string') return current;
    const ref = current.$ref;
    if (ref === '#') {
      current = root;
      continue;
    }
    if (!ref.startsWith('#/') || typeof root !== 'object') return undefined;
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      target = typeof target === 'object' && target !== null ? (target as Node)[key] : undefined;
    }
    if (!isSchema(target)) return undefined;
    current = target;
  }
  return undefined;
}

function branches(schema: Node): JsonSchema[] | undefined {
  const union = schema.anyOf ?? schema.oneOf;
  if (!Array.isArray(union)) return undefined;
  // Siblings of anyOf (zod puts none there) would constrain every branch: merge them in.
  const { anyOf: _a, oneOf: _o, ...rest } = schema;
  return union
    .filter(isSchema)
    .map((branch) =>
      typeof branch === 'object' && Object.keys(rest).length ? { ...rest, ...branch } : branch,
    );
}

function enumerated(schema: Node): unknown[] | undefined {
  if ('const' in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
}

function typesOf(schema: Node): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type))
    return schema.type.filter((type): type is string => typeof type === 'string');
  return undefined;
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

function isEmpty(schema: Node): boolean {
  for (const key of Object.keys(schema)) {
    if (
      key !== 'description' &&
      key !== 'title' &&
      key !== 'default' &&
      key !== 'examples' &&
      key !== '$defs'
    )
      return false;
  }
  return true;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function list(values: readonly unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

function describe(schema: Node): string {
  const types = typesOf(schema);
  const values = enumerated(schema);
  if (values) return `one of ${list(values)}`;
  return types ? types.join(' | ') : 'constrained';
}
