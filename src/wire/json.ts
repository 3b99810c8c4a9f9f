import { DEFAULT_MAX_DEPTH, parseBoundedJson } from './bounded-json.js';
import type { Decoded, Frame, WireFormat } from './format.js';
import type { CallId, Message, SubscribeFrom } from './message.js';

/** The version of the native JSON wire; sent in `hello.wire`. See docs/wire-json.md. */
export const JSON_WIRE_VERSION = 1;

const MAX_ID_LENGTH = 128;

export interface JsonWireOptions {
  /**
   * Deepest nesting of objects and arrays a frame may have (the envelope counts as one level).
   * A deeper frame is refused before it is parsed, as `BAD_MESSAGE` "nested deeper than N levels".
   * Default {@link DEFAULT_MAX_DEPTH} (64).
   */
  readonly maxDepth?: number;
}

/**
 * The native wire with its own options.
 *
 * @example createServer({ protocol, handlers, port, wire: jsonWireFormat({ maxDepth: 16 }) })
 */
export function jsonWireFormat(options: JsonWireOptions = {}): WireFormat {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!(Number.isInteger(maxDepth) && maxDepth >= 1))
    throw new TypeError('maxDepth must be an integer of 1 or more');
  return {
    name: `switchboard.json/${JSON_WIRE_VERSION}`,
    frame: 'text',
    encode: encodeJson,
    decode: maxDepth === DEFAULT_MAX_DEPTH ? decodeJson : (frame) => decodeJson(frame, maxDepth),
  };
}

/**
 * The native wire: one JSON object per text frame, `type` naming the message kind, nested at most
 * {@link DEFAULT_MAX_DEPTH} levels (see {@link jsonWireFormat} for another bound).
 * The envelope is checked by hand rather than with a schema library: it runs for every frame and
 * the checks are a few typeof tests; payloads are left to the protocol's own schemas.
 */
export const jsonWire: WireFormat = jsonWireFormat();

/** Throws only for values JSON cannot carry (BigInt, cycles); the server reports those as INTERNAL. */
export function encodeJson(message: Message): string {
  // Hot messages are assembled by hand: it skips the hint fields and one object walk per frame.
  switch (message.type) {
    case 'result':
      return `{"type":"result","id":${JSON.stringify(message.id)},"output":${json(message.output)}}`;
    case 'item':
      return `{"type":"item","id":${JSON.stringify(message.id)},"item":${json(message.item)}}`;
    case 'event':
      return `{"type":"event","event":${JSON.stringify(message.event)},"payload":${json(message.payload)}${
        message.channel === undefined ? '' : `,"channel":${message.channel}`
      }}`;
    case 'call':
      return `{"type":"call","id":${JSON.stringify(message.id)},"command":${JSON.stringify(message.command)},"input":${json(message.input)}${
        message.credential === undefined ? '' : `,"credential":${json(message.credential)}`
      }${message.idempotencyKey === undefined ? '' : `,"idempotencyKey":${JSON.stringify(message.idempotencyKey)}`}${
        message.window === undefined ? '' : `,"window":${message.window}`
      }${message.channel === undefined ? '' : `,"channel":${message.channel}`}}`;
    case 'end':
      return `{"type":"end","id":${JSON.stringify(message.id)}}`;
    case 'publication':
      return `{"type":"publication","key":${JSON.stringify(message.key)},"epoch":${JSON.stringify(message.epoch)},"offset":${message.offset},"payload":${json(message.payload)}${message.skipped ? `,"skipped":${message.skipped}` : ''}}`;
    case 'error': {
      const { command: _hint, ...rest } = message;
      return JSON.stringify(rest);
    }
    case 'hello':
      return JSON.stringify({
        type: 'hello',
        wire: JSON_WIRE_VERSION,
        protocol: message.protocol,
        version: message.version,
        credentials: message.credentials,
        contract: message.contract,
        contractHash: message.contractHash,
      });
    default:
      return JSON.stringify(message);
  }
}

