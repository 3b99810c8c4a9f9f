import type { Decoded, WireFormat } from '../format.js';
import type { CallId, ErrorMessage, Message } from '../message.js';
import {
  type FetchmlBinding,
  jsonBytes,
  type PacketDraft,
  type ReplyBinding,
  successPacket,
} from './binding.js';
import { type ErrorCodeName, errorCodeFor } from './error-codes.js';
import { hexByte } from './opcodes.js';
import { encodePacket, type Packet } from './packets.js';
import { decodeRequest } from './request.js';

/** The name this wire reports, with the version of our spec of it. */
export const FETCHML_WIRE_NAME = 'fetchml.binary/1';

/** The largest string a 2-byte length prefix carries. */
const MAX_U16_STRING = 0xffff;

/** What {@link fetchmlWire} needs. */
export interface FetchmlWireOptions {
  /** Opcodes → commands, commands → reply packets. */
  readonly binding: FetchmlBinding;
  /** The clock stamped on packets (ms since epoch). Default `Date.now`; tests pin it. */
  readonly now?: () => number;
}

/**
 * The call id a `stream_logs` frame runs under. The wire carries no call ids, so a stream's id is
 * derived from its target: the `cancel_stream` frame for the same target can then name it without the
 * wire keeping any state. A second stream of the same target on one connection is refused (DUPLICATE_ID).
 */
export function streamCallId(targetId: string): string {
  return `stream_logs:${targetId}`;
}

/**
 * The fetch_ml binary wire as a Switchboard `WireFormat`, served for the protocol `binding` names.
 *
 * Requests decode to calls whose `credential` is the frame's 16-byte key hash: the server's
 * `authenticateCall` (e.g. `apiKeys(store)`) looks it up per call. The wire has no call ids; every
 * request gets a fresh number from a counter (streams: {@link streamCallId}). Replies carry no id
 * either and go out in the order calls finish: a client correlates by sending one call at a time.
 * Messages the wire has no packet for (welcome, ping, goodbye, topics) encode to null.
 *
 * @example
 * const server = await createServer({ protocol, handlers, port: 9100, path: '/ws', wire: fetchmlWire({ binding }), auth });
 */
export function fetchmlWire(options: FetchmlWireOptions): WireFormat {
  const { binding } = options;
  const now = options.now ?? Date.now;
  let lastId = 0;
  const stamp = (draft: PacketDraft): Uint8Array =>
    encodePacket({ ...draft, timestamp: draft.timestamp ?? now() } as Packet);
  const reply = (command: string | undefined): ReplyBinding =>
    (command === undefined ? undefined : binding.replies?.[command]) ?? {};

  return {
    name: FETCHML_WIRE_NAME,
    frame: 'binary',
    handshake: 'upgrade',
    encode(message: Message) {
      switch (message.type) {
        case 'result': {
          const toPacket = reply(message.command).result;
          return stamp(toPacket ? toPacket(message.output) : defaultData(message.command, message.output));
        }
        case 'item': {
          const toPacket = reply(message.command).item ?? reply(message.command).result;
          return stamp(toPacket ? toPacket(message.item) : defaultData(message.command, message.item));
        }
        case 'end': {
          const toPacket = reply(message.command).end;
          return stamp(toPacket ? toPacket() : successPacket(`end of ${message.command ?? 'stream'}`));
        }
        case 'error':
          return stamp(errorPacket(message, binding.errors));
        case 'event':
          return stamp({ type: 'status', status_type: message.event, payload: jsonBytes(message.payload) });
        default:
          // welcome, ping, pong, goodbye, challenge, topics, and client messages: nothing on this wire.
          return null;
      }
    },
    decode(frame): Decoded {
      if (typeof frame === 'string') {
        return {
          ok: false,
          error: { code: 'UNSUPPORTED_FRAME', message: 'text frame on the fetch_ml binary wire' },
        };
      }
      const decoded = decodeRequest(frame);
      if (!decoded.ok) return bad(decoded.error.message);
      const { operation, fields } = decoded.request;
      const { api_key_hash: credential, ...rest } = fields as { api_key_hash: Uint8Array } & Record<
        string,
        unknown
      >;
      if (operation === 'cancel_stream') {
        return { ok: true, message: { type: 'cancel', id: streamCallId(rest.target_id as string) } };
      }
      const bound = binding.operations[operation] as
        | { command: string; input(fields: Record<string, unknown>): unknown }
        | undefined;
      if (!bound) return bad(`${operation} (${hexByte(frame[0]!)}) is not served here`);
      let input: unknown;
      try {
        input = bound.input(rest);
      } catch (error) {
        // The binding refuses fields it cannot map (an unknown prune type, tracking that is not JSON).
        return bad(`${operation}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const id: CallId = operation === 'stream_logs' ? streamCallId(rest.target_id as string) : nextId();
      return { ok: true, message: { type: 'call', id, command: bound.command, input, credential } };
    },
  };

  function nextId(): number {
    lastId = lastId >= Number.MAX_SAFE_INTEGER ? 1 : lastId + 1;
    return lastId;
  }
}

function bad(message: string): Decoded {
  return { ok: false, error: { code: 'BAD_MESSAGE', message } };
}

function defaultData(command: string | undefined, value: unknown): PacketDraft {
  return { type: 'data', data_type: command ?? 'result', payload: jsonBytes(value) };
}

/**
 * The error packet of an error message. Details are JSON `{code, data?, traceId?}` so a client gets
 * Switchboard's code back; what does not fit a 2-byte length is cut (message) or dropped (data).
 */
export function errorPacket(
  message: ErrorMessage,
  errors?: Readonly<Record<string, ErrorCodeName>>,
): PacketDraft {
  const details: Record<string, unknown> = { code: message.code };
  if (message.data !== undefined) details.data = message.data;
  if (message.traceId !== undefined) details.traceId = message.traceId;
  let detailsText = JSON.stringify(details);
  if (utf8Length(detailsText) > MAX_U16_STRING) {
    delete details.data;
    detailsText = JSON.stringify(details);
  }
  return {
    type: 'error',
    error_code: errorCodeFor(message.code, errors),
    message: cutUtf8(message.message, MAX_U16_STRING),
    details: detailsText,
  };
}

const UTF8 = new TextEncoder();

function utf8Length(text: string): number {
  return UTF8.encode(text).length;
}

/** Cuts text to at most `max` UTF-8 bytes without splitting a character. */
function cutUtf8(text: string, max: number): string {
  const bytes = UTF8.encode(text);
  if (bytes.length <= max) return text;
  return new TextDecoder().decode(bytes.subarray(0, max)).replace(/\uFFFD$/, '');
}
