import { DEFAULT_MAX_DEPTH, parseBoundedJson } from '../bounded-json.js';
import type { Frame, WireError } from '../format.js';
import { WS_ERROR_CODES } from './error-codes.js';
import type {
  WsError,
  WsErrorCode,
  WsRequestMessage,
  WsResponseMessage,
  WsSendMethod,
  WsSentBy,
} from './message.js';

/** The wire's name, for logs and docs. */
export const BUSTER_WIRE_NAME = 'buster.ws/1';

/** What Buster sends when a payload cannot be serialised (`ws_utils.rs`). */
export const SERIALIZE_FAILURE_MESSAGE = 'Failed to serialize data';

/**
 * A request, or why a frame is not one. Never thrown. `tooDeep` marks a frame refused for its
 * nesting, with the `route` it names when the frame opens with it (as every Buster client writes
 * it), so that the refusal can be answered under that route.
 */
export type DecodedRequest =
  | { readonly ok: true; readonly request: WsRequestMessage }
  | { readonly ok: false; readonly error: WireError; readonly tooDeep?: { readonly route?: string } };

/** Options of the decoders. */
export interface DecodeOptions {
  /** Deepest nesting of objects and arrays accepted, the frame itself counting as 1; default DEFAULT_MAX_DEPTH (64). */
  readonly maxDepth?: number;
}

/** A response, or why a frame is not one. Never thrown. */
export type DecodedResponse =
  | { readonly ok: true; readonly response: WsResponseMessage }
  | { readonly ok: false; readonly error: WireError };

const bad = (message: string) => ({ ok: false as const, error: { code: 'BAD_MESSAGE' as const, message } });

/**
 * Reads one client frame. Never throws. A binary frame comes back as `UNSUPPORTED_FRAME` and
 * anything unparsable or shaped wrong as `BAD_MESSAGE`; the server drops both without a reply,
 * as Buster does (it logs them). Unknown fields are ignored and a missing `payload` is `null`,
 * as serde reads Buster's `WsRequestMessage`.
 *
 * @example decodeRequest('{"route":"/sql/run","payload":{"sql":"select 1"}}')
 */
export function decodeRequest(frame: Frame, options: DecodeOptions = {}): DecodedRequest {
  if (typeof frame !== 'string') {
    return {
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frames are ignored on the Buster wire' },
    };
  }
  const parsed = parseBoundedJson(frame, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (!parsed.ok) {
    if (parsed.reason === 'invalid') return bad('malformed JSON');
    const route = leadingRoute(frame);
    return { ...bad(parsed.message), tooDeep: route === undefined ? {} : { route } };
  }
  const value = parsed.value;
  if (!isObject(value)) return bad('a request must be a JSON object');
  if (typeof value.route !== 'string') return bad('field "route" must be a string');
  return {
    ok: true,
    request: { route: value.route, payload: value.payload === undefined ? null : value.payload },
  };
}

/** Writes a request as a client sends it. Throws only for payloads JSON cannot carry (BigInt, cycles). */
export function encodeRequest(request: WsRequestMessage): string {
  return `{"route":${JSON.stringify(request.route)},"payload":${json(request.payload)}}`;
}

/**
 * Writes a response with Buster's field order. Never throws: a payload JSON cannot carry becomes
 * `payload: null` with `INTERNAL_SERVER_ERROR` "Failed to serialize data", as in Buster.
 *
 * @example
 * encodeResponse({ route: '/sql/run', event: 'runSql', payload: { rows: [] }, sent_by: null, error: null, send_method: 'SenderOnly' })
 * // '{"route":"/sql/run","event":"runSql","payload":{"rows":[]},"sent_by":null,"error":null,"send_method":"SenderOnly"}'
 */
export function encodeResponse(response: WsResponseMessage): string {
  let payload: string;
  let error = response.error;
  try {
    payload = json(response.payload);
  } catch {
    payload = 'null';
    error = { code: 'INTERNAL_SERVER_ERROR', message: SERIALIZE_FAILURE_MESSAGE };
  }
  const sentBy =
    response.sent_by === null
      ? 'null'
      : `{"id":${JSON.stringify(String(response.sent_by.id))},"name":${JSON.stringify(String(response.sent_by.name))}}`;
  const err =
    error === null
      ? 'null'
      : `{"code":${JSON.stringify(String(error.code))},"message":${JSON.stringify(String(error.message))}}`;
  return `{"route":${JSON.stringify(String(response.route))},"event":${JSON.stringify(String(response.event))},"payload":${payload},"sent_by":${sentBy},"error":${err},"send_method":${JSON.stringify(String(response.send_method))}}`;
}

/**
 * Reads a response (a client, or the server's stream reader). Never throws. Strict on the fields
 * Buster's `WsResponseMessage` declares: `sent_by` and `error` may be missing (read as null).
 */
export function decodeResponse(frame: Frame | Uint8Array, options: DecodeOptions = {}): DecodedResponse {
  const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
  if (text === undefined) return bad('a response must be UTF-8 text');
  const parsed = parseBoundedJson(text, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (!parsed.ok) return bad(parsed.reason === 'invalid' ? 'malformed JSON' : parsed.message);
  const value = parsed.value;
  if (!isObject(value)) return bad('a response must be a JSON object');
  const { route, event, payload, sent_by, error, send_method } = value;
  if (typeof route !== 'string' || typeof event !== 'string') {
    return bad('fields "route" and "event" must be strings');
  }
  if (!isSendMethod(send_method)) return bad('field "send_method" must be SenderOnly, AllButSender or All');
  let sentBy: WsSentBy | null = null;
  if (sent_by !== undefined && sent_by !== null) {
    if (!isObject(sent_by) || typeof sent_by.id !== 'string' || typeof sent_by.name !== 'string') {
      return bad('field "sent_by" must be null or {id: string, name: string}');
    }
    sentBy = { id: sent_by.id, name: sent_by.name };
  }
  let wsError: WsError | null = null;
  if (error !== undefined && error !== null) {
    if (!isObject(error) || !isErrorCode(error.code) || typeof error.message !== 'string') {
      return bad('field "error" must be null or {code: a WsErrorCode, message: string}');
    }
    wsError = { code: error.code, message: error.message };
  }
  return {
    ok: true,
    response: {
      route,
      event,
      payload: payload === undefined ? null : payload,
      sent_by: sentBy,
      error: wsError,
      send_method,
    },
  };
}

/**
 * `{"route":"<string>"` at the very start of a frame: a flat string literal, matched in time linear
 * in its length (the two alternatives cannot both match a character), and parsed on its own.
 */
const LEADING_ROUTE = /^\s*\{\s*"route"\s*:\s*("(?:[^"\\]|\\.){0,1024}")/;

/** The route a frame opens with, read without parsing the rest (which may be too deep to parse). */
function leadingRoute(frame: string): string | undefined {
  const literal = LEADING_ROUTE.exec(frame)?.[1];
  if (literal === undefined) return undefined;
  const parsed = parseBoundedJson(literal, 0);
  return parsed.ok && typeof parsed.value === 'string' ? parsed.value : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    // Invalid UTF-8: reported by the caller as BAD_MESSAGE.
    return undefined;
  }
}

function json(value: unknown): string {
  // JSON.stringify returns undefined for undefined and functions; serde would write null.
  return JSON.stringify(value) ?? 'null';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSendMethod(value: unknown): value is WsSendMethod {
  return value === 'SenderOnly' || value === 'AllButSender' || value === 'All';
}

function isErrorCode(value: unknown): value is WsErrorCode {
  return typeof value === 'string' && Object.hasOwn(WS_ERROR_CODES, value);
}
