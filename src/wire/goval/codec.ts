import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
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

/** Nesting deeper than goval ever sends (VCRLog holds Commands) is refused rather than walked. */
const MAX_DEPTH = 32;

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

/** Decodes one `api.Command`; never throws: malformed protobuf comes back as a message. */
export function decodeCommand(bytes: Uint8Array): DecodedCommand {
  try {
    return {
      ok: true,
      command: fromBinary(CommandSchema, bytes, { readUnknownFields: false, recursionLimit: MAX_DEPTH }),
    };
  } catch (error) {
    // protobuf-es throws on truncated input, bad wire types and overflows; all mean "not a Command".
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
