/**
 * The messages a server and client exchange, independent of how they are encoded.
 * A wire format maps these to bytes and back; the server and client only ever see these.
 * Formats that cannot carry a field (a binary layout without call ids, say) document how they map.
 */

/** Call ids are chosen by the caller and unique among its running calls. */
export type CallId = number | string;

/** Client → server, first message: which protocol it speaks, and its credentials. */
export interface Hello {
  readonly type: 'hello';
  readonly protocol: string;
  readonly version: string;
  readonly credentials?: unknown;
  /**
   * The client's contract (see `contractOf`): the server then checks compatibility member by member
   * instead of by major version, and names the first breaking difference when it refuses.
   */
  readonly contract?: unknown;
  /**
   * The hash of the client's contract (see `contractHash`). When it differs from the server's, the
   * server asks for the full contract with `contractRequest` once the peer is authenticated.
   */
  readonly contractHash?: string;
}

/** Server → client during the handshake: the hello's contract hash differs; send the full contract. */
export interface ContractRequest {
  readonly type: 'contractRequest';
}

/** Client → server: the answer to a `contractRequest`, compared member by member with the server's. */
export interface ContractAnswer {
  readonly type: 'contract';
  readonly contract: unknown;
}

/** Server → client during a challenge–response handshake. */
export interface Challenge {
  readonly type: 'challenge';
  readonly challenge: unknown;
}

/** Client → server: the answer to a challenge. */
export interface AuthResponse {
  readonly type: 'auth';
  readonly response: unknown;
}

/** Server → client: the handshake succeeded; what the connection may do. */
export interface Welcome {
  readonly type: 'welcome';
  readonly connectionId: string;
  readonly protocol: string;
  readonly version: string;
  readonly principal: { readonly id: string; readonly permissions: readonly string[] };
  /** When the credentials expire (ms since epoch); the server closes with 4103 then. */
  readonly expiresAt?: number;
  /** How often the server pings; the client may treat twice this without traffic as a dead peer. */
  readonly heartbeatMs: number;
  readonly limits: WelcomeLimits;
}

export interface WelcomeLimits {
  readonly maxMessageBytes: number;
  readonly maxInFlight: number;
  readonly ratePerSecond: number;
  /** Tokens the server's bucket holds (frames a fresh connection may send at once). Absent from older servers. */
  readonly rateBurst?: number;
}

/** Client → server: run a command. `credential` is for formats that authenticate every message. */
export interface Call {
  readonly type: 'call';
  readonly id: CallId;
  readonly command: string;
  readonly input: unknown;
  readonly credential?: unknown;
  /** On idempotent commands: the same for every retry of one logical call, unique otherwise. */
  readonly idempotencyKey?: string;
  /**
   * On streams: how many items the server may send beyond those the client has acknowledged with
   * `credit`. Absent: no flow control (only the send buffer limit).
   */
  readonly window?: number;
  /** Runs the command of the service open on this channel (the command name is the service's local one). */
  readonly channel?: number;
}

/** Client → server: the client consumed `items` more items of stream `id`; the server may send as many more. */
export interface Credit {
  readonly type: 'credit';
  readonly id: CallId;
  readonly items: number;
}

/** Server → client: a command's output. `command` is a hint for formats that name replies; JSON omits it. */
export interface Result {
  readonly type: 'result';
  readonly id: CallId;
  readonly output: unknown;
  readonly command?: string;
}

/** Server → client: one item of a streamed command. */
export interface StreamItem {
  readonly type: 'item';
  readonly id: CallId;
  readonly item: unknown;
  readonly command?: string;
}

/** Server → client: a streamed command finished normally. */
export interface StreamEnd {
  readonly type: 'end';
  readonly id: CallId;
  readonly command?: string;
}

/** Server → client: a call failed, or (without `id`) a frame could not be processed. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly id?: CallId;
  readonly code: string;
  readonly message: string;
  readonly data?: unknown;
  /** Present on INTERNAL errors: the id the server logged the cause under. */
  readonly traceId?: string;
  readonly command?: string;
}

/** Client → server: stop a running call or stream. */
export interface Cancel {
  readonly type: 'cancel';
  readonly id: CallId;
}

/** Server → client push. */
export interface EventMessage {
  readonly type: 'event';
  /** `<resource>.<event>`, or `<service>.<event>` for a service event on `channel`. */
  readonly event: string;
  readonly payload: unknown;
  /** The channel of a service event. */
  readonly channel?: number;
  /** The goval session rule the event was sent under (0 all, < 0 all but one, > 1 one); a hint for wires. */
  readonly session?: number;
}

/** How a channel is opened, as goval's OpenChannel.Action. */
export type OpenAction = 'create' | 'attach' | 'attachOrCreate';

/** Client → server: open a channel to a service (goval's openChan). */
export interface OpenChannel {
  readonly type: 'open';
  readonly id: CallId;
  readonly service: string;
  /** Channels on the same name share one service instance; without a name, a new one is made. */
  readonly name?: string;
  readonly action: OpenAction;
}

/** Server → client: the channel is open; calls and events on it carry `channel`. */
export interface ChannelOpened {
  readonly type: 'opened';
  readonly id: CallId;
  readonly channel: number;
  /** This attachment's session id within the service instance. */
  readonly session: number;
  readonly state: 'created' | 'attached';
}

/** How a channel is closed, as goval's CloseChannel.Action. */
export type CloseAction = 'disconnect' | 'tryClose' | 'close';

