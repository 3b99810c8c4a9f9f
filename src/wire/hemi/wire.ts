import type { Protocol } from '../../protocol/define.js';
import { DEFAULT_MAX_DEPTH } from '../bounded-json.js';
import type { Decoded, Frame, WireError, WireFormat } from '../format.js';
import type { CallId, ErrorMessage, Message } from '../message.js';
import { type HemiCommandNames, hemiCommandNames } from './commands.js';
import { type HemiError, hemiTrace, internalError, requestError } from './error.js';
import { handshakeIds, SECP256K1_COMMANDS } from './handshake.js';
import { decodeHemiMessage, encodeHemiMessage, type HemiMessage, isObject } from './message.js';

/** The id of the ping a Hemi server sends right after the handshake ("Always ping, required by protocol"). */
export const INITIAL_PING_ID = '0';

/** What the secp256k1 authenticator issues as a challenge, and this wire sends as `secp256k1-hello-challenge`. */
export interface HemiChallenge {
  /** The key as the client sent it in the hello: the challenge's header id repeats it. */
  readonly publickey: string;
  /** Hex of nonce ‖ `Hello: <key>\nMessage: I am not a robot!\n`. */
  readonly message: string;
}

/** What a `secp256k1-hello` decodes to: the hello's `credentials`. */
export interface HemiHelloCredentials {
  readonly publickey: string;
  readonly userAgent?: string;
}

/** What a `secp256k1-hello-challenge-accepted` decodes to: the auth message's `response`. */
export interface HemiChallengeResponse {
  readonly signature: string;
}

export interface HemiWireOptions {
  /** The API prefix of every command, e.g. `bfgapi`. */
  readonly api: string;
  /** The protocol served: its commands and events get Hemi names, and hellos are taken as speaking it. */
  readonly protocol: Protocol<any>;
  /** Dotted name → Hemi name (without prefix and suffix), for names {@link hemiName} does not produce. */
  readonly names?: Readonly<Record<string, string>>;
  /** The clock for the timestamps this wire writes (errors, the initial ping); ms since epoch. */
  readonly now?: () => number;
  /**
   * `secp256k1` (default): clients open with `secp256k1-hello`, for `secp256k1Auth`. `none`: a Hemi
   * API without an authenticator; the server authenticates from the upgrade request (default
   * `anonymous()`) and sends the initial ping at once, and a `secp256k1-*` frame is an unknown command.
   */
  readonly handshake?: 'secp256k1' | 'none';
  /**
   * Deepest nesting of objects and arrays a frame may have, the envelope included (default
   * `DEFAULT_MAX_DEPTH`, 64). A deeper frame is refused unparsed, as any invalid command: close 4102.
   */
  readonly maxDepth?: number;
}

/** The Hemi wire, and the names it gives the protocol's commands. */
export interface HemiWire extends WireFormat {
  readonly names: HemiCommandNames;
}

/**
 * The server side of Hemi's JSON RPC (`{"header":{"command","id"},"payload"}`) for a Switchboard
 * protocol. Every frame a server cannot take — unknown command, malformed JSON, bad payload
 * shape — decodes to an `INCOMPATIBLE` error, which closes the connection (4102), as a Hemi server
 * drops a connection on `ErrInvalidCommand`. See docs/wire-hemi.md.
 *
 * @example createServer({ protocol, handlers, wire: hemiWire({ api: 'bfgapi', protocol }), auth: secp256k1Auth({ allow }) })
 */
