import { DEFAULT_MAX_DEPTH, valueDepthExceeds } from '../wire/bounded-json.js';
import type { Contract, JsonSchema } from './contract.js';
import { acceptanceGaps, type ComparisonBudget, DEFAULT_COMPARISON_STEPS } from './schema-compat.js';

/**
 * How much work comparing two contracts may take; a contract from a peer is bounded before anything
 * walks it. Over a bound, the report is incompatible (never an exception).
 */
export interface ContractBounds {
  /** Deepest nesting of any one schema in either contract. Default 64. */
  readonly maxDepth: number;
  /** Schema comparisons in all (see `DEFAULT_COMPARISON_STEPS`). Default 100,000. */
  readonly maxSteps: number;
}

export const DEFAULT_CONTRACT_BOUNDS: ContractBounds = {
  maxDepth: DEFAULT_MAX_DEPTH,
  maxSteps: DEFAULT_COMPARISON_STEPS,
};

/** One difference between two contracts. */
export interface ContractChange {
  /** `breaking`: a client built on the old contract fails against a server on the new one. */
  readonly severity: 'breaking' | 'safe';
  /** Where: `command jobs.queue input.priority`, `error QUOTA_EXCEEDED`... */
  readonly where: string;
  readonly message: string;
}

export interface CompatibilityReport {
  /** Every change, breaking ones first, each group in definition order. */
  readonly changes: readonly ContractChange[];
  readonly breaking: readonly ContractChange[];
  readonly compatible: boolean;
}

/**
 * Compares the deployed contract with a new one, from the side of everything already deployed: old
 * clients keep talking to the new server (inputs may widen, outputs may narrow, nothing may go away)
 * and values already published stay readable. Additions are safe for old clients; the report lists
 * them as safe, since new clients need the new server for them.
 *
 * @example
 * const report = compareContracts(JSON.parse(readFileSync('deployed.json', 'utf8')), contractOf(api));
 * if (!report.compatible) throw new Error(report.breaking[0].message);
 */
export function compareContracts(
  deployed: Contract,
  next: Contract,
  bounds: ContractBounds = DEFAULT_CONTRACT_BOUNDS,
): CompatibilityReport {
  const tooDeep = deepSchema(deployed, bounds.maxDepth) ?? deepSchema(next, bounds.maxDepth);
  if (tooDeep) return { changes: [tooDeep], breaking: [tooDeep], compatible: false };
  const budget: ComparisonBudget = { steps: bounds.maxSteps };
  const changes: ContractChange[] = [];
  const breaking = (where: string, message: string) => changes.push({ severity: 'breaking', where, message });
  const safe = (where: string, message: string) => changes.push({ severity: 'safe', where, message });

  if (deployed.name !== next.name)
    breaking('protocol', `protocol renamed from "${deployed.name}" to "${next.name}"`);

  for (const [name, old] of Object.entries(deployed.commands)) {
    const where = `${old.kind} ${name}`;
    const now = next.commands[name];
    if (!now) {
      breaking(where, `${where} was removed`);
      continue;
    }
    if (now.kind !== old.kind) {
      breaking(where, `${name} changed from a ${old.kind} to a ${now.kind}`);
      continue;
    }
    // Old clients send old inputs: the new server must accept all of them.
    schemaChange(where, 'input', now.input, old.input, 'narrowed', 'widened');
    // The new server's outputs reach old clients: they must fit what those clients accept.
    const part = old.kind === 'command' ? 'output' : 'item';
    schemaChange(where, part, old.output, now.output, 'changed', 'narrowed');
    for (const permission of now.permissions) {
      if (!old.permissions.includes(permission))
        breaking(where, `${name} now requires permission "${permission}"`);
    }
    for (const permission of old.permissions) {
      if (!now.permissions.includes(permission))
        safe(where, `${name} no longer requires permission "${permission}"`);
    }
    wireIdChange(where, old.wireId, now.wireId);
    if (old.idempotent && !now.idempotent)
      breaking(where, `${name} is no longer idempotent: old clients' retries may run it twice`);
    if (!old.idempotent && now.idempotent) safe(where, `${name} became idempotent`);
  }
  for (const [name, now] of Object.entries(next.commands)) {
    if (!deployed.commands[name]) safe(`${now.kind} ${name}`, `${now.kind} ${name} was added`);
  }

  for (const [name, old] of Object.entries(deployed.events)) {
    const where = `event ${name}`;
    const now = next.events[name];
    if (!now) {
      breaking(where, `${where} was removed`);
      continue;
    }
    schemaChange(where, 'payload', old.payload, now.payload, 'changed', 'narrowed');
    wireIdChange(where, old.wireId, now.wireId);
  }
  for (const name of Object.keys(next.events)) {
    if (!deployed.events[name]) safe(`event ${name}`, `event ${name} was added`);
  }

  for (const [name, old] of Object.entries(deployed.topics)) {
    const where = `topic ${name}`;
    const now = next.topics[name];
    if (!now) {
      breaking(where, `${where} was removed`);
      continue;
    }
    if (now.pattern !== old.pattern)
      breaking(where, `${name}'s pattern changed from "${old.pattern}" to "${now.pattern}"`);
    // Publications recovered from history were written by the old server: both directions matter,
    // but old subscribers reading new publications is the one that fails at once.
    schemaChange(where, 'payload', old.payload, now.payload, 'changed', 'narrowed');
  }
  for (const name of Object.keys(next.topics)) {
    if (!deployed.topics[name]) safe(`topic ${name}`, `topic ${name} was added`);
  }

  for (const code of deployed.errors) {
    if (!next.errors.includes(code)) breaking(`error ${code}`, `error ${code} was removed`);
  }
  for (const code of next.errors) {
    if (!deployed.errors.includes(code)) safe(`error ${code}`, `error ${code} was added`);
  }

  const ordered = [
    ...changes.filter((c) => c.severity === 'breaking'),
    ...changes.filter((c) => c.severity === 'safe'),
  ];
  const breakingChanges = ordered.filter((change) => change.severity === 'breaking');
  return { changes: ordered, breaking: breakingChanges, compatible: breakingChanges.length === 0 };

  function schemaChange(
    where: string,
    part: string,
    receiver: JsonSchema,
    sender: JsonSchema,
    breakingWord: string,
    safeWord: string,
  ) {
    const gaps = acceptanceGaps(receiver, sender, part, budget);
    for (const gap of gaps) breaking(where, `${where} ${breakingWord}: ${gap}`);
    if (gaps.length > 0 || JSON.stringify(receiver) === JSON.stringify(sender)) return;
    const reverse = acceptanceGaps(sender, receiver, part, budget).length > 0;
    safe(where, `${where} ${part} ${reverse ? safeWord : 'changed compatibly'}`);
  }

  function wireIdChange(where: string, old: number | undefined, now: number | undefined) {
    if (old === now) return;
    if (old === undefined) safe(where, `${where} got wire id ${now}`);
    else breaking(where, `${where} wire id changed from ${old} to ${now ?? 'none'}`);
  }
}