/** Client → server: leave or close a channel (goval's closeChan). */
export interface CloseChannel {
  readonly type: 'closeChannel';
  readonly id: CallId;
  readonly channel: number;
  readonly action: CloseAction;
}

/**
 * Server → client: what closing did (goval's CloseChannelRes): `disconnect` (this session left, the
 * instance goes on), `close` (the instance is closed), `nothing`. Without `id`: the instance was closed
 * by another session, and this channel with it.
 */
export interface ChannelClosed {
  readonly type: 'channelClosed';
  readonly id?: CallId;
  readonly channel: number;
  readonly status: 'disconnect' | 'close' | 'nothing';
}

/** Either direction: are you there? `ts` is the sender's clock in ms since epoch. */
export interface Ping {
  readonly type: 'ping';
  readonly ts: number;
  /** For wires whose pings are requests with an id (Hemi's ping-request, goval's `ref`): echoed in the pong. */
  readonly id?: CallId;
}

/** Answer to a ping: `ts` echoes the ping's, `at` is the responder's clock. RTT = now − ts. */
export interface Pong {
  readonly type: 'pong';
  readonly ts: number;
  readonly at: number;
  /** The ping's id, when it had one. */
  readonly id?: CallId;
}

/** Server → client before it closes on purpose: why, and where to reconnect. */
export interface Goodbye {
  readonly type: 'goodbye';
  readonly reason: string;
  /** Another server to reconnect to (goval's `redirect`). */
  readonly reconnectUrl?: string;
  /** Wait at least this long before reconnecting. */
  readonly retryAfterMs?: number;
}

/** Where a subscription starts: after a known position, with the last N publications, or from now. */
export type SubscribeFrom = { readonly epoch: string; readonly offset: number } | { readonly last: number };

/** Client → server: follow a topic. Answered by `subscribed` or an `error` with the same id. */
export interface Subscribe {
  readonly type: 'subscribe';
  readonly id: CallId;
  readonly topic: string;
  readonly params: Readonly<Record<string, string>>;
  readonly from?: SubscribeFrom;
}

/** Client → server: stop following a topic key. Answered by `result` with a null output. */
export interface Unsubscribe {
  readonly type: 'unsubscribe';
  readonly id: CallId;
  readonly key: string;
}

/** Client → server: publish on a topic the protocol lets clients publish on. Answered by `result` with the position. */
export interface Publish {
  readonly type: 'publish';
  readonly id: CallId;
  readonly topic: string;
  readonly params: Readonly<Record<string, string>>;
  readonly payload: unknown;
}

/**
 * Server → client: the subscription is live. `epoch`/`offset` is the position of the last
 * publication sent before live ones follow. `gap` says publications were lost between the
 * requested position and the oldest one still kept: `trimmed` (history too short) or `epoch`
 * (history was lost, e.g. the broker restarted without persistence).
 */
export interface Subscribed {
  readonly type: 'subscribed';
  readonly id: CallId;
  readonly key: string;
  readonly epoch: string;
  readonly offset: number;
  readonly gap?: 'trimmed' | 'epoch';
  /** On snapshot topics: the state to start from (a fresh subscribe, or after a gap). */
  readonly snapshot?: unknown;
  /** On presence topics: who follows the key now, this connection included. */
  readonly members?: readonly PresenceMember[];
}

/** One connection of one user on a presence topic. */
export interface PresenceMember {
  readonly connectionId: string;
  readonly userId: string;
}

/** Server → client: someone started or stopped following a presence topic key. */
export interface PresenceMessage {
  readonly type: 'presence';
  readonly key: string;
  readonly change: 'join' | 'leave';
  readonly member: PresenceMember;
}

/** Server → client: one publication of a topic key, in offset order. */
export interface PublicationMessage {
  readonly type: 'publication';
  readonly key: string;
  readonly epoch: string;
  readonly offset: number;
  readonly payload: unknown;
  /** Publications of this key dropped for this subscriber just before this one (slow-consumer policy). */
  readonly skipped?: number;
}

/** Server → client: the server ended a subscription (e.g. its permission was withdrawn). */
export interface Unsubscribed {
  readonly type: 'unsubscribed';
  readonly key: string;
  readonly code: string;
  readonly reason: string;
}

/**
 * Client → server on an open connection: fresh credentials, before the old ones expire. Answered by a
 * `result` whose output is `{ principal, expiresAt? }`, or an `error` (UNAUTHENTICATED) that leaves the
 * connection as it was.
 */
export interface Reauth {
  readonly type: 'reauth';
  readonly id: CallId;
  readonly credentials: unknown;
}

export type ClientMessage =
  | Hello
  | AuthResponse
  | ContractAnswer
  | Reauth
  | Credit
  | OpenChannel
  | CloseChannel
  | Call
  | Cancel
  | Ping
  | Pong
  | Subscribe
  | Unsubscribe
  | Publish;
export type ServerMessage =
  | Challenge
  | ContractRequest
  | Welcome
  | ChannelOpened
  | ChannelClosed
  | Result
  | StreamItem
  | StreamEnd
  | ErrorMessage
  | EventMessage
  | Ping
  | Pong
  | Goodbye
  | Subscribed
  | PublicationMessage
  | PresenceMessage
  | Unsubscribed;
export type Message = ClientMessage | ServerMessage;
export type MessageType = Message['type'];