function json(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

const fail = (message: string, id?: CallId): Decoded => ({
  ok: false,
  error: id === undefined ? { code: 'BAD_MESSAGE', message } : { code: 'BAD_MESSAGE', message, id },
});

/**
 * Never throws: every way a frame can be wrong comes back as a WireError. A frame nested deeper than
 * `maxDepth` is refused unparsed, with the call id when a top-level `"id"` can be read from the text.
 */
export function decodeJson(frame: Frame, maxDepth: number = DEFAULT_MAX_DEPTH): Decoded {
  if (typeof frame !== 'string') {
    return { ok: false, error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the JSON wire' } };
  }
  const parsed = parseBoundedJson(frame, maxDepth);
  if (!parsed.ok) {
    if (parsed.reason === 'too-deep') return fail(parsed.message, topLevelId(frame));
    return fail(`malformed JSON: ${parsed.message.replace(/^not JSON: /, '')}`);
  }
  const value = parsed.value;
  if (!isObject(value)) return fail('a message must be a JSON object');
  const type = value.type;
  if (typeof type !== 'string') return fail('field "type" must be a string');
  switch (type) {
    case 'call': {
      const id = value.id;
      if (!isCallId(id))
        return fail('call: field "id" must be a non-negative integer or a string of 1-128 chars');
      if (typeof value.command !== 'string') return fail('call: field "command" must be a string', id);
      const key = value.idempotencyKey;
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 128))
        return fail('call: field "idempotencyKey" must be a string of 1-128 chars', id);
      if (value.channel !== undefined && !isChannel(value.channel))
        return fail('call: field "channel" must be a channel number (1 or more)', id);
      const window = value.window;
      if (window !== undefined && !isCount(window))
        return fail('call: field "window" must be an integer from 1 to 1000000', id);
      return ok({
        type: 'call',
        id,
        command: value.command,
        input: value.input,
        ...(value.credential === undefined ? {} : { credential: value.credential }),
        ...(key === undefined ? {} : { idempotencyKey: key as string }),
        ...(window === undefined ? {} : { window: window as number }),
        ...(value.channel === undefined ? {} : { channel: value.channel as number }),
      });
    }
    case 'credit':
      if (!isCallId(value.id) || !isCount(value.items))
        return fail(
          'credit: fields "id" (a call id) and "items" (an integer from 1 to 1000000) are required',
        );
      return ok({ type: 'credit', id: value.id, items: value.items });
    case 'reauth':
      if (!isCallId(value.id)) return fail('reauth: field "id" must be a call id');
      return ok({ type: 'reauth', id: value.id, credentials: value.credentials });
    case 'cancel':
      if (!isCallId(value.id)) return fail('cancel: field "id" must be a call id');
      return ok({ type: 'cancel', id: value.id });
    case 'ping':
      if (!isTimestamp(value.ts)) return fail('ping: field "ts" must be a finite number');
      if (value.id !== undefined && !isCallId(value.id)) return fail('ping: field "id" must be a call id');
      return ok({ type: 'ping', ts: value.ts, ...(value.id === undefined ? {} : { id: value.id }) });
    case 'pong':
      if (!isTimestamp(value.ts) || !isTimestamp(value.at))
        return fail('pong: fields "ts" and "at" must be numbers');
      if (value.id !== undefined && !isCallId(value.id)) return fail('pong: field "id" must be a call id');
      return ok({
        type: 'pong',
        ts: value.ts,
        at: value.at,
        ...(value.id === undefined ? {} : { id: value.id }),
      });
    case 'hello': {
      if (value.wire !== JSON_WIRE_VERSION) {
        return {
          ok: false,
          error: {
            code: 'INCOMPATIBLE',
            message: `unsupported wire version ${describeWireVersion(value.wire)}; this server speaks ${JSON_WIRE_VERSION}`,
          },
        };
      }
      if (typeof value.protocol !== 'string' || typeof value.version !== 'string') {
        return fail('hello: fields "protocol" and "version" must be strings');
      }
      if (value.contractHash !== undefined && !isContractHash(value.contractHash)) {
        return fail('hello: field "contractHash" must be 16 lowercase hex digits');
      }
      return ok({
        type: 'hello',
        protocol: value.protocol,
        version: value.version,
        ...(value.credentials === undefined ? {} : { credentials: value.credentials }),
        ...(value.contract === undefined ? {} : { contract: value.contract }),
        ...(value.contractHash === undefined ? {} : { contractHash: value.contractHash }),
      });
    }
    case 'contractRequest':
      return ok({ type: 'contractRequest' });
    case 'contract':
      if (value.contract === undefined) return fail('contract: field "contract" is required');
      return ok({ type: 'contract', contract: value.contract });
    case 'auth':
      return ok({ type: 'auth', response: value.response });
    case 'challenge':
      return ok({ type: 'challenge', challenge: value.challenge });
    case 'welcome':
      return decodeWelcome(value);
    case 'result':
      if (!isCallId(value.id)) return fail('result: field "id" must be a call id');
      return ok({ type: 'result', id: value.id, output: value.output });
    case 'item':
      if (!isCallId(value.id)) return fail('item: field "id" must be a call id');
      return ok({ type: 'item', id: value.id, item: value.item });
    case 'end':
      if (!isCallId(value.id)) return fail('end: field "id" must be a call id');
      return ok({ type: 'end', id: value.id });
    case 'error': {
      if (value.id !== undefined && !isCallId(value.id)) return fail('error: field "id" must be a call id');
      if (typeof value.code !== 'string' || typeof value.message !== 'string') {
        return fail('error: fields "code" and "message" must be strings');
      }
      if (value.traceId !== undefined && typeof value.traceId !== 'string') {
        return fail('error: field "traceId" must be a string');
      }
      return ok({
        type: 'error',
        code: value.code,
        message: value.message,
        ...(value.id === undefined ? {} : { id: value.id }),
        ...(value.data === undefined ? {} : { data: value.data }),
        ...(value.traceId === undefined ? {} : { traceId: value.traceId }),
      });
    }
    case 'event':
      if (typeof value.event !== 'string') return fail('event: field "event" must be a string');
      if (value.channel !== undefined && !isChannel(value.channel))
        return fail('event: field "channel" must be a channel number');
      return ok({
        type: 'event',
        event: value.event,
        payload: value.payload,
        ...(value.channel === undefined ? {} : { channel: value.channel as number }),
      });
    case 'open':
      if (!isCallId(value.id)) return fail('open: field "id" must be a call id');
      if (typeof value.service !== 'string') return fail('open: field "service" must be a string', value.id);
      if (value.name !== undefined && (typeof value.name !== 'string' || value.name.length > 256))
        return fail('open: field "name" must be a string of up to 256 chars', value.id);
      if (value.action !== 'create' && value.action !== 'attach' && value.action !== 'attachOrCreate')
        return fail('open: field "action" must be "create", "attach" or "attachOrCreate"', value.id);
      return ok({
        type: 'open',
        id: value.id,
        service: value.service,
        ...(value.name === undefined ? {} : { name: value.name }),
        action: value.action,
      });
    case 'opened':
      if (!isCallId(value.id) || !isChannel(value.channel) || !Number.isInteger(value.session))
        return fail('opened: fields "id", "channel" and "session" are required');
      if (value.state !== 'created' && value.state !== 'attached')
        return fail('opened: field "state" must be "created" or "attached"');
      return ok({
        type: 'opened',
        id: value.id,
        channel: value.channel,
        session: value.session as number,
        state: value.state,
      });
    case 'closeChannel':
      if (!isCallId(value.id) || !isChannel(value.channel))
        return fail('closeChannel: fields "id" and "channel" are required');
      if (value.action !== 'disconnect' && value.action !== 'tryClose' && value.action !== 'close')
        return fail('closeChannel: field "action" must be "disconnect", "tryClose" or "close"', value.id);
      return ok({ type: 'closeChannel', id: value.id, channel: value.channel, action: value.action });
    case 'channelClosed':
      if (!isChannel(value.channel)) return fail('channelClosed: field "channel" is required');
      if (value.id !== undefined && !isCallId(value.id))
        return fail('channelClosed: field "id" must be a call id');
      if (value.status !== 'disconnect' && value.status !== 'close' && value.status !== 'nothing')
        return fail('channelClosed: field "status" must be "disconnect", "close" or "nothing"');
      return ok({
        type: 'channelClosed',
        ...(value.id === undefined ? {} : { id: value.id }),
        channel: value.channel,
        status: value.status,
      });
    case 'goodbye':
      if (typeof value.reason !== 'string') return fail('goodbye: field "reason" must be a string');
      if (value.reconnectUrl !== undefined && typeof value.reconnectUrl !== 'string') {
        return fail('goodbye: field "reconnectUrl" must be a string');
      }
      if (value.retryAfterMs !== undefined && !isTimestamp(value.retryAfterMs)) {
        return fail('goodbye: field "retryAfterMs" must be a number');
      }
      return ok({
        type: 'goodbye',
        reason: value.reason,
        ...(value.reconnectUrl === undefined ? {} : { reconnectUrl: value.reconnectUrl }),
        ...(value.retryAfterMs === undefined ? {} : { retryAfterMs: value.retryAfterMs }),
      });
    case 'subscribe': {
      if (!isCallId(value.id)) return fail('subscribe: field "id" must be a call id');
      if (typeof value.topic !== 'string') return fail('subscribe: field "topic" must be a string', value.id);
      if (value.params !== undefined && !isStringRecord(value.params)) {
        return fail('subscribe: field "params" must be an object of strings', value.id);
      }
      const from = value.from;
      if (from !== undefined && !isFrom(from)) {
        return fail(
          'subscribe: field "from" must be {epoch: string, offset: integer} or {last: integer}',
          value.id,
        );
      }
      return ok({
        type: 'subscribe',
        id: value.id,
        topic: value.topic,
        params: (value.params as Record<string, string> | undefined) ?? {},
        ...(from === undefined ? {} : { from: from as SubscribeFrom }),
      });
    }
    case 'unsubscribe':
      if (!isCallId(value.id)) return fail('unsubscribe: field "id" must be a call id');
      if (typeof value.key !== 'string') return fail('unsubscribe: field "key" must be a string', value.id);
      return ok({ type: 'unsubscribe', id: value.id, key: value.key });
    case 'publish':
      if (!isCallId(value.id)) return fail('publish: field "id" must be a call id');
      if (typeof value.topic !== 'string') return fail('publish: field "topic" must be a string', value.id);
      if (value.params !== undefined && !isStringRecord(value.params)) {
        return fail('publish: field "params" must be an object of strings', value.id);
      }
      return ok({
        type: 'publish',
        id: value.id,
        topic: value.topic,
        params: (value.params as Record<string, string> | undefined) ?? {},
        payload: value.payload,
      });
    case 'subscribed':
      if (
        !isCallId(value.id) ||
        typeof value.key !== 'string' ||
        typeof value.epoch !== 'string' ||
        !isOffset(value.offset)
      ) {
        return fail('subscribed: fields "id", "key", "epoch" and "offset" are required');
      }
      if (value.gap !== undefined && value.gap !== 'trimmed' && value.gap !== 'epoch') {
        return fail('subscribed: field "gap" must be "trimmed" or "epoch"');
      }
      return ok({
        type: 'subscribed',
        id: value.id,
        key: value.key,
        epoch: value.epoch,
        offset: value.offset,
        ...(value.gap === undefined ? {} : { gap: value.gap }),
        ...(isMemberList(value.members) ? { members: value.members } : {}),
        ...(value.snapshot === undefined ? {} : { snapshot: value.snapshot }),
      });
    case 'presence':
      if (
        typeof value.key !== 'string' ||
        (value.change !== 'join' && value.change !== 'leave') ||
        !isMember(value.member)
      ) {
        return fail(
          'presence: fields "key", "change" (join|leave) and "member" {connectionId, userId} are required',
        );
      }
      return ok({ type: 'presence', key: value.key, change: value.change, member: value.member });
    case 'publication':
      if (typeof value.key !== 'string' || typeof value.epoch !== 'string' || !isOffset(value.offset)) {
        return fail('publication: fields "key", "epoch" and "offset" are required');
      }
      return ok({
        type: 'publication',
        key: value.key,
        epoch: value.epoch,
        offset: value.offset,
        payload: value.payload,
        ...(isOffset(value.skipped) && value.skipped > 0 ? { skipped: value.skipped } : {}),
      });
    case 'unsubscribed':
      if (
        typeof value.key !== 'string' ||
        typeof value.code !== 'string' ||
        typeof value.reason !== 'string'
      ) {
        return fail('unsubscribed: fields "key", "code" and "reason" must be strings');
      }
      return ok({ type: 'unsubscribed', key: value.key, code: value.code, reason: value.reason });
    default:
      return fail(
        `unknown message type ${JSON.stringify(type).slice(0, 64)}`,
        isCallId(value.id) ? value.id : undefined,
      );
  }
}

