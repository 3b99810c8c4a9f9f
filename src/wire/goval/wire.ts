import { CLOSE_CODES } from '../../protocol/close-codes.js';
import { DEFAULT_MAX_DEPTH } from '../bounded-json.js';
import type { Decoded, Frame, WireError, WireFormat } from '../format.js';
import type { CallId, ErrorMessage, Message } from '../message.js';
import { GOVAL_CLOSE_CODES } from './close-codes.js';
import { type BodyCase, type BodyInit, decodeCommand, encodeCommand } from './codec.js';
import {
  CONTROL_CHANNEL,
  closeActionFromGoval,
  closedBody,
  openActionFromGoval,
  openedBody,
  openFailedBody,
  pongBody,
  readyBody,
  redirectBody,
} from './control.js';
import { addressOf, callIdOf } from './ids.js';
import type { GovalRequest, GovalServiceMapping } from './mapping.js';
import { chatMapping } from './services/chat.js';
import { execMapping } from './services/exec.js';
import { filesMapping } from './services/files.js';
import { otMapping } from './services/ot.js';
import { okBody } from './values.js';
import { VCR_COMMANDS, vcrLogBody } from './vcr.js';

/** The wire's name, as `WireFormat.name`. */
export const GOVAL_WIRE_NAME = 'goval.api';

/** The longest `ref` taken as a call id (the native wire's limit on string ids). */
export const MAX_REF_LENGTH = 128;

/** The services every goval wire maps unless told otherwise. */
export const govalServiceMappings: Readonly<Record<string, GovalServiceMapping>> = {
  chat: chatMapping,
  files: filesMapping,
  exec: execMapping,
  ot: otMapping,
};

export interface GovalWireOptions {
  /**
   * Service name (as in the protocol's `services`) → how its commands and events travel. Default
   * {@link govalServiceMappings}. Two services may not claim the same body kind.
   */
  readonly services?: Readonly<Record<string, GovalServiceMapping>>;
  /**
   * Deepest nesting of protobuf messages a frame may have (default `DEFAULT_MAX_DEPTH`, 64); a
   * deeper frame is refused as any undecodable frame is: `BAD_MESSAGE`, answered with an `error` body.
   */
  readonly maxDepth?: number;
}

/**
 * The command hint of an error that answers an `open` (`<service>.$open`, as the server names it):
 * it becomes `openChanRes{state: ERROR}` on channel 0 rather than an `error` body.
 */
export const OPEN_COMMAND_SUFFIX = '.$open';

function isOpenHint(command: string | undefined): boolean {
  return command !== undefined && (command === 'open' || command.endsWith(OPEN_COMMAND_SUFFIX));
}

/** Replies and errors may carry the channel of their call (see docs/goval.md); the id names it too. */
type OnChannel = { readonly channel?: number };

/**
 * goval's wire: one protobuf `api.Command` per binary frame, channel 0 for control, `ref` for
 * correlation, no hello (the token is in the URL path: see {@link govalTokenAuth}). Server side:
 * `decode` reads what goval clients send, `encode` writes what they expect. See docs/goval.md.
 *
 * @example createServer({ protocol, services, wire: govalWire(), auth: govalTokenAuth(verify) })
 */
