import type {
  ServiceCallInput,
  ServiceCallOutput,
  ServiceCommandName,
  ServiceDef,
  ServiceEventName,
  ServiceEventPayload,
  ServiceStreamItem,
  ServiceStreamName,
} from '../protocol/define.js';
import { CallError } from '../protocol/errors.js';
import type { CloseAction, OpenAction } from '../wire/message.js';

/** Events held for a channel before its opener could listen; more are dropped. */
const MAX_HELD_EVENTS = 1000;

/** How to open a channel. */
export interface OpenChannelOptions {
  /** Channels on the same name share one service instance. Default: a new, unnamed instance. */
  readonly name?: string;
  /** Default `attachOrCreate` with a name, `create` without. */
  readonly action?: OpenAction;
}

/** What an event listener learns besides the payload. */
export interface ChannelEventMeta {
  /** The goval session rule the event was sent under: 0 all, < 0 all but one, > 1 only that one. */
  readonly session: number | undefined;
}

/** The client's side of what a Channel needs; implemented by Client. */
export interface ChannelLink {
  callOnChannel(
    channel: Channel<any>,
    command: string,
    input: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<unknown>;
  streamOnChannel(
    channel: Channel<any>,
    command: string,
    input: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal; window?: number },
  ): AsyncIterableIterator<unknown>;
  closeChannel(channel: Channel<any>, action: CloseAction): Promise<'disconnect' | 'close' | 'nothing'>;
}

/**
 * An open channel to a service instance: typed calls, streams and events of that service. After a
 * reconnect the client opens it again on the same name (attach or create) and `number` may change;
 * calls made while it is reopening fail with NOT_CONNECTED.
 *
 * @example
 * const room = await client.openChannel('chat', { name: 'general' });
 * room.on('message', ({ username, text }) => console.log(username, text));
 * await room.call('send', { text: 'hello' });
 */
export class Channel<D extends ServiceDef> {
  /** The channel number on the current connection (goval's channel id). */
  number: number;
  /** This attachment's session id in the instance. */
  session: number;
  /** Whether the last open created the instance or attached to an existing one. */
  state: 'created' | 'attached';
  open = true;
  private readonly listeners = new Map<string, Set<(payload: unknown, meta: ChannelEventMeta) => void>>();
  private readonly closeListeners = new Set<(status: 'close' | 'disconnect' | 'nothing') => void>();
  private readonly reopenListeners = new Set<() => void>();
  /**
   * Events that arrive between `opened` and the caller's first chance to listen (the `await` of
   * `openChannel` resumes a turn later) are held and delivered then, in order. Bounded.
   */
  private held: [string, unknown, number | undefined][] | undefined = [];

  /** @internal made by `client.openChannel` */
  constructor(
    private readonly link: ChannelLink,
    readonly service: string,
    /** The instance name the channel was opened on (reopened with it after a reconnect). */
    readonly name: string | undefined,
    opened: { channel: number; session: number; state: 'created' | 'attached' },
  ) {
    this.number = opened.channel;
    this.session = opened.session;
    this.state = opened.state;
    // A macrotask: it runs after the promise continuation that adds the caller's listeners.
    setTimeout(() => {
      const held = this.held ?? [];
      this.held = undefined;
      for (const [event, payload, session] of held) this.deliver(event, payload, session);
    }, 0);
  }

  call<K extends ServiceCommandName<D>>(
    command: K,
    input: ServiceCallInput<D, K>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ServiceCallOutput<D, K>> {
    if (!this.open)
      return Promise.reject(new CallError('CHANNEL_CLOSED', `channel ${this.number} is closed`));
    return this.link.callOnChannel(this, command, input, options) as Promise<ServiceCallOutput<D, K>>;
  }

  stream<K extends ServiceStreamName<D>>(
    command: K,
    input: ServiceCallInput<D, K>,
    options: { timeoutMs?: number; signal?: AbortSignal; window?: number } = {},
  ): AsyncIterableIterator<ServiceStreamItem<D, K>> {
    return this.link.streamOnChannel(this, command, input, options) as AsyncIterableIterator<
      ServiceStreamItem<D, K>
    >;
  }

  /** Listens to an event of the service on this channel. Returns a function that stops listening. */
  on<E extends ServiceEventName<D>>(
    event: E,
    listener: (payload: ServiceEventPayload<D, E>, meta: ChannelEventMeta) => void,
  ): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const entry = listener as (payload: unknown, meta: ChannelEventMeta) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  /**
   * Called each time the channel is open again after a reconnect (same object, maybe a new number and
   * session): events sent while it was away are lost, so a listener catches up here (e.g. `fetch`).
   */
  onReopen(listener: () => void): () => void {
    this.reopenListeners.add(listener);
    return () => this.reopenListeners.delete(listener);
  }

  /** @internal */
  reopened(): void {
    for (const listener of this.reopenListeners) {
      try {
        listener();
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  /** Called once when the channel closes: by `close()`, or because another session closed the instance. */
  onClose(listener: (status: 'close' | 'disconnect' | 'nothing') => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /**
   * Leaves the channel: `disconnect` (leave, the instance goes on), `tryClose` (close the instance if no
   * other session is attached, else leave; the default), `close` (close it for everyone).
   */
  async close(action: CloseAction = 'tryClose'): Promise<'disconnect' | 'close' | 'nothing'> {
    if (!this.open) return 'nothing';
    const status = await this.link.closeChannel(this, action);
    this.closed(status);
    return status;
  }

  /** @internal */
  deliver(event: string, payload: unknown, session: number | undefined): void {
    if (this.held) {
      if (this.held.length < MAX_HELD_EVENTS) this.held.push([event, payload, session]);
      return;
    }
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(payload, { session });
      } catch (error) {
        // A listener's bug must not stop the others; surface it like an uncaught error.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  /** @internal */
  closed(status: 'close' | 'disconnect' | 'nothing'): void {
    if (!this.open) return;
    this.open = false;
    for (const listener of this.closeListeners) listener(status);
  }
}