function decodeWelcome(value: Record<string, unknown>): Decoded {
  const { connectionId, protocol, version, principal, heartbeatMs, limits, expiresAt } = value;
  if (typeof connectionId !== 'string' || typeof protocol !== 'string' || typeof version !== 'string') {
    return fail('welcome: fields "connectionId", "protocol" and "version" must be strings');
  }
  if (!isObject(principal) || typeof principal.id !== 'string' || !isStringArray(principal.permissions)) {
    return fail('welcome: field "principal" must be {id: string, permissions: string[]}');
  }
  if (!isTimestamp(heartbeatMs)) return fail('welcome: field "heartbeatMs" must be a number');
  if (
    !isObject(limits) ||
    !isTimestamp(limits.maxMessageBytes) ||
    !isTimestamp(limits.maxInFlight) ||
    !isTimestamp(limits.ratePerSecond)
  ) {
    return fail('welcome: field "limits" must hold numbers maxMessageBytes, maxInFlight, ratePerSecond');
  }
  // Optional: servers before it was announced leave it out.
  if (limits.rateBurst !== undefined && !isTimestamp(limits.rateBurst))
    return fail('welcome: field "limits.rateBurst" must be a number');
  if (expiresAt !== undefined && !isTimestamp(expiresAt))
    return fail('welcome: field "expiresAt" must be a number');
  return ok({
    type: 'welcome',
    connectionId,
    protocol,
    version,
    principal: { id: principal.id, permissions: principal.permissions },
    heartbeatMs,
    limits: {
      maxMessageBytes: limits.maxMessageBytes,
      maxInFlight: limits.maxInFlight,
      ratePerSecond: limits.ratePerSecond,
      ...(limits.rateBurst === undefined ? {} : { rateBurst: limits.rateBurst }),
    },
    ...(expiresAt === undefined ? {} : { expiresAt }),
  });
}