export function govalWire(options: GovalWireOptions = {}): WireFormat {
  const services = options.services ?? govalServiceMappings;
  const requests = indexRequests(services);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  // Numbers the call ids of commands sent without a ref.
  let lastGeneratedId = 0;

  function frame(channel: number, body: BodyInit, ref?: string, session = 0): Uint8Array {
    return encodeCommand({ channel, session, body, ...(ref === undefined ? {} : { ref }) });
  }

  /** A control reply: channel 0, the ref the id names. */
  function control(id: CallId | undefined, body: BodyInit, session = 0): Uint8Array {
    return frame(CONTROL_CHANNEL, body, addressOf(id).ref, session);
  }

  /**
   * A reply on the call's channel (the message's own `channel` if the server sets one, else the id's),
   * echoing its ref. `ok` to a command sent without a ref is not sent: nothing waits for it.
   */
  function reply(
    message: { readonly id?: CallId } & OnChannel,
    body: BodyInit,
    answers = true,
  ): Uint8Array | null {
    const address = addressOf(message.id);
    const channel = message.channel ?? address.channel ?? CONTROL_CHANNEL;
    if (!answers) return frame(channel, body);
    if (body.case === 'ok' && address.ref === undefined) return null;
    return frame(channel, body, address.ref);
  }

  function member(hint: string | undefined): { mapping?: GovalServiceMapping; name: string } {
    if (hint === undefined) return { name: '' };
    const dot = hint.indexOf('.');
    if (dot < 0) return { name: hint };
    return { mapping: services[hint.slice(0, dot)], name: hint.slice(dot + 1) };
  }

  function encodeError(message: ErrorMessage & OnChannel): Uint8Array | null {
    const text = message.message || message.code;
    if (isOpenHint(message.command)) return control(message.id, openFailedBody(text));
    return reply(message, { case: 'error', value: text });
  }

  function encode(message: Message): Frame | null {
    switch (message.type) {
      case 'welcome':
        return control(undefined, readyBody());
      case 'goodbye':
        // Without a URL there is nothing goval can say: the close code that follows tells the client.
        return message.reconnectUrl === undefined
          ? null
          : control(undefined, redirectBody(message.reconnectUrl));
      case 'ping':
        // goval pings carry no time, and crosis does not answer them: the server pings at the WebSocket level.
        return null;
      case 'pong': {
        // On the ping's channel, echoing its ref, so that crosis's `request({ ping })` resolves.
        const address = addressOf(message.id);
        return frame(address.channel ?? CONTROL_CHANNEL, pongBody(), address.ref);
      }
      case 'opened':
        return control(message.id, openedBody(message.channel, message.state), message.session);
      case 'channelClosed':
        return control(message.id, closedBody(message.channel, message.status));
      case 'result': {
        // goval's VCR: the core's in-band recording commands answer with `ok` and `VCRLog`.
        if (message.command === VCR_COMMANDS.read) return reply(message, vcrLogBody(message.output));
        if (message.command === VCR_COMMANDS.start) return reply(message, okBody());
        const { mapping, name } = member(message.command);
        return reply(message, mapping?.results?.[name]?.(message.output) ?? okBody());
      }
      case 'item': {
        const { mapping, name } = member(message.command);
        const item = mapping?.items?.[name]?.(message.item);
        // A stream goval has no body for is not sent item by item; its end still answers.
        if (item === undefined) return null;
        return reply(message, item.body, item.answers);
      }
      case 'end': {
        const { mapping, name } = member(message.command);
        if (mapping?.answeredByItem?.includes(name)) return null;
        return reply(message, okBody());
      }
      case 'error':
        return encodeError(message);
      case 'event': {
        const { mapping, name } = member(message.event);
        const body = mapping?.events?.[name]?.(message.payload);
        if (body === undefined) return null;
        return frame(message.channel ?? CONTROL_CHANNEL, body, undefined, message.session ?? 0);
      }
      default:
        // Client messages and topic messages have no goval form on the server's side.
        return null;
    }
  }

  function decode(data: Frame): Decoded {
    if (typeof data === 'string') {
      return { ok: false, error: { code: 'UNSUPPORTED_FRAME', message: 'text frame on the goval wire' } };
    }
    const decoded = decodeCommand(data, maxDepth);
    if (!decoded.ok) return fail(`not a goval Command: ${decoded.message}`);
    const { channel, ref, body } = decoded.command;
    if (ref.length > MAX_REF_LENGTH) return fail(`ref longer than ${MAX_REF_LENGTH} characters`);
    const id = callIdOf(channel, ref, () => ++lastGeneratedId);
    switch (body.case) {
      case undefined:
        return fail('a Command without a body', id);
      case 'ping':
        return { ok: true, message: { type: 'ping', ts: 0, id } };
      case 'startVCR':
        // On channel 0 the whole connection is recorded; on a service channel, that channel only.
        return {
          ok: true,
          message: {
            type: 'call',
            id,
            command: VCR_COMMANDS.start,
            input: channel === CONTROL_CHANNEL ? {} : { channel },
          },
        };
      case 'readVCR':
        return { ok: true, message: { type: 'call', id, command: VCR_COMMANDS.read, input: {} } };
      case 'pong':
        return { ok: true, message: { type: 'pong', ts: 0, at: 0 } };
      case 'openChan': {
        if (channel !== CONTROL_CHANNEL) return fail('openChan must be on channel 0', id);
        const action = openActionFromGoval(body.value.action);
        if (action === undefined) return fail(`openChan: unknown action ${body.value.action}`, id);
        return {
          ok: true,
          message: {
            type: 'open',
            id,
            service: body.value.service,
            ...(body.value.name === '' ? {} : { name: body.value.name }),
            action,
          },
        };
      }
      case 'closeChan': {
        if (channel !== CONTROL_CHANNEL) return fail('closeChan must be on channel 0', id);
        const action = closeActionFromGoval(body.value.action);
        if (action === undefined) return fail(`closeChan: unknown action ${body.value.action}`, id);
        if (body.value.id < 1)
          return fail(`closeChan: channel ${body.value.id} is not a service channel`, id);
        return { ok: true, message: { type: 'closeChannel', id, channel: body.value.id, action } };
      }
    }
    if (channel < 1)
      return fail(`"${body.case}" is not a control message and must be on a service channel`, id);
    const decodeRequest = requests.get(body.case) as ((value: unknown) => GovalRequest) | undefined;
    if (decodeRequest === undefined) return fail(`"${body.case}" is not supported by this server`, id);
    const request = decodeRequest(body.value);
    if ('error' in request) return fail(request.error, id);
    return {
      ok: true,
      message: { type: 'call', id, command: request.command, input: request.input, channel },
    };
  }

  return {
    name: GOVAL_WIRE_NAME,
    frame: 'binary',
    handshake: 'upgrade',
    // crosis answers 1008 by fetching a new token; 4100 it would only retry with the same one.
    closeCodes: { [CLOSE_CODES.HANDSHAKE_FAILED.code]: GOVAL_CLOSE_CODES.POLICY_VIOLATION },
    encode,
    decode,
  };
}

function fail(message: string, id?: CallId): Decoded {
  const error: WireError =
    id === undefined ? { code: 'BAD_MESSAGE', message } : { code: 'BAD_MESSAGE', message, id };
  return { ok: false, error };
}

function indexRequests(services: Readonly<Record<string, GovalServiceMapping>>): Map<BodyCase, unknown> {
  const index = new Map<BodyCase, unknown>();
  const owner = new Map<BodyCase, string>();
  for (const [service, mapping] of Object.entries(services)) {
    for (const [kind, decoder] of Object.entries(mapping.requests) as [BodyCase, unknown][]) {
      const other = owner.get(kind);
      if (other !== undefined)
        throw new TypeError(`goval: services "${other}" and "${service}" both take "${kind}"`);
      owner.set(kind, service);
      index.set(kind, decoder);
    }
  }
  return index;
}
