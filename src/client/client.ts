import type { Position } from '../broker/broker.js';
import { CLOSE_CODES } from '../protocol/close-codes.js';
import { cachedContract, cachedContractHash } from '../protocol/contract-hash.js';
import type {
  CallInput,
  CallOutput,
  CommandName,
  ErrorCode,
  EventName,
  EventPayload,
  Protocol,
  ServiceDef,
  ServiceName,
  ServiceOf,
  StreamItem,
  StreamName,
  TopicInput,
  TopicName,
  TopicParams,
  TopicPayload,
} from '../protocol/define.js';
import { CallError, ConnectError } from '../protocol/errors.js';
import type { ConnectCause } from '../transport/connect-cause.js';
import type { Connector, Socket } from '../transport/socket.js';
import { defaultConnector } from '../transport/websocket.js';
import type { Decoded, Frame, WireFormat } from '../wire/format.js';
import { jsonWire } from '../wire/json.js';
import type {
  Call,
  CallId,
  ChannelClosed,
  ChannelOpened,
  CloseChannel,
  Message,
  OpenChannel,
  PublicationMessage,
  Publish,
  Reauth,
  Subscribed,
  Welcome,
} from '../wire/message.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { CallSlots, type Slotted } from './call-slots.js';
import { Channel, type ChannelLink, type OpenChannelOptions } from './channel.js';
import {
  type ConnectErrorListener,
  causeOfClose,
  causeRetries,
  connectErrorOf,
  invalidUrl,
} from './connect-failure.js';
import { Outbox, type Outgoing } from './outbox.js';
import type { ConnectionState, StateDetail, StateListener } from './state.js';
import { StreamQueue } from './stream-queue.js';
import { type SubscribeOptions, Subscription } from './subscription.js';

type Awaitable<T> = T | Promise<T>;

export interface ClientOptions<P extends Protocol<any>> {
  readonly protocol: P;
  /** Server URL, or a function asked again before each connect. */
  readonly url: string | (() => Awaitable<string>);
  /** Sent in the hello, e.g. `{ token }` or `{ apiKey }`. A function is asked again before each connect. */
  readonly credentials?: unknown | (() => Awaitable<unknown>);
  /** Answers a challenge–response handshake. */
  readonly respond?: (challenge: unknown) => Awaitable<unknown>;
  readonly wire?: WireFormat;
  /** How to open a socket; defaults to the global WebSocket, or `ws` on Node 20. */
  readonly connect?: Connector;
  /** Reconnect with backoff after a lost connection (default), or `false` to stay closed. */
  readonly reconnect?: false | BackoffOptions;
  /**
   * Each attempt's socket open plus handshake (up to the welcome) must finish within this, or the
   * attempt fails with cause `timeout` and is retried. Default 10 000 ms.
   */
  readonly connectTimeoutMs?: number;
  /** Timeout for commands that declare none. Default 30 000 ms. */
  readonly callTimeoutMs?: number;
  /**
   * While disconnected: queue calls until connected (default), or fail them at once with
   * NOT_CONNECTED, whose message names the last attempt's cause and whose `data.cause` holds it.
   */
  readonly offline?: 'queue' | 'fail';
  /** Most calls held while disconnected; more fail with NOT_CONNECTED. Default 1000. */
  readonly maxQueuedCalls?: number;
  /** Silence from the server after which it is treated as dead. Default 3 × the server's heartbeat. */
  readonly heartbeatTimeoutMs?: number;
  /**
   * Send this client's contract in the hello, so the server checks compatibility member by member
   * instead of by major version. Off by default: the contract makes the hello a few KB (mind the
   * server's `maxHandshakeBytes`). Without it the hello carries the contract's hash (16 hex digits);
   * a server whose own differs asks for the full contract after authentication, and either way a
   * breaking difference is refused with 4102 naming it (see docs/contracts.md).
   */
  readonly sendContract?: boolean;
  /**
   * How long before the credentials expire the client refreshes them in band (when `credentials` is
   * a function). Default 30 000 ms; `false` turns it off (the session then ends with 4103 and the
   * client reconnects).
   */
  readonly refreshBeforeExpiryMs?: number | false;
  /**
   * Pull-based flow control of streamed commands: the server sends at most this many items beyond
   * those the `for await` loop has consumed. Default 64.
   */
  readonly streamWindow?: number;
  /** Frames the server sent that were not about a call (e.g. BAD_MESSAGE without an id). */
  readonly onServerError?: (error: CallError) => void;
}

/** What a credential refresh leaves the connection with. */
export interface Refreshed {
  readonly principal: { readonly id: string; readonly permissions: readonly string[] };
  readonly expiresAt?: number;
}

export interface CallOptions {
  /** Overrides the command's timeout. */
  readonly timeoutMs?: number;
  /** Aborting cancels the call, on the server too. */
  readonly signal?: AbortSignal;
}

export interface StreamOptions extends CallOptions {
  /** Items the server may send ahead of what this loop has consumed. Default `streamWindow` (64). */
  readonly window?: number;
}

/** Items a stream may run ahead of its consumer when neither the call nor the client says otherwise. */
export const DEFAULT_STREAM_WINDOW = 64;

interface Pending extends Outgoing, Slotted {
  readonly id: CallId;
  /** Rewritten at each send of a channel call: the channel's number belongs to one connection. */
  message: Call | Publish | Reauth | OpenChannel | CloseChannel;
  /** The channel a service call runs on: it is sent only while that channel is open. */
  readonly channel?: Channel<any>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: CallError) => void;
  readonly stream?: StreamQueue<unknown>;
  cleanup(): void;
}

