import type { Protocol } from './define.js';
import { normalisePermissions } from './permissions.js';
import type { StandardSchemaV1 } from './schema.js';

/** A JSON Schema (draft 2020-12) as a plain value; `{}` accepts anything. */
export type JsonSchema = { readonly [key: string]: unknown } | boolean;

/**
 * What a protocol promises on the wire, as plain JSON: every command, stream, event, topic and error,
 * with its payload schemas as JSON Schema. Two contracts can be compared without the code that made
 * them (a file from the deployed version in CI, or a client's contract sent in its hello).
 */
export interface Contract {
  readonly name: string;
  readonly version: string;
  readonly commands: Readonly<Record<string, ContractMember>>;
  readonly events: Readonly<Record<string, { readonly payload: JsonSchema; readonly wireId?: number }>>;
  readonly topics: Readonly<Record<string, { readonly pattern: string; readonly payload: JsonSchema }>>;
  readonly errors: readonly string[];
}

export interface ContractMember {
  readonly kind: 'command' | 'stream';
  readonly input: JsonSchema;
  /** The output of a command, or each item of a stream. */
  readonly output: JsonSchema;
  readonly permissions: readonly string[];
  readonly wireId?: number;
  /** Present when retries are answered from the first run (see docs/idempotency.md). */
  readonly idempotent?: true;
}

/**
 * A schema this contract cannot see into (a validator without Standard JSON Schema support, or a type
 * JSON Schema cannot express, such as a Date): compared by identity only.
 */
export const OPAQUE = 'x-switchboard-opaque';

/**
 * The contract of a protocol definition. Schemas come from the Standard JSON Schema interface that
 * zod 4, valibot and arktype implement (`~standard.jsonSchema`), in their input form: what a receiver
 * accepts is what matters for compatibility.
 *
 * @example
 * writeFileSync('contract.json', JSON.stringify(contractOf(api)));
 */
export function contractOf(protocol: Protocol): Contract {
  const commands: Record<string, ContractMember> = {};
  for (const [name, def] of protocol.commands) {
    commands[name] = {
      kind: def.kind,
      input: jsonSchemaOf(def.input),
      output: jsonSchemaOf(def.kind === 'command' ? def.output : def.item),
      permissions: [...normalisePermissions(def.permission)].sort(),
      ...(def.wireId === undefined ? {} : { wireId: def.wireId }),
      ...(def.kind === 'command' && def.idempotent ? { idempotent: true as const } : {}),
    };
  }
  const events: Record<string, { payload: JsonSchema; wireId?: number }> = {};
  for (const [name, def] of protocol.events) {
    events[name] = {
      payload: jsonSchemaOf(def.payload),
      ...(def.wireId === undefined ? {} : { wireId: def.wireId }),
    };
  }
  const topics: Record<string, { pattern: string; payload: JsonSchema }> = {};
  for (const [name, def] of protocol.topics)
    topics[name] = { pattern: def.pattern, payload: jsonSchemaOf(def.payload) };
  return {
    name: protocol.name,
    version: protocol.version,
    commands,
    events,
    topics,
    errors: [...protocol.errors.keys()].sort(),
  };
}

function jsonSchemaOf(schema: StandardSchemaV1): JsonSchema {
  const standard = schema['~standard'] as StandardSchemaV1['~standard'] & {
    jsonSchema?: { input(options: { target: string }): Record<string, unknown> };
  };
  try {
    if (standard.jsonSchema) {
      const { $schema: _dialect, ...rest } = standard.jsonSchema.input({ target: 'draft-2020-12' });
      return rest;
    }
  } catch {
    // A type JSON Schema cannot express (a Date, a transform): fall through to opaque.
  }
  return { [OPAQUE]: standard.vendor };
}
