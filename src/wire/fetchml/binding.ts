/**
 * What ties the fetch_ml wire to one protocol: which command each opcode calls and with what input,
 * and how each command's replies become packets. The opcodes and layouts are the wire's; the binding
 * is the protocol's (examples/job-queue/fetchml/binding.ts binds the job-queue demo).
 */
import type { ErrorCodeName } from './error-codes.js';
import type { OperationName, RequestFields } from './opcodes.js';
import { LOG_LEVELS, type LogLevel, type Packet } from './packets.js';

/** A packet the wire stamps with the time it is sent, unless it names its own timestamp. */
export type PacketDraft = Packet extends infer P
  ? P extends { timestamp: number }
    ? Omit<P, 'timestamp'> & { readonly timestamp?: number }
    : never
  : never;

/** How one opcode becomes a call. */
export interface OperationBinding<Op extends OperationName> {
  /** The protocol's dotted command, e.g. `jobs.queue`. */
  readonly command: string;
  /**
   * The command's input from the request's fields (the key hash is not among them: it becomes the
   * call's credential). Throw to refuse the frame: the client gets an INVALID_REQUEST error packet
   * with the thrown message.
   */
  readonly input: (fields: Omit<RequestFields<Op>, 'api_key_hash'>) => unknown;
}

/** How one command's replies become packets. Each part has a default. */
export interface ReplyBinding {
  /** A command's output. Default: a data packet, `data_type` = the command, payload = the output as JSON. */
  readonly result?: (output: unknown) => PacketDraft;
  /** A stream's item. Default: as `result`. */
  readonly item?: (item: unknown) => PacketDraft;
  /** A stream's normal end. Default: a success packet `end of <command>`. */
  readonly end?: () => PacketDraft;
}

/** Everything the wire needs to serve a protocol. */
export interface FetchmlBinding {
  /** Opcodes the server serves; an opcode left out is refused with INVALID_REQUEST. `cancel_stream` is the wire's own. */
  readonly operations: { readonly [Op in Exclude<OperationName, 'cancel_stream'>]?: OperationBinding<Op> };
  /** Reply packets per dotted command. */
  readonly replies?: Readonly<Record<string, ReplyBinding>>;
  /** The protocol's error codes on this wire, e.g. `{ JOB_NOT_FOUND: 'JOB_NOT_FOUND' }`. */
  readonly errors?: Readonly<Record<string, ErrorCodeName>>;
}

/** A data packet carrying `value` as JSON. @example data('status', { jobs }) */
export function dataPacket(dataType: string, value: unknown): PacketDraft {
  return { type: 'data', data_type: dataType, payload: jsonBytes(value) };
}

/** A success packet. @example successPacket('job job-1 cancelled') */
export function successPacket(message: string): PacketDraft {
  return { type: 'success', message };
}

/** A log packet; `at` (ms since epoch) becomes its timestamp, so the line keeps the time it was written. */
export function logPacket(level: LogLevel, message: string, at?: number): PacketDraft {
  return {
    type: 'log',
    level: LOG_LEVELS[level],
    message,
    ...(at === undefined ? {} : { timestamp: at }),
  };
}

const UTF8 = new TextEncoder();

/** JSON as UTF-8 bytes; `undefined` is sent as `null`. */
export function jsonBytes(value: unknown): Uint8Array {
  return UTF8.encode(value === undefined ? 'null' : JSON.stringify(value));
}