/**
 * The first schema of a contract nested deeper than `maxDepth`, as a breaking change: every later
 * step (comparison, `JSON.stringify`) recurses into schemas, so depth is checked first, without recursion.
 */
function deepSchema(contract: Contract, maxDepth: number): ContractChange | undefined {
  const schemas: [string, string, JsonSchema][] = [];
  for (const [name, member] of Object.entries(contract.commands)) {
    schemas.push([`${member.kind} ${name}`, 'input', member.input]);
    schemas.push([`${member.kind} ${name}`, member.kind === 'command' ? 'output' : 'item', member.output]);
  }
  for (const [name, event] of Object.entries(contract.events))
    schemas.push([`event ${name}`, 'payload', event.payload]);
  for (const [name, topic] of Object.entries(contract.topics))
    schemas.push([`topic ${name}`, 'payload', topic.payload]);
  for (const [where, part, schema] of schemas) {
    if (valueDepthExceeds(schema, maxDepth))
      return {
        severity: 'breaking',
        where,
        message: `${where} ${part}: schema nested deeper than ${maxDepth} levels`,
      };
  }
  return undefined;
}

/**
 * Whether a value is shaped like a {@link Contract}; contracts arrive from peers and files, so they
 * are checked before use.
 */
export function isContract(value: unknown): value is Contract {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  const isRecordOf = (record: unknown, check: (entry: Record<string, unknown>) => boolean) =>
    typeof record === 'object' &&
    record !== null &&
    !Array.isArray(record) &&
    Object.values(record).every(
      (entry) => typeof entry === 'object' && entry !== null && check(entry as Record<string, unknown>),
    );
  const isSchema = (schema: unknown) =>
    typeof schema === 'boolean' || (typeof schema === 'object' && schema !== null && !Array.isArray(schema));
  const isWireId = (id: unknown) => id === undefined || Number.isInteger(id);
  return (
    typeof c.name === 'string' &&
    typeof c.version === 'string' &&
    isRecordOf(
      c.commands,
      (m) =>
        (m.kind === 'command' || m.kind === 'stream') &&
        isSchema(m.input) &&
        isSchema(m.output) &&
        Array.isArray(m.permissions) &&
        m.permissions.every((p) => typeof p === 'string') &&
        isWireId(m.wireId),
    ) &&
    isRecordOf(c.events, (e) => isSchema(e.payload) && isWireId(e.wireId)) &&
    isRecordOf(c.topics, (t) => typeof t.pattern === 'string' && isSchema(t.payload)) &&
    Array.isArray(c.errors) &&
    c.errors.every((code) => typeof code === 'string')
  );
}