/**
 * A typed client for one protocol, in browsers and on Node.
 *
 * @example
 * const client = createClient({ protocol: api, url: 'ws://localhost:8080', credentials: { apiKey } });
 * const job = await client.call('jobs.queue', { name: 'train', priority: 5 });
 * for await (const line of client.stream('jobs.logs', { id: job.id })) console.log(line.text);
 */
export class Client<P extends Protocol<any>> {
  private stateValue: ConnectionState = 'connecting';
  private readonly stateListeners = new Set<StateListener>();
  private readonly eventListeners = new Map<string, Set<(payload: any) => void>>();
  /** Channel calls waiting for their channel to be (re)opened on the current connection. */
  private readonly channelQueue: Pending[] = [];
  /** Open channels, and the same by their number on the current connection. */
  private readonly channels = new Set<Channel<any>>();
  private readonly channelsByNumber = new Map<number, Channel<any>>();
  private readonly pending = new Map<CallId, Pending>();
  private readonly queue: Pending[] = [];
  private readonly subscriptions = new Set<Subscription>();
  /** Subscriptions by confirmed key, for the current connection. */
  private readonly followed = new Map<string, Subscription>();
  /** Subscribes sent on the current connection and not yet confirmed. */
  private readonly subscribeRequests = new Map<CallId, Subscription>();
  private nextId = 1;
  private socket: Socket | undefined;
  /** The current socket's frames, paced to the server's rate (see outbox.ts). */
  private outbox: Outbox<Pending> = new Outbox(() => {});
  /** The current connection's calls against the server's maxInFlight (see call-slots.ts). */
  private slots = new CallSlots<Pending>();
  /** Bumped per socket so that events from an abandoned socket are ignored. */
  private generation = 0;
  private attempt = 0;
  private welcome: Welcome | undefined;
  private draining = false;
  private redirectUrl: string | undefined;
  private retryAfterMs = 0;
  private lastSeenAt = 0;
  private timers: {
    connect?: ReturnType<typeof setTimeout>;
    retry?: ReturnType<typeof setTimeout>;
    heartbeat?: ReturnType<typeof setInterval>;
    refresh?: ReturnType<typeof setTimeout>;
  } = {};
  private readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private failure: ConnectError | undefined;
  /** Why the last attempt failed, or the last connection was lost; cleared when one opens. */
  private lastFailure: ConnectError | undefined;
  private readonly connectErrorListeners = new Set<ConnectErrorListener>();
  private readonly wire: WireFormat;

  /** Round-trip time of the last ping this client sent, in ms. */
  rttMs: number | undefined;

