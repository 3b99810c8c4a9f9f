/**
 * The other end of the goval wire in tests: @replit/protocol's protobufjs bindings of `api.Command`,
 * an implementation not ours.
 */
import replit from '@replit/protocol';
import type { Frame } from '../../../src/wire/format.js';

export const { api } = replit;

/** A Command as @replit/protocol takes it (its field names: `op` where the seed has `ops`). */
export type TheirCommand = NonNullable<Parameters<typeof api.Command.create>[0]>;

/** What @replit/protocol reads from our frame: only the fields set, enums as numbers, bytes as base64. */
export function theirs(frame: Frame | null): Record<string, unknown> {
  if (!(frame instanceof Uint8Array)) throw new Error(`expected a binary frame, got ${String(frame)}`);
  return api.Command.toObject(api.Command.decode(frame), { longs: Number, bytes: String });
}

/** A frame as @replit/protocol encodes the command. */
export function theirFrame(command: TheirCommand): Uint8Array {
  return api.Command.encode(api.Command.create(command)).finish();
}

export function hex(frame: Frame | null): string {
  if (!(frame instanceof Uint8Array)) throw new Error(`expected a binary frame, got ${String(frame)}`);
  return Buffer.from(frame).toString('hex');
}

/**
 * Golden bytes: our frame is byte for byte what @replit/protocol encodes for `command`, and reads
 * back as `fields` (what toObject shows: set fields only, bytes as base64).
 */
export function expectGolden(
  frame: Frame | null,
  command: TheirCommand,
  fields: Record<string, unknown>,
  expect: (value: unknown) => { toBe(expected: unknown): void; toEqual(expected: unknown): void },
): void {
  expect(hex(frame)).toBe(hex(theirFrame(command)));
  expect(theirs(frame)).toEqual(fields);
}