const ok = (message: Message): Decoded => ({ ok: true, message });

/**
 * The call id of a frame too deep to parse, read from its text: the value of an `"id"` key at the top
 * level, when it is a call id. One pass, no parsing of anything nested.
 */
function topLevelId(text: string): CallId | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      if (depth === 1 && end === i + 3 && text.startsWith('"id"', i)) {
        let at = skipSpace(text, end + 1);
        if (text[at] === ':') {
          at = skipSpace(text, at + 1);
          const id = scalarAt(text, at);
          if (isCallId(id)) return id;
        }
      }
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
  return at;
}

/** A string or number literal starting at `at` (only those can be call ids), else undefined. */
function scalarAt(text: string, at: number): unknown {
  const literal =
    text[at] === '"' ? text.slice(at, stringEnd(text, at) + 1) : /^-?\d+/.exec(text.slice(at, at + 24))?.[0];
  if (!literal) return undefined;
  try {
    return JSON.parse(literal);
  } catch {
    return undefined;
  }
}

/** A contract hash is FNV-1a 64 as 16 lowercase hex digits (see src/protocol/contract-hash.ts). */
function isContractHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{16}$/.test(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCallId(value: unknown): value is CallId {
  return (
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH)
  );
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

function isFrom(value: unknown): boolean {
  if (!isObject(value)) return false;
  if ('last' in value) return isOffset(value.last);
  return typeof value.epoch === 'string' && isOffset(value.offset);
}

function isMember(value: unknown): value is { connectionId: string; userId: string } {
  return isObject(value) && typeof value.connectionId === 'string' && typeof value.userId === 'string';
}

function isMemberList(value: unknown): value is { connectionId: string; userId: string }[] {
  return Array.isArray(value) && value.every(isMember);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

/**
 * Names a peer's wire version for an error message. Only numbers and short strings are shown: any
 * other value is the peer's to shape (a deeply nested array would overflow JSON.stringify's stack).
 */
function describeWireVersion(wire: unknown): string {
  if (typeof wire === 'number') return String(wire);
  if (typeof wire === 'string') return JSON.stringify(wire.length > 32 ? `${wire.slice(0, 32)}…` : wire);
  if (wire === undefined || wire === null || typeof wire === 'boolean') return String(wire);
  return `of type ${Array.isArray(wire) ? 'array' : typeof wire}`;
}

/** A window or credit: a positive integer, capped so that a peer cannot make the count meaningless. */
function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1_000_000;
}

/** Channel numbers as goval has them: positive int32 (0 is the control channel, never a service). */
function isChannel(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 2_147_483_647;
}