  constructor(private readonly options: ClientOptions<P>) {
    this.wire = options.wire ?? jsonWire;
    void this.open();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The server's id for the current connection, once open. */
  get connectionId(): string | undefined {
    return this.welcome?.connectionId;
  }

  /** Who the server says we are, and what we may do. */
  get principal(): Welcome['principal'] | undefined {
    return this.welcome?.principal;
  }

  /** Calls `listener` on every state change. Returns a function that stops it. */
  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Calls `listener` after each connect attempt that fails before the welcome, with a ConnectError
   * whose `cause` says why, and whether the client tries again. Returns a function that stops it.
   */
  onConnectError(listener: ConnectErrorListener): () => void {
    this.connectErrorListeners.add(listener);
    return () => this.connectErrorListeners.delete(listener);
  }

  /** Why the last attempt failed (or the last connection was lost), until a connection opens. */
  get lastError(): ConnectError | undefined {
    return this.lastFailure;
  }

  /**
   * Resolves when the client is open; rejects with a ConnectError if it closes for good first, or,
   * given `timeoutMs`, if it is not open by then: that error's `cause` is the last attempt's.
   */
  ready(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.stateValue === 'open') return Promise.resolve();
    if (this.stateValue === 'closed')
      return Promise.reject(this.failure ?? new ConnectError('client is closed'));
    return new Promise((resolve, reject) => {
      const { timeoutMs } = options;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.readyWaiters.splice(this.readyWaiters.indexOf(waiter), 1);
              reject(this.notReady(timeoutMs));
            }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.readyWaiters.push(waiter);
    });
  }

  /** The error of a `ready()` that timed out: the last attempt's cause, or a timeout if none ended yet. */
  private notReady(timeoutMs: number): ConnectError {
    const last = this.lastFailure;
    if (last)
      return new ConnectError(`not open within ${timeoutMs} ms: ${last.message}`, last.closeCode, last.cause);
    const message = `not open within ${timeoutMs} ms (the first attempt is still running)`;
    return new ConnectError(message, undefined, { kind: 'timeout', message });
  }

  /** NOT_CONNECTED for a call made while disconnected, naming the last cause when there is one. */
  private notConnected(why: string): CallError {
    const cause = this.lastFailure?.cause;
    return new CallError(
      'NOT_CONNECTED',
      cause ? `${why}: ${cause.message}` : why,
      cause ? { cause } : undefined,
    );
  }

  /** Runs a command. Rejects with a CallError whose `code` is one of the protocol's or a built-in one. */
  call<K extends CommandName<P>>(
    command: K,
    input: CallInput<P, K>,
    options: CallOptions = {},
  ): Promise<CallOutput<P, K>> {
    return new Promise((resolve, reject) => {
      this.start(command, input, options, resolve as (value: unknown) => void, reject);
    });
  }

  /** Runs a streamed command; leaving the `for await` loop early cancels it on the server. */
  stream<K extends StreamName<P>>(
    command: K,
    input: CallInput<P, K>,
    options: StreamOptions = {},
  ): AsyncIterableIterator<StreamItem<P, K>> {
    return this.openStream(command, input, options) as AsyncIterableIterator<StreamItem<P, K>>;
  }

  /**
   * Opens a channel to one of the protocol's services (goval's openChan). Channels on the same name
   * share one service instance. Reopened by name after a reconnect.
   *
   * @example
   * const doc = await client.openChannel('ot', { name: 'README.md' });
   */
  async openChannel<S extends ServiceName<P>>(
    service: S,
    options: OpenChannelOptions = {},
  ): Promise<ChannelOf<P, S>> {
    if (!this.options.protocol.services.has(service))
      throw new CallError('UNKNOWN_SERVICE', `unknown service "${service}"`);
    const action = options.action ?? (options.name ? 'attachOrCreate' : 'create');
    // The channel is registered the moment `opened` arrives: events the service sends right after
    // it (a chat's scrollback and roster) are held until the caller has added its listeners.
    const channel = await this.request<Channel<ServiceDef>>(
      'open',
      (id) => ({ type: 'open', id, service, ...(options.name ? { name: options.name } : {}), action }),
      (opened: ChannelOpened) => {
        const made = new Channel<ServiceDef>(this.channelLink, service, options.name, opened);
        this.channels.add(made);
        this.channelsByNumber.set(made.number, made);
        return made;
      },
    );
    return channel as ChannelOf<P, S>;
  }

  /** What channels call back into: calls, streams and closes on a channel's current number. */
  private readonly channelLink: ChannelLink = {
    callOnChannel: (channel, command, input, options) =>
      new Promise((resolve, reject) => {
        this.start(command, input, options, resolve, reject, undefined, channel);
      }),
    streamOnChannel: (channel, command, input, options) => this.openStream(command, input, options, channel),
    closeChannel: async (channel, action) => {
      const closed = await this.request<ChannelClosed>('closeChannel', (id) => ({
        type: 'closeChannel',
        id,
        channel: channel.number,
        action,
      }));
      this.forgetChannel(channel);
      return closed.status;
    },
  };

  private forgetChannel(channel: Channel<any>): void {
    this.channels.delete(channel);
    if (this.channelsByNumber.get(channel.number) === channel) this.channelsByNumber.delete(channel.number);
    for (const pending of this.channelQueue.filter((waiting) => waiting.channel === channel)) {
      this.fail(pending, new CallError('CHANNEL_CLOSED', `channel ${channel.number} closed`));
    }
  }

  /** Sends the calls that waited for a channel to be reopened. */
  private flushChannel(channel: Channel<any>): void {
    for (const pending of this.channelQueue.filter((waiting) => waiting.channel === channel)) {
      this.channelQueue.splice(this.channelQueue.indexOf(pending), 1);
      this.transmit(pending);
    }
  }

  /**
   * Sends a control request (open, closeChannel) and resolves with the server's whole answer, or with
   * what `settle` makes of it: `settle` runs as the answer is read, before any later frame.
   */
  private request<T>(
    what: 'open' | 'closeChannel',
    build: (id: CallId) => OpenChannel | CloseChannel,
    settle: (answer: any) => T = (answer) => answer as T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue(
        build,
        what,
        this.options.callTimeoutMs ?? 30_000,
        {},
        (answer) => resolve(settle(answer)),
        reject,
      );
    });
  }

  /** After a reconnect: every named channel is opened again on its name; unnamed ones are gone. */
  private reopenChannels(): void {
    for (const channel of [...this.channels]) {
      if (!channel.name) {
        this.forgetChannel(channel);
        channel.closed('close');
        continue;
      }
      this.request<void>(
        'open',
        (id) => ({
          type: 'open',
          id,
          service: channel.service,
          name: channel.name!,
          action: 'attachOrCreate',
        }),
        (opened: ChannelOpened) => {
          channel.number = opened.channel;
          channel.session = opened.session;
          channel.state = opened.state;
          this.channelsByNumber.set(opened.channel, channel);
          this.flushChannel(channel);
          channel.reopened();
        },
      ).catch(() => {
        this.forgetChannel(channel);
        channel.closed('close');
      });
    }
  }

  private openStream(
    command: string,
    input: unknown,
    options: StreamOptions,
    channel?: Channel<any>,
  ): AsyncIterableIterator<unknown> {
    let pending: Pending | undefined;
    const window = options.window ?? this.options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    let consumed = 0;
    const queue = new StreamQueue<unknown>(
      () => pending && this.abandon(pending, true),
      () => {
        // Credit in batches of half a window: the server never idles, and credits stay few.
        if (++consumed < Math.ceil(window / 2) || !pending || !pending.sent) return;
        if (this.pending.get(pending.id) === pending && this.stateValue === 'open')
          this.sendMessage({ type: 'credit', id: pending.id, items: consumed });
        consumed = 0;
      },
    );
    pending = this.start(
      command,
      input,
      { ...options, window } satisfies StreamOptions,
      () => queue.end(),
      (error) => queue.fail(error),
      queue,
      channel,
    );
    return queue;
  }

  /** Listens to a server event. Returns a function that stops listening. */
  on<E extends EventName<P>>(event: E, listener: (payload: EventPayload<P, E>) => void): () => void {
    if (!this.options.protocol.events.has(event)) throw new TypeError(`unknown event "${event}"`);
    const set = this.eventListeners.get(event) ?? new Set();
    this.eventListeners.set(event, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Follows a topic. Survives reconnects: the client resubscribes from its last position and the
   * server fills the gap in order; if history no longer covers it, `onGap` says so.
   *
   * @example
   * const sub = client.subscribe('jobs.logs', { jobId }, (line) => print(line), { from: { last: 100 } });
   */
  subscribe<T extends TopicName<P>>(
    topic: T,
    params: TopicParams<P, T>,
    listener: (payload: TopicPayload<P, T>, position: Position) => void,
    options: SubscribeOptions = {},
  ): Subscription<TopicPayload<P, T>> {
    if (!this.options.protocol.topics.has(topic)) throw new TypeError(`unknown topic "${topic}"`);
    const subscription = new Subscription<TopicPayload<P, T>>(topic, params, listener, options, (s) =>
      this.unfollow(s as unknown as Subscription),
    );
    this.subscriptions.add(subscription as Subscription);
    if (this.stateValue === 'open') this.follow(subscription as Subscription);
    else if (this.stateValue === 'closed')
      this.refuse(subscription as Subscription, new CallError('NOT_CONNECTED', 'client is closed'));
    return subscription;
  }

  /**
   * Presents fresh credentials on the live connection, without reconnecting: calls in flight and
   * subscriptions carry on. Without an argument, `options.credentials` is asked again. Resolves with
   * the new principal and expiry; rejects with UNAUTHENTICATED (the old credentials then hold until
   * they expire). Subscriptions the new permissions no longer allow end with PERMISSION_DENIED.
   * Clients whose `credentials` is a function do this on their own before expiry.
   */
  async refresh(credentials?: unknown): Promise<Refreshed> {
    const given = this.options.credentials;
    const resolved = credentials ?? (typeof given === 'function' ? await given() : given);
    return new Promise((resolve, reject) => {
      this.enqueue(
        (id) => ({ type: 'reauth', id, credentials: resolved }),
        'refresh',
        this.options.callTimeoutMs ?? 30_000,
        {},
        (value) => {
          const refreshed = value as Refreshed;
          if (this.welcome)
            this.welcome = {
              ...this.welcome,
              principal: refreshed.principal,
              ...(refreshed.expiresAt === undefined ? {} : { expiresAt: refreshed.expiresAt }),
            };
          this.scheduleRefresh(refreshed.expiresAt);
          resolve(refreshed);
        },
        reject,
      );
    });
  }

  /** Arms the automatic refresh `refreshBeforeExpiryMs` ahead of `expiresAt`, when credentials can be asked again. */
  private scheduleRefresh(expiresAt: number | undefined): void {
    clearTimeout(this.timers.refresh);
    const margin = this.options.refreshBeforeExpiryMs ?? 30_000;
    if (expiresAt === undefined || margin === false || typeof this.options.credentials !== 'function') return;
    const generation = this.generation;
    const delay = Math.max(0, expiresAt - margin - Date.now());
    this.timers.refresh = setTimeout(
      () => {
        if (generation !== this.generation || this.stateValue !== 'open') return;
        this.refresh().catch((error: CallError) => {
          // The session still ends at expiry (4103) and the reconnect asks for credentials again.
          this.options.onServerError?.(error);
        });
      },
      Math.min(delay, 2_147_483_647),
    );
  }

  /** Publishes on a topic the protocol lets clients publish on; resolves with the position. */
  publish<T extends TopicName<P>>(
    topic: T,
    params: TopicParams<P, T>,
    payload: TopicInput<P, T>,
    options: CallOptions = {},
  ): Promise<Position> {
    return new Promise((resolve, reject) => {
      this.enqueue(
        (id) => ({ type: 'publish', id, topic, params, payload }),
        `publish on ${topic}`,
        options.timeoutMs ?? this.options.callTimeoutMs ?? 30_000,
        options,
        resolve as (value: unknown) => void,
        reject,
      );
    });
  }

  private follow(subscription: Subscription): void {
    const id = this.nextId++;
    this.subscribeRequests.set(id, subscription);
    const from = subscription.position ?? subscription.options.from;
    this.sendMessage({
      type: 'subscribe',
      id,
      topic: subscription.topic,
      params: subscription.params,
      ...(from ? { from } : {}),
    });
  }

  private unfollow(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
    const key = subscription.key;
    if (key === undefined || this.followed.get(key) !== subscription) return;
    this.followed.delete(key);
    if (this.stateValue === 'open') this.sendMessage({ type: 'unsubscribe', id: this.nextId++, key });
  }

  private refuse(subscription: Subscription, error: CallError): void {
    subscription.active = false;
    this.subscriptions.delete(subscription);
    subscription.settle(error);
    subscription.options.onError?.(error);
  }

  private subscribed(message: Subscribed): void {
    const subscription = this.subscribeRequests.get(message.id);
    if (!subscription) return;
    this.subscribeRequests.delete(message.id);
    if (!subscription.active) {
      this.sendMessage({ type: 'unsubscribe', id: this.nextId++, key: message.key });
      return;
    }
    const previous = subscription.position;
    const resumedAt = { epoch: message.epoch, offset: message.offset };
    subscription.key = message.key;
    subscription.position = resumedAt;
    this.followed.set(message.key, subscription);
    if (message.members) {
      subscription.members.clear();
      for (const member of message.members) subscription.members.set(member.connectionId, member);
    }
    if (message.snapshot !== undefined) subscription.options.onSnapshot?.(message.snapshot);
    subscription.settle();
    if (message.gap) subscription.options.onGap?.({ reason: message.gap, from: previous, resumedAt });
  }

  private published(message: PublicationMessage): void {
    const subscription = this.followed.get(message.key);
    if (!subscription) return;
    const last = subscription.position;
    // Recovery may overlap what was already delivered: each publication reaches the application once.
    if (last && last.epoch === message.epoch && message.offset <= last.offset) return;
    subscription.position = { epoch: message.epoch, offset: message.offset };
    if (last && last.epoch !== message.epoch) {
      // The broker lost its history under a live subscription (a restart without persistence):
      // whatever the old epoch held past `last` is gone, and the application must hear it.
      subscription.options.onGap?.({
        reason: 'epoch',
        from: last,
        resumedAt: { epoch: message.epoch, offset: message.offset - 1 },
      });
    }
    if (message.skipped) {
      subscription.options.onGap?.({
        reason: 'dropped',
        from: last,
        resumedAt: subscription.position,
        missed: message.skipped,
      });
    }
    try {
      subscription.listener(message.payload, subscription.position);
    } catch (error) {
      setTimeout(() => {
        throw error;
      });
    }
  }

  /** Closes for good: running and queued calls fail with NOT_CONNECTED. */
  close(): void {
    if (this.stateValue === 'closed') return;
    this.failure = new ConnectError('client closed');
    const socket = this.socket;
    this.detach();
    socket?.close(CLOSE_CODES.NORMAL.code, 'client closed');
    this.shutDown(new CallError('NOT_CONNECTED', 'client closed'), 1000, 'client closed');
  }

  private start(
    command: string,
    input: unknown,
    options: StreamOptions,
    resolve: (value: unknown) => void,
    reject: (error: CallError) => void,
    stream?: StreamQueue<unknown>,
    channel?: Channel<any>,
  ): Pending | undefined {
    const def = channel
      ? this.options.protocol.services.get(channel.service)?.commands.get(command)
      : this.options.protocol.commands.get(command);
    if (!def) {
      reject(new CallError('UNKNOWN_COMMAND', `unknown command "${command}"`));
      return undefined;
    }
    const timeoutMs =
      options.timeoutMs ??
      def.timeoutMs ??
      (def.kind === 'command' ? (this.options.callTimeoutMs ?? 30_000) : undefined);
    // One key for every retry of this call: the server answers a retry with the first run's outcome.
    const idempotencyKey =
      def.kind === 'command' && def.idempotent ? globalThis.crypto.randomUUID() : undefined;
    const window = def.kind === 'stream' ? options.window : undefined;
    return this.enqueue(
      (id) => ({
        type: 'call',
        id,
        command,
        input,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        ...(window ? { window } : {}),
        ...(channel ? { channel: channel.number } : {}),
      }),
      command,
      timeoutMs,
      options,
      resolve,
      reject,
      stream,
      channel,
    );
  }

  /** Sends a request now, or queues it while offline; fails it on timeout, abort or a closed client. */
  private enqueue(
    build: (id: CallId) => Call | Publish | Reauth | OpenChannel | CloseChannel,
    what: string,
    timeoutMs: number | undefined,
    options: CallOptions,
    resolve: (value: unknown) => void,
    reject: (error: CallError) => void,
    stream?: StreamQueue<unknown>,
    channel?: Channel<any>,
  ): Pending | undefined {
    if (options.signal?.aborted) {
      reject(new CallError('CANCELLED', 'aborted before it was sent'));
      return undefined;
    }
    if (this.stateValue === 'closed') {
      const cause = this.failure?.cause;
      reject(
        new CallError(
          'NOT_CONNECTED',
          this.failure?.message ?? 'client is closed',
          cause ? { cause } : undefined,
        ),
      );
      return undefined;
    }
    const id = this.nextId++;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => this.fail(pending, this.timedOut(pending, what, timeoutMs), true), timeoutMs);
    const onAbort = () => this.fail(pending, new CallError('CANCELLED', 'cancelled by the caller'), true);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const pending: Pending = {
      id,
      message: build(id),
      resolve,
      reject,
      ...(stream ? { stream } : {}),
      ...(channel ? { channel } : {}),
      sent: false,
      sentAt: 0,
      holdsSlot: false,
      cleanup() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      },
    };
    this.pending.set(id, pending);
    if (channel && !this.channelReady(channel)) {
      // The channel is being reopened after a reconnect: the call waits for it, as others wait offline.
      if ((this.options.offline ?? 'queue') === 'fail')
        this.fail(pending, this.notConnected(`channel ${channel.number} is not open right now`));
      else this.channelQueue.push(pending);
    } else if (this.stateValue === 'open' && !this.draining) this.transmit(pending);
    else if ((this.options.offline ?? 'queue') === 'fail')
      this.fail(pending, this.notConnected('not connected'));
    else if (this.queue.length >= (this.options.maxQueuedCalls ?? 1000)) {
      this.fail(pending, this.notConnected('not connected and the offline queue is full'));
    } else this.queue.push(pending);
    return pending;
  }

  /** TIMEOUT; for a call that never left because the client could not connect, with the cause. */
  private timedOut(pending: Pending, what: string, timeoutMs: number): CallError {
    const message = `${what} timed out after ${timeoutMs} ms`;
    const cause = this.lastFailure?.cause;
    if (pending.sent || !cause || this.stateValue === 'open') return new CallError('TIMEOUT', message);
    return new CallError('TIMEOUT', `${message} (not connected: ${cause.message})`, { cause });
  }

  /** Whether a channel's calls can go now: the client is open and the channel attached on this connection. */
  private channelReady(channel: Channel<any>): boolean {
    return (
      this.stateValue === 'open' && !this.draining && this.channelsByNumber.get(channel.number) === channel
    );
  }

  private transmit(pending: Pending): void {
    if (pending.message.type === 'call' && !pending.holdsSlot && !this.slots.admit(pending)) return;
    const frame = this.frameOf(pending);
    if (frame !== undefined) this.outbox.send(frame, pending);
  }

  /** Encodes a request for the current connection; fails it (and returns nothing) if it cannot go. */
  private frameOf(pending: Pending): Frame | undefined {
    if (pending.channel && pending.message.type === 'call')
      pending.message = { ...pending.message, channel: pending.channel.number };
    let frame: Frame | null;
    try {
      frame = this.wire.encode(pending.message);
    } catch (error) {
      this.fail(
        pending,
        new CallError('INVALID_INPUT', `input cannot be encoded: ${(error as Error).message}`),
      );
      return undefined;
    }
    if (frame === null) {
      this.fail(pending, new CallError('UNKNOWN_COMMAND', `wire ${this.wire.name} cannot carry calls`));
      return undefined;
    }
    const max = this.welcome?.limits.maxMessageBytes ?? Number.POSITIVE_INFINITY;
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so most frames need no exact (allocating) count.
    const size =
      typeof frame !== 'string'
        ? frame.byteLength
        : frame.length * 3 <= max
          ? 0
          : new TextEncoder().encode(frame).byteLength;
    if (size > max) {
      this.fail(
        pending,
        new CallError('TOO_LARGE', `call of ${size} bytes exceeds the server's limit of ${max} bytes`),
      );
      return undefined;
    }
    return frame;
  }

  /** Ends a call with an error; `tellServer` sends a cancel if the call had gone out. */
  private fail(pending: Pending, error: CallError, tellServer = false): void {
    if (!this.abandon(pending, tellServer)) return;
    pending.reject(error);
  }

  /** Forgets a call; returns false if it had already ended. */
  private abandon(pending: Pending, tellServer: boolean): boolean {
    if (this.pending.get(pending.id) !== pending) return false;
    this.pending.delete(pending.id);
    pending.cleanup();
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) this.queue.splice(queued, 1);
    const waiting = this.channelQueue.indexOf(pending);
    if (waiting >= 0) this.channelQueue.splice(waiting, 1);
    // Still in the outbox: it never reaches the server, so there is nothing to cancel there.
    this.outbox.remove(pending);
    for (const next of this.slots.release(pending)) this.transmit(next);
    if (tellServer && pending.sent && this.stateValue === 'open')
      this.sendMessage({ type: 'cancel', id: pending.id });
    return true;
  }

  private sendMessage(message: Message): void {
    const frame = this.wire.encode(message);
    if (frame !== null) this.outbox.send(frame);
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    let socket: Socket;
    try {
      const url =
        this.redirectUrl ??
        (typeof this.options.url === 'function' ? await this.options.url() : this.options.url);
      this.redirectUrl = undefined;
      // Checked before any await for a string URL: a bad one closes the client in its constructor.
      const invalid = invalidUrl(url, this.options.connect !== undefined);
      if (invalid) return this.lost(generation, 1006, invalid.message, invalid);
      const connect = this.options.connect ?? (await defaultConnector());
      if (generation !== this.generation) return;
      socket = connect(url);
    } catch (error) {
      const message = `could not connect: ${(error as Error).message}`;
      this.lost(generation, 1006, message, { kind: 'network', message });
      return;
    }
    this.socket = socket;
    this.outbox = new Outbox((frame) => socket.send(frame));
    this.slots = new CallSlots();
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 10_000;
    this.timers.connect = setTimeout(() => {
      socket.close(CLOSE_CODES.HANDSHAKE_TIMEOUT.code, 'handshake timeout');
      const message = `not connected within ${connectTimeoutMs} ms`;
      const code = CLOSE_CODES.HANDSHAKE_TIMEOUT.code;
      this.lost(generation, code, message, { kind: 'timeout', message, closeCode: code });
    }, connectTimeoutMs);
    socket.listen({
      open: () => void this.hello(generation),
      message: (frame) => {
        if (generation === this.generation) this.receive(frame);
      },
      close: (code, reason, cause) => this.lost(generation, code, reason, cause),
    });
  }

  private async hello(generation: number): Promise<void> {
    try {
      const { credentials } = this.options;
      const resolved = typeof credentials === 'function' ? await credentials() : credentials;
      if (generation !== this.generation) return;
      this.sendMessage({
        type: 'hello',
        protocol: this.options.protocol.name,
        version: this.options.protocol.version,
        ...(resolved === undefined ? {} : { credentials: resolved }),
        ...(this.options.sendContract
          ? { contract: cachedContract(this.options.protocol) }
          : { contractHash: cachedContractHash(this.options.protocol) }),
      });
    } catch (error) {
      this.socket?.close(CLOSE_CODES.NORMAL.code, 'no credentials');
      this.lost(
        generation,
        CLOSE_CODES.HANDSHAKE_FAILED.code,
        `credentials failed: ${(error as Error).message}`,
      );
    }
  }

  private receive(frame: Frame): void {
    this.lastSeenAt = Date.now();
    let decoded: Decoded;
    try {
      decoded = this.wire.decode(frame);
    } catch (error) {
      // A custom wire's decoder that throws loses this frame, not the client.
      decoded = {
        ok: false,
        error: { code: 'BAD_MESSAGE', message: String((error as Error)?.message ?? error) },
      };
    }
    if (!decoded.ok) {
      this.options.onServerError?.(
        new CallError('BAD_MESSAGE', `undecodable frame from the server: ${decoded.error.message}`),
      );
      return;
    }
    const message = decoded.message;
    switch (message.type) {
      case 'opened':
      case 'channelClosed': {
        if (message.type === 'channelClosed' && message.id === undefined) {
          // Another session closed the instance: this channel closed with it.
          const channel = this.channelsByNumber.get(message.channel);
          if (channel) {
            this.forgetChannel(channel);
            channel.closed('close');
          }
          return;
        }
        const pending = message.id === undefined ? undefined : this.pending.get(message.id);
        if (!pending || !this.abandon(pending, false)) return;
        pending.resolve(message);
        return;
      }
      case 'result':
      case 'end': {
        const pending = this.pending.get(message.id);
        if (!pending || !this.abandon(pending, false)) return;
        pending.resolve(message.type === 'result' ? message.output : undefined);
        return;
      }
      case 'item':
        this.pending.get(message.id)?.stream?.push(message.item);
        return;
      case 'error': {
        const error = new CallError<ErrorCode<P>>(
          message.code as ErrorCode<P>,
          message.message,
          message.data,
          message.traceId,
        );
        const pending = message.id === undefined ? undefined : this.pending.get(message.id);
        const subscription = message.id === undefined ? undefined : this.subscribeRequests.get(message.id);
        if (pending && message.code === 'RATE_LIMITED' && pending.sent) this.rateLimited(pending, error);
        else if (pending) this.fail(pending, error);
        else if (subscription && message.id !== undefined) {
          this.subscribeRequests.delete(message.id);
          this.refuse(subscription, error);
        } else this.options.onServerError?.(error);
        return;
      }
      case 'event': {
        if (message.channel !== undefined) {
          const local = message.event.slice(message.event.indexOf('.') + 1);
          this.channelsByNumber.get(message.channel)?.deliver(local, message.payload, message.session);
          return;
        }
        const listeners = this.eventListeners.get(message.event);
        if (!listeners) return;
        for (const listener of listeners) {
          try {
            listener(message.payload);
          } catch (error) {
            // A listener's bug must not stop the others or the connection; surface it like an uncaught error.
            setTimeout(() => {
              throw error;
            });
          }
        }
        return;
      }
      case 'ping':
        this.sendMessage({ type: 'pong', ts: message.ts, at: Date.now() });
        return;
      case 'pong':
        this.rttMs = Math.max(0, Date.now() - message.ts);
        return;
      case 'challenge':
        void this.answer(message.challenge, this.generation);
        return;
      case 'contractRequest':
        // Our contract's hash differed from the server's: it compares the two in full. Asked once, before the welcome.
        if (!this.welcome)
          this.sendMessage({ type: 'contract', contract: cachedContract(this.options.protocol) });
        return;
      case 'welcome':
        this.opened(message);
        return;
      case 'subscribed':
        this.subscribed(message);
        return;
      case 'publication':
        this.published(message);
        return;
      case 'presence': {
        const subscription = this.followed.get(message.key);
        if (!subscription) return;
        // Changes can overlap the roster sent with `subscribed`: report only real changes.
        const known = subscription.members.has(message.member.connectionId);
        if (message.change === 'join' ? known : !known) return;
        if (message.change === 'join') subscription.members.set(message.member.connectionId, message.member);
        else subscription.members.delete(message.member.connectionId);
        subscription.options.onPresence?.(
          { change: message.change, member: message.member },
          subscription.members,
        );
        return;
      }
      case 'unsubscribed': {
        const subscription = this.followed.get(message.key);
        if (!subscription) return;
        this.followed.delete(message.key);
        this.refuse(subscription, new CallError(message.code, message.reason));
        return;
      }
      case 'goodbye':
        // Calls already sent may still finish; new ones wait for the next connection.
        this.draining = true;
        this.redirectUrl = message.reconnectUrl;
        this.retryAfterMs = message.retryAfterMs ?? 0;
        return;
      default:
        return;
    }
  }

  /**
   * The server was over its rate when `refused` arrived, and drops every frame after it until its
   * debt is paid: all sends are held for its `retryAfterMs` plus the frames already sent since (each
   * deepened the debt). Idempotent calls among them go again after the hold, first and in order, with
   * their keys; `refused` itself fails with RATE_LIMITED; the others sent since fail with RATE_LIMITED
   * (`data.inDoubt`: the server may have run them) and are cancelled on the server.
   */
  private rateLimited(refused: Pending, error: CallError): void {
    const data = error.data as { retryAfterMs?: unknown } | undefined;
    const retryAfterMs = typeof data?.retryAfterMs === 'number' ? data.retryAfterMs : 0;
    const inDoubt = [...this.pending.values()]
      .filter((pending) => pending.sent && pending.sentAt > refused.sentAt)
      .sort((a, b) => a.sentAt - b.sentAt);
    this.outbox.hold(retryAfterMs, this.outbox.sentSince(refused), Date.now());
    const again: [Frame, Pending][] = [];
    for (const pending of [refused, ...inDoubt]) {
      if (pending.message.type === 'call' && pending.message.idempotencyKey !== undefined) {
        const frame = this.frameOf(pending);
        if (frame !== undefined) again.push([frame, pending]);
      } else if (pending === refused) this.fail(pending, error);
      else {
        const doubt = new CallError(
          'RATE_LIMITED',
          'sent while the server was over its rate: it was probably dropped, and cancelled in case it ran',
          { retryAfterMs, inDoubt: true },
        );
        this.fail(pending, doubt, true);
      }
    }
    this.outbox.sendFirst(again);
  }

  private async answer(challenge: unknown, generation: number): Promise<void> {
    const respond = this.options.respond;
    if (!respond) {
      this.socket?.close(CLOSE_CODES.NORMAL.code, 'cannot answer a challenge');
      this.lost(
        generation,
        CLOSE_CODES.HANDSHAKE_FAILED.code,
        'the server sent a challenge and no `respond` option is set',
      );
      return;
    }
    try {
      const response = await respond(challenge);
      if (generation === this.generation) this.sendMessage({ type: 'auth', response });
    } catch (error) {
      this.socket?.close(CLOSE_CODES.NORMAL.code, 'challenge failed');
      this.lost(
        generation,
        CLOSE_CODES.HANDSHAKE_FAILED.code,
        `could not answer the challenge: ${(error as Error).message}`,
      );
    }
  }

  private opened(welcome: Welcome): void {
    clearTimeout(this.timers.connect);
    this.welcome = welcome;
    this.attempt = 0;
    this.lastFailure = undefined;
    this.draining = false;
    this.retryAfterMs = 0;
    this.outbox.start(welcome.limits, Date.now());
    this.slots.start(welcome.limits.maxInFlight);
    this.setState('open');
    const generation = this.generation;
    const timeoutMs = this.options.heartbeatTimeoutMs ?? welcome.heartbeatMs * 3;
    this.timers.heartbeat = setInterval(
      () => {
        if (Date.now() - this.lastSeenAt > timeoutMs) {
          // A dead peer may never complete a closing handshake: give up on the socket now.
          this.socket?.terminate();
          this.lost(
            generation,
            CLOSE_CODES.HEARTBEAT_TIMEOUT.code,
            `nothing from the server for ${timeoutMs} ms`,
          );
        } else this.sendMessage({ type: 'ping', ts: Date.now() });
      },
      Math.min(welcome.heartbeatMs, timeoutMs / 2),
    );
    this.scheduleRefresh(welcome.expiresAt);
    this.reopenChannels();
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    for (const pending of this.queue.splice(0)) this.transmit(pending);
    for (const subscription of this.subscriptions) this.follow(subscription);
  }

  /**
   * The socket of `generation` is gone, or never came: fail what it carried, then reconnect or close
   * for good. `cause` says why when known; otherwise it is the close code and reason.
   */
  private lost(generation: number, code: number, reason: string, cause?: ConnectCause): void {
    if (generation !== this.generation || this.stateValue === 'closed') return;
    const failedAttempt = this.stateValue !== 'open';
    const why = cause ?? causeOfClose(code, reason);
    this.lastFailure = connectErrorOf(why);
    const unsent = [...this.outbox.close(), ...this.slots.close()];
    // The slots were this connection's: whatever is sent again takes one on the next.
    for (const pending of this.pending.values()) pending.holdsSlot = false;
    this.detach();
    const reconnect = this.options.reconnect;
    const retry =
      reconnect !== false &&
      causeRetries(why) &&
      this.attempt < (reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY);
    const sent = [...this.pending.values()].filter((pending) => pending.sent);
    const error = new CallError('DISCONNECTED', `connection lost (${code}${reason ? ` ${reason}` : ''})`);
    for (const pending of sent) {
      const message = pending.message;
      if (retry && message.type === 'call' && message.idempotencyKey !== undefined) {
        // Safe to send again after the reconnect (a channel's once it is reopened), within its timeout.
        pending.sent = false;
        (pending.channel ? this.channelQueue : this.queue).push(pending);
      } else this.fail(pending, error);
    }
    // Never written: they go with the next connection, like calls made while offline, in call order.
    for (const pending of unsent) (pending.channel ? this.channelQueue : this.queue).push(pending);
    this.queue.sort(byId);
    this.channelQueue.sort(byId);
    if (!retry) {
      this.failure = this.lastFailure;
      if (failedAttempt) this.tellConnectError({ attempt: this.attempt + 1, retrying: false });
      this.shutDown(this.notConnected('not connected'), code, reason, why);
      return;
    }
    const delay = Math.max(
      this.retryAfterMs,
      why.retryAfterMs ?? 0,
      this.redirectUrl ? 0 : backoffDelay(this.attempt, reconnect || {}),
    );
    this.attempt++;
    this.draining = false;
    if (failedAttempt) this.tellConnectError({ attempt: this.attempt, retrying: true, delayMs: delay });
    this.setState('reconnecting', { code, reason, cause: why });
    this.timers.retry = setTimeout(() => void this.open(), delay);
  }

  private tellConnectError(attempt: Parameters<ConnectErrorListener>[1]): void {
    const error = this.lastFailure;
    if (!error) return;
    for (const listener of this.connectErrorListeners) {
      try {
        listener(error, attempt);
      } catch (thrown) {
        // A listener's bug must not stop the reconnect loop: rethrown outside it.
        setTimeout(() => {
          throw thrown;
        });
      }
    }
  }

  private detach(): void {
    this.outbox.close();
    this.slots.close();
    this.channelsByNumber.clear();
    this.generation++;
    this.followed.clear();
    this.subscribeRequests.clear();
    this.socket = undefined;
    this.welcome = undefined;
    clearTimeout(this.timers.connect);
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.heartbeat);
    clearTimeout(this.timers.refresh);
  }

  private shutDown(error: CallError, code: number, reason: string, cause?: ConnectCause): void {
    for (const pending of [...this.pending.values()]) this.fail(pending, error);
    this.setState('closed', { code, reason, ...(cause ? { cause } : {}) });
    const failure = this.failure ?? new ConnectError(reason, code);
    for (const subscription of [...this.subscriptions]) this.refuse(subscription, error);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(failure);
  }

  private setState(state: ConnectionState, detail?: StateDetail): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener(state, detail);
  }
}

/** Creates a client and starts connecting. */
export function createClient<P extends Protocol<any>>(options: ClientOptions<P>): Client<P> {
  return new Client(options);
}

/** Call ids are this client's counter: their order is the order calls were made. */
const byId = (a: Pending, b: Pending) => Number(a.id) - Number(b.id);

/** The typed channel of service `S` of protocol `P`. */
export type ChannelOf<P, S> = ServiceOf<P, S> extends infer D extends ServiceDef ? Channel<D> : never;
