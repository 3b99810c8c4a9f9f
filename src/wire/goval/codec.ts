import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { DEFAULT_MAX_DEPTH } from '../bounded-json.js';
import { type Command, CommandSchema } from './gen/api_pb.js';

/** One of `Command`'s bodies, as the generated code has it: `{ case: 'ok', value: {...} }`. */
export type Body = Exclude<Command['body'], { case: undefined }>;

/** The name of a body kind (`openChan`, `chatMessage`, `ot`...). */
export type BodyCase = Body['case'];

/** The value a body kind carries. */
export type BodyValue<C extends BodyCase> = Extract<Body, { case: C }>['value'];

/** A body as the mappings build it: plain field values, messages made by `create`. */
export type BodyInit = NonNullable<MessageInitShape<typeof CommandSchema>['body']>;

/** What frames a `Command` on the wire: the channel, the session, the body and the correlation ref. */
export interface CommandInit {
  readonly channel: number;
  readonly session?: number;
  readonly body: BodyInit;
  readonly ref?: string;
}

/** A `Command` decoded from a frame, or why it could not be. */
export type DecodedCommand =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly message: string };

/** Encodes one `api.Command` (protobuf, as goval's `Command.encode(cmd).finish()`). */
export function encodeCommand(init: CommandInit): Uint8Array {
  const command = create(CommandSchema, {
    channel: init.channel,
    session: init.session ?? 0,
    body: init.body,
    ref: init.ref ?? '',
  });
  return toBinary(CommandSchema, command);
}

/**
 * Decodes one `api.Command`; never throws: malformed protobuf comes back as a message. Messages
 * nested deeper than `maxDepth` (the Command is level 1; each VCRLog entry holding a Command adds 3)
 * are refused, and so are unknown fields opening groups nested past what is left of it: protobuf-es
 * counts both in `recursionLimit` before it recurses. api.proto has no `google.protobuf.Value`/
 * `Struct`, so no field nests without a message level.
 */
export function decodeCommand(bytes: Uint8Array, maxDepth: number = DEFAULT_MAX_DEPTH): DecodedCommand {
  try {
    return {
      ok: true,
      command: fromBinary(CommandSchema, bytes, { readUnknownFields: false, recursionLimit: maxDepth }),
    };
  } catch (error) {
    // protobuf-es throws on truncated input, bad wire types and overflows; all mean "not a Command".
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