export function hemiWire(options: HemiWireOptions): HemiWire {
  const { protocol } = options;
  const names = hemiCommandNames(options.api, protocol, options.names);
  const now = options.now ?? Date.now;
  const secp256k1 = (options.handshake ?? 'secp256k1') === 'secp256k1';
  const seconds = () => Math.floor(now() / 1000);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;

  const frame = (command: string, id: CallId, payload: unknown): string =>
    encodeHemiMessage({ command, id: String(id), payload });

  function responseName(message: { readonly command?: string }): string {
    const name = message.command === undefined ? undefined : names.responseOf(message.command);
    // Only a reply the core sends without naming its call lacks a name (RATE_LIMITED): ours.
    return name ?? `${names.api}-error`;
  }

  function errorPayload(message: ErrorMessage): { error: HemiError } {
    const internal = message.code === 'INTERNAL' || message.traceId !== undefined;
    return {
      error: internal
        ? internalError(hemiTrace(message.traceId ?? ''), seconds())
        : requestError(message.message, seconds()),
    };
  }

  function encode(message: Message): Frame | null {
    switch (message.type) {
      case 'result':
        return frame(responseName(message), message.id, message.output);
      case 'item':
        // Hemi has no streams: each item is one more response with the call's id (ours).
        return frame(responseName(message), message.id, message.item);
      case 'error':
        return frame(responseName(message), message.id ?? '', errorPayload(message));
      case 'event': {
        const name = names.notificationOf(message.event);
        if (name === undefined) throw new Error(`event "${message.event}" is not part of the protocol`);
        return frame(name, '', message.payload);
      }
      case 'welcome':
        return frame(names.pingRequest, INITIAL_PING_ID, { timestamp: seconds() });
      case 'challenge': {
        const challenge = message.challenge as HemiChallenge;
        if (
          !isObject(challenge) ||
          typeof challenge.publickey !== 'string' ||
          typeof challenge.message !== 'string'
        ) {
          throw new TypeError('a Hemi challenge must be {publickey: string, message: string}');
        }
        return frame(SECP256K1_COMMANDS.helloChallenge, handshakeIds.helloChallenge(challenge.publickey), {
          message: challenge.message,
        });
      }
      case 'pong':
        // The reply carries the request's id, as Hemi's `Call` waits for it by id.
        return frame(names.pingResponse, message.id === undefined ? '' : String(message.id), {
          origintimestamp: Math.floor(message.ts / 1000),
          timestamp: Math.floor(message.at / 1000),
        });
      case 'hello': {
        const credentials = message.credentials as HemiHelloCredentials;
        if (!isObject(credentials) || typeof credentials.publickey !== 'string') {
          throw new TypeError('a Hemi hello needs credentials {publickey: string, userAgent?: string}');
        }
        return frame(SECP256K1_COMMANDS.hello, handshakeIds.hello(credentials.publickey), {
          ...(credentials.userAgent === undefined ? {} : { userAgent: credentials.userAgent }),
          publickey: credentials.publickey,
        });
      }
      case 'auth': {
        const response = message.response as HemiChallengeResponse & { publickey?: string };
        if (!isObject(response) || typeof response.signature !== 'string') {
          throw new TypeError('a Hemi challenge response must be {signature: string}');
        }
        const id =
          typeof response.publickey === 'string'
            ? handshakeIds.helloChallengeAccepted(response.publickey)
            : '';
        return frame(SECP256K1_COMMANDS.helloChallengeAccepted, id, { signature: response.signature });
      }
      case 'call': {
        const name = names.requestOf(message.command);
        if (name === undefined) throw new Error(`command "${message.command}" is not part of the protocol`);
        return frame(name, message.id, message.input);
      }
      // The heartbeat goes out as a WebSocket ping: a Hemi server never pings in-band after the first.
      case 'ping':
      // Hemi has no goodbye, no end of stream, no cancel and no topics: the close, or nothing, says it.
      case 'goodbye':
      case 'end':
      case 'cancel':
      case 'subscribe':
      case 'unsubscribe':
      case 'publish':
      case 'subscribed':
      case 'publication':
      case 'presence':
      case 'unsubscribed':
        return null;
      default:
        // A kind the core gained after this wire was written has no Hemi frame until it is mapped here.
        return null;
    }
  }

  function decode(input: Frame): Decoded {
    const read = decodeHemiMessage(input, maxDepth);
    if (!read.ok) {
      return read.reason === 'binary'
        ? { ok: false, error: { code: 'UNSUPPORTED_FRAME', message: read.message } }
        : invalid(read.message);
    }
    return decodeMessage(read.message);
  }

  function decodeMessage({ command, id, payload }: HemiMessage): Decoded {
    // Without an authenticator the handshake's commands are not part of the API, as in Hemi.
    if (!secp256k1 && command.startsWith('secp256k1-')) {
      return invalid(`unknown command ${JSON.stringify(command)}`, id);
    }
    switch (command) {
      case SECP256K1_COMMANDS.hello: {
        if (!isObject(payload) || typeof payload.publickey !== 'string') {
          return invalid(`${command}: payload must hold "publickey" as a string`, id);
        }
        if (payload.userAgent !== undefined && typeof payload.userAgent !== 'string') {
          return invalid(`${command}: "userAgent" must be a string`, id);
        }
        const credentials: HemiHelloCredentials = {
          publickey: payload.publickey,
          ...(payload.userAgent === undefined ? {} : { userAgent: payload.userAgent }),
        };
        // The hello names no protocol: the connection speaks the one this wire is bound to.
        return ok({ type: 'hello', protocol: protocol.name, version: protocol.version, credentials });
      }
      case SECP256K1_COMMANDS.helloChallengeAccepted: {
        if (!isObject(payload) || typeof payload.signature !== 'string') {
          return invalid(`${command}: payload must hold "signature" as a string`, id);
        }
        const response: HemiChallengeResponse = { signature: payload.signature };
        return ok({ type: 'auth', response });
      }
      case names.pingRequest: {
        if (names.pingCommand !== undefined) break;
        const timestamp = timestampOf(payload, 'timestamp');
        if (timestamp === undefined) return invalid(`${command}: "timestamp" must be an integer`, id);
        return ok({ type: 'ping', ts: timestamp * 1000, ...(id ? { id } : {}) });
      }
      case names.pingResponse: {
        const origin = timestampOf(payload, 'origintimestamp');
        const at = timestampOf(payload, 'timestamp');
        if (origin === undefined || at === undefined) {
          return invalid(`${command}: "origintimestamp" and "timestamp" must be integers`, id);
        }
        return ok({ type: 'pong', ts: origin * 1000, at: at * 1000 });
      }
    }
    const dotted = names.commandOf(command);
    if (dotted === undefined) return invalid(`unknown command ${JSON.stringify(command).slice(0, 80)}`, id);
    return ok({ type: 'call', id, command: dotted, input: payload });
  }

  return {
    name: `hemi.${options.api}/1`,
    frame: 'text',
    handshake: secp256k1 ? 'hello' : 'upgrade',
    names,
    encode,
    decode,
  };
}

const ok = (message: Message): Decoded => ({ ok: true, message });

/** Every frame a Hemi server cannot take ends the connection, as `ErrInvalidCommand` does there. */
function invalid(message: string, id?: string): Decoded {
  const error: WireError =
    id === undefined || id === ''
      ? { code: 'INCOMPATIBLE', message: `invalid command: ${message}` }
      : { code: 'INCOMPATIBLE', message: `invalid command: ${message}`, id };
  return { ok: false, error };
}

/**
 * A Go `int64` field of a ping payload. Absent (or a `null` payload) reads as 0, as Go's decoder
 * leaves the zero value; anything but an integer is refused, as Go's decoder refuses it.
 */
function timestampOf(payload: unknown, field: string): number | undefined {
  if (payload === null) return 0;
  if (!isObject(payload)) return undefined;
  const value = payload[field];
  if (value === undefined) return 0;
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}
