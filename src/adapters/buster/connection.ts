import { randomUUID } from 'node:crypto';
import { RequestError } from '../../protocol/errors.js';
import { firstMissing } from '../../protocol/permissions.js';
import { describeIssues, validate } from '../../protocol/schema.js';
import type { Pusher } from '../../server/handlers.js';
import type { Logger } from '../../server/logger.js';
import { TokenBucket } from '../../server/rate-limit.js';
import type { Socket, UpgradeRequest } from '../../transport/socket.js';
import { decodeRequest, encodeResponse } from '../../wire/buster/codec.js';
import { toWsErrorCode } from '../../wire/buster/error-codes.js';
import type { WsError, WsResponseMessage, WsSentBy } from '../../wire/buster/message.js';
import { protocolEvent } from '../../wire/buster/routes.js';
import type { Frame } from '../../wire/format.js';
import type { BusterUser } from './auth.js';
import { type StreamBus, StreamBusError, type StreamReader } from './bus.js';
import { GzipQueue } from './compression.js';
import { shouldDeliver } from './filter.js';
import type { BusterContext, StreamMessage } from './handlers.js';
import { type BusterRefusal, refusalFrame } from './refusals.js';
import type { BoundRoute, WsRouter } from './router.js';
import { BUSTER_CLOSE, type BusterSettings, PING_PAYLOAD } from './settings.js';
import {
  consumerName,
  type EntryOptions,
  KEY_VALUE_TTL_SECONDS,
  readWsMessage,
  sendWsMessage,
  subscribeToStream,
  unsubscribeFromStream,
  userGroupName,
} from './streams.js';

/** How long a closed socket may take to answer the close frame before it is dropped. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Dropped frames (unparsable, binary, unknown route) one connection may log; the rest are counted
 * and the count is logged once when the connection ends, so a flooder cannot fill the disk.
 */
export const MAX_DROP_LINES_PER_CONNECTION = 20;

/** What every connection of one Buster server shares. */
export interface BusterRuntime {
  readonly bus: StreamBus;
  readonly router: WsRouter;
  readonly settings: BusterSettings;
  readonly logger: Logger;
  readonly validateOutput: boolean;
  readonly pusher: Pusher<any>;
  /** Called once the connection has left every stream (or failed to join its own). */
  closed(connection: BusterConnection): void;
}

/**
 * One WebSocket of an authenticated user, run as Buster's `ws.rs` runs it: a consumer group
 * `user:<userId>:<uuid>` on every stream it follows (its personal stream `<userId>` first), a
 * reader loop that delivers what the `send_method` filter lets through, each request run on its
 * own, server pings, and on close every stream left. Ours on top: every frame takes a token,
 * requests running at once are capped, replies are gzipped within a bound, and whatever throws
 * while this connection is served closes this connection alone (1011, trace id in the log).
 */
export class BusterConnection {
  readonly id = randomUUID();
  /** `user:<userId>:<uuid4>`. */
  readonly userGroup: string;
  /** `consumer:<uuid4>`. */
  readonly consumer: string;
  /** The streams this connection follows (Buster's SubscriptionRwLock). */
  readonly subscriptions = new Set<string>();
  /** Resolves once the personal stream is followed; requests wait for it so no response is lost. */
  readonly ready: Promise<void>;
  /** Resolves once the connection has closed and left every stream. */
  readonly done: Promise<void>;
  private closed = false;
  /** Dropped frames logged so far, and those past MAX_DROP_LINES_PER_CONNECTION only counted. */
  private dropLines = 0;
  private dropsUnlogged = 0;
  private finished!: () => void;
  private readonly reader: StreamReader;
  private readonly calls = new Set<AbortController>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastTextAt = Date.now();
  private wakeSleep: (() => void) | undefined;
  /** Requests admitted and not yet finished (waiting for `ready` included). */
  private inFlight = 0;
  private readonly bucket: TokenBucket;
  /** No RATE_LIMITED reply before this time: one per debt period, not one per refused frame. */
  private quietUntil = 0;
  private readonly entryOptions: EntryOptions;

  constructor(
    private readonly runtime: BusterRuntime,
    private readonly socket: Socket,
    readonly request: UpgradeRequest,
    readonly user: BusterUser,
  ) {
    this.userGroup = userGroupName(user.id, randomUUID());
    this.consumer = consumerName(randomUUID());
    this.reader = runtime.bus.reader();
    const { settings } = runtime;
    this.bucket = new TokenBucket(settings.ratePerSecond, settings.rateBurst, Date.now());
    this.entryOptions = {
      gzip: new GzipQueue(settings.maxCompressions, settings.syncGzipMaxBytes),
      maxDepth: settings.maxDepth,
    };
    this.done = new Promise((resolve) => {
      this.finished = resolve;
    });
    socket.listen({
      message: (frame) => this.receive(frame),
      pong: () => this.pong(),
      close: () => this.shutdown(),
    });
    this.ready = subscribeToStream(runtime.bus, this.subscriptions, user.id, this.userGroup, user.id);
    this.ready.then(
      () => {
        if (!this.closed) this.readLoop().catch((error) => this.fault('stream delivery', error));
      },
      (error) => {
        runtime.logger.error('could not follow the personal stream', { userId: user.id, error });
        this.close(BUSTER_CLOSE.STREAM_UNAVAILABLE.code, BUSTER_CLOSE.STREAM_UNAVAILABLE.reason);
      },
    );
    this.startLiveness();
  }

  /** The principal as Switchboard handlers see it. */
  get principal() {
    return { id: this.user.id, permissions: this.user.permissions, attributes: { name: this.user.name } };
  }

  /** `sent_by` of everything this connection's user sends. */
  get sentBy(): WsSentBy {
    return { id: this.user.id, name: this.user.name };
  }

  /**
   * Sends a text frame straight to this socket (deliveries, refusals, pushes to one connection).
   * A peer that lets more than `maxBufferedBytes` pile up is dropped with 4201.
   */
  sendText(text: string): void {
    if (this.closed) return;
    this.socket.send(text);
    if (this.socket.bufferedAmount > this.runtime.settings.maxBufferedBytes)
      this.closeWith(BUSTER_CLOSE.SLOW_CONSUMER);
  }

  /** Follows a stream on this connection; rejects with DISCONNECTED once the connection is closed. */
  async subscribe(stream: string): Promise<void> {
    if (this.closed) throw new RequestError('DISCONNECTED', 'connection closed');
    await subscribeToStream(this.runtime.bus, this.subscriptions, stream, this.userGroup, this.user.id);
    // Closed while the group was being made: leave again, or the group would outlive the connection.
    if (this.closed && this.subscriptions.has(stream)) await this.unsubscribe(stream);
  }

  /** Leaves a stream, with Buster's cleanup when this was its last group. */
  unsubscribe(stream: string): Promise<void> {
    return unsubscribeFromStream(this.runtime.bus, this.subscriptions, stream, this.userGroup, this.user.id);
  }

  /**
   * Closes the socket and starts leaving every stream; `done` resolves when that is over. Frames
   * that still arrive are ignored at once; the socket is dropped after CLOSE_GRACE_MS whether the
   * peer answered or not (sooner would lose the close frame behind what a peer that is not reading
   * has not taken yet).
   */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref?.();
    this.shutdown();
  }

  private closeWith(close: { readonly code: number; readonly reason: string }): void {
    this.close(close.code, close.reason);
  }

  /**
   * Closes with 1011 after something threw while this connection was served: the cause goes to
   * the log under a trace id that the close reason ends with; no other connection is touched.
   */
  private fault(what: string, error: unknown): void {
    const traceId = randomUUID();
    try {
      this.runtime.logger.error('connection failed', { traceId, connectionId: this.id, what, error });
    } catch {
      // A logger that throws must not undo the isolation: the close below still happens.
    }
    const { code, reason } = BUSTER_CLOSE.INTERNAL_ERROR;
    this.close(code, `${reason} (trace ${traceId})`);
  }

  private receive(frame: Frame): void {
    if (this.closed) return;
    try {
      this.admit(frame);
    } catch (error) {
      this.fault('a frame', error);
    }
  }

  /** The rate limit first (before decoding), then the frame, the route and the in-flight cap. */
  private admit(frame: Frame): void {
    const now = Date.now();
    const { settings, router } = this.runtime;
    // Only client text counts against the idle limit, as in Buster; binary frames are ignored.
    if (typeof frame === 'string') this.lastTextAt = now;
    const debt = this.bucket.take(now);
    if (debt > settings.rateBurst) {
      this.closeWith(BUSTER_CLOSE.RATE_LIMIT_ABUSE);
      return;
    }
    if (debt > 0) {
      if (now >= this.quietUntil) this.refuseForRate(frame, now);
      return;
    }
    const decoded = decodeRequest(frame, { maxDepth: settings.maxDepth });
    if (!decoded.ok) {
      const tooDeep = decoded.tooDeep?.route === undefined ? undefined : router.find(decoded.tooDeep.route);
      if (tooDeep) {
        this.refuse('BAD_MESSAGE', tooDeep);
        return;
      }
      // Buster drops unparsable and binary frames without a reply.
      this.logDrop('dropped a frame', { reason: decoded.error.message });
      return;
    }
    const { route, payload } = decoded.request;
    const bound = router.find(route);
    if (!bound) {
      // Buster's ws_router fails to parse the route, logs it, and answers nothing.
      this.logDrop('unknown route', { route: route.slice(0, 200) });
      return;
    }
    if (this.inFlight >= settings.maxInFlight) {
      this.refuse('TOO_MANY_IN_FLIGHT', bound);
      return;
    }
    this.inFlight++;
    // Each request runs on its own, as Buster spawns a task per message.
    this.ready
      .then(
        () => this.run(bound, payload),
        () => {
          // The connection is closing: the personal stream never came up.
        },
      )
      .catch((error) => this.fault(`a request to ${bound.route}`, error))
      .finally(() => {
        this.inFlight--;
      });
  }

  /** The first frame refused in a debt period is answered (when it names a known route); the rest are dropped. */
  private refuseForRate(frame: Frame, now: number): void {
    const decoded = decodeRequest(frame, { maxDepth: this.runtime.settings.maxDepth });
    const route = decoded.ok ? decoded.request.route : decoded.tooDeep?.route;
    const bound = route === undefined ? undefined : this.runtime.router.find(route);
    if (!bound) return;
    const retryAfterMs = this.bucket.retryAfterMs();
    this.quietUntil = now + retryAfterMs;
    this.refuse('RATE_LIMITED', bound, retryAfterMs);
  }

  /**
   * Refusals go straight to this socket, not through the personal stream (ours): they are about this
   * connection, and a flood of them must cost neither a gzip nor a stream entry per frame.
   */
  private refuse(refusal: BusterRefusal, bound: BoundRoute, retryAfterMs?: number): void {
    this.sendText(refusalFrame(refusal, bound, this.sentBy, { ...this.runtime.settings, retryAfterMs }));
  }

  private async run(bound: BoundRoute, payload: unknown): Promise<void> {
    if (this.closed) return;
    const controller = new AbortController();
    this.calls.add(controller);
    // As in the core: a command without a timeout gets the default; a stream runs until it ends.
    const timeoutMs =
      bound.def.timeoutMs ??
      (bound.def.kind === 'command' ? this.runtime.settings.defaultCallTimeoutMs : undefined);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              controller.abort(new RequestError('TIMEOUT', `${bound.route} timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
    try {
      const outcome = this.execute(bound, payload, controller.signal);
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      // An abort after the route finished rejects this unobserved promise: nothing to report then.
      aborted.catch(() => {});
      outcome.catch(() => {});
      await Promise.race([outcome, aborted]);
    } catch (error) {
      if (!this.closed) await this.respondError(bound, error);
    } finally {
      clearTimeout(timer);
      this.calls.delete(controller);
    }
  }

  private async execute(bound: BoundRoute, payload: unknown, signal: AbortSignal): Promise<void> {
    const missing = firstMissing(this.user.permissions, bound.permissions);
    if (missing)
      throw new RequestError('PERMISSION_DENIED', `${bound.route} requires permission "${missing}"`);
    const parsed = await settle(validate(bound.def.input, payload));
    if (!parsed.ok) {
      throw new RequestError(
        'INVALID_INPUT',
        `invalid payload for ${bound.route}: ${describeIssues(parsed.issues)}`,
      );
    }
    const ctx = this.context(bound, signal);
    if (bound.def.kind === 'stream') {
      const source = bound.handler(parsed.value, ctx) as AsyncIterable<unknown> | Iterable<unknown>;
      // Buster has no streamed routes: each item becomes one response on the personal stream (ours).
      for await (const item of source) {
        if (signal.aborted || this.closed) return;
        await this.respond(bound, await this.checked(bound.def.item, item, `item of ${bound.route}`));
      }
      return;
    }
    const output = await bound.handler(parsed.value, ctx);
    if (signal.aborted || this.closed) return;
    await this.respond(bound, await this.checked(bound.def.output, output, `output of ${bound.route}`));
  }

  private async checked(schema: BoundRoute['def']['input'], value: unknown, what: string): Promise<unknown> {
    if (!this.runtime.validateOutput) return value;
    const checked = await settle(validate(schema, value));
    if (!checked.ok) throw new Error(`${what} does not match its schema: ${describeIssues(checked.issues)}`);
    return checked.value;
  }

  /** A handler's result: to the caller's personal stream, `SenderOnly`, sent by the caller. */
  private respond(bound: BoundRoute, payload: unknown): Promise<void> {
    return this.write(this.user.id, {
      route: bound.route,
      event: bound.event,
      payload: payload === undefined ? null : payload,
      sent_by: this.sentBy,
      error: null,
      send_method: 'SenderOnly',
    });
  }

  /** Buster's `send_error_message`: payload null, the mapped code, to the personal stream. */
  private respondError(bound: BoundRoute, error: unknown): Promise<void> {
    let wsError: WsError;
    if (error instanceof RequestError) {
      wsError = { code: toWsErrorCode(error.code), message: error.message };
    } else {
      const traceId = randomUUID();
      this.runtime.logger.error('route failed', {
        traceId,
        connectionId: this.id,
        route: bound.route,
        error,
      });
      // The cause stays in the log: the client gets the trace id to quote.
      wsError = { code: 'INTERNAL_SERVER_ERROR', message: `Internal server error (trace ${traceId})` };
    }
    return this.write(this.user.id, {
      route: bound.route,
      event: bound.event,
      payload: null,
      sent_by: this.sentBy,
      error: wsError,
      send_method: 'SenderOnly',
    });
  }

  /**
   * Writes to a stream. An unreachable bus loses the message, as it would in Buster, and says so in
   * the log; anything else (a message nested too deep to be read back) rejects, so that a result
   * becomes an INTERNAL_SERVER_ERROR reply instead of vanishing.
   */
  private async write(stream: string, message: WsResponseMessage): Promise<void> {
    try {
      await sendWsMessage(this.runtime.bus, stream, message, this.entryOptions);
    } catch (error) {
      if (!(error instanceof StreamBusError)) throw error;
      this.runtime.logger.error('could not write to a stream', { connectionId: this.id, stream, error });
    }
  }

  private context(bound: BoundRoute, signal: AbortSignal): BusterContext<any> {
    const connection = this;
    const { bus, pusher } = this.runtime;
    return {
      connection: { id: this.id, principal: this.principal, request: this.request },
      principal: this.principal,
      command: bound.command,
      signal,
      // Buster's routes do not run server middleware: nothing to hand over.
      locals: {},
      server: pusher,
      user: this.user,
      route: bound.route,
      event: bound.event,
      subscriptions: this.subscriptions,
      push(event, payload) {
        // Buster's responses reach the caller through its personal stream; so do pushes (ours).
        connection
          .write(connection.user.id, {
            route: bound.route,
            event: protocolEvent(event),
            payload: payload ?? null,
            sent_by: connection.sentBy,
            error: null,
            send_method: 'SenderOnly',
          })
          .catch((error) =>
            // push() returns nothing to fail: the push is lost and the log says why.
            connection.runtime.logger.error('could not push', { connectionId: connection.id, event, error }),
          );
      },
      fail(code, message, data) {
        throw new RequestError(code, message, data);
      },
      async send(stream: string, message: StreamMessage) {
        await sendWsMessage(
          bus,
          stream,
          {
            route: message.route ?? bound.route,
            event: message.event ?? bound.event,
            payload: message.payload === undefined ? null : message.payload,
            sent_by: connection.sentBy,
            error: message.error ?? null,
            send_method: message.sendMethod ?? 'SenderOnly',
          },
          connection.entryOptions,
        );
      },
      subscribe: (stream) => this.subscribe(stream),
      unsubscribe: (stream) => this.unsubscribe(stream),
      setKeyValue: (key, value) => bus.set(key, value, KEY_VALUE_TTL_SECONDS),
      getKeyValue: (key) => bus.get(key),
      deleteKeyValue: (key) => bus.del(key),
    };
  }

  /**
   * XREADGROUP over every followed stream; BLOCK starts at 5 ms, grows ×1.5 while nothing comes,
   * up to 30 s, and drops back after any entry. Subscribing writes `new_subscription` to the
   * personal stream, which ends a long BLOCK so the next read includes the new stream.
   */
  private async readLoop(): Promise<void> {
    const { settings, logger } = this.runtime;
    let block = settings.initialBlockMs;
    while (!this.closed) {
      const streams = [...this.subscriptions];
      if (streams.length === 0) return;
      let entries: Awaited<ReturnType<StreamReader['read']>>;
      try {
        entries = await this.reader.read(this.userGroup, this.consumer, streams, settings.readCount, block);
      } catch (error) {
        if (this.closed) return;
        logger.warn('stream read failed; subscribing again', { connectionId: this.id, error });
        block = Math.min(Math.ceil(block * settings.blockGrowth), settings.maxBlockMs);
        await this.resubscribe();
        // Waits before the next try so an unreachable Redis is not hammered (ours).
        await this.sleep(block);
        continue;
      }
      if (entries.length === 0) {
        block = Math.min(Math.ceil(block * settings.blockGrowth), settings.maxBlockMs);
        continue;
      }
      block = settings.initialBlockMs;
      for (const entry of entries) {
        const message = await readWsMessage(entry.fields, this.entryOptions);
        if (this.closed) return;
        if (message && shouldDeliver(message, this.user.id)) this.sendText(encodeResponse(message));
      }
    }
  }

  /** On a read error Buster subscribes every stream again (a lost group comes back with `$`). */
  private async resubscribe(): Promise<void> {
    for (const stream of [...this.subscriptions]) {
      if (this.closed) return;
      try {
        await this.subscribe(stream);
      } catch (error) {
        this.runtime.logger.warn('could not subscribe again', { connectionId: this.id, stream, error });
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private startLiveness(): void {
    const { pingIntervalMs, pongTimeoutMs, idleTimeoutMs } = this.runtime.settings;
    this.pingTimer = setInterval(() => {
      try {
        this.socket.ping?.(PING_PAYLOAD);
      } catch (error) {
        this.fault('a ping', error);
        return;
      }
      this.pongTimer ??= setTimeout(
        () => this.close(BUSTER_CLOSE.PONG_TIMEOUT.code, BUSTER_CLOSE.PONG_TIMEOUT.reason),
        pongTimeoutMs,
      );
    }, pingIntervalMs);
    const checkIdle = () => {
      const left = this.lastTextAt + idleTimeoutMs - Date.now();
      if (left <= 0) this.close(BUSTER_CLOSE.IDLE.code, BUSTER_CLOSE.IDLE.reason);
      else this.idleTimer = setTimeout(checkIdle, left);
    };
    this.idleTimer = setTimeout(checkIdle, idleTimeoutMs);
  }

  private pong(): void {
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  /** Logs a dropped frame at `info` within this connection's budget; past it, only counts it. */
  private logDrop(message: string, fields: Record<string, unknown>): void {
    if (this.dropLines >= MAX_DROP_LINES_PER_CONNECTION) {
      this.dropsUnlogged++;
      return;
    }
    this.dropLines++;
    this.runtime.logger.info(message, { connectionId: this.id, ...fields });
  }

  /** Runs once: stop timers and calls, end the read, leave every stream (the personal one last). */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dropsUnlogged > 0)
      this.runtime.logger.info('dropped frames not logged', {
        connectionId: this.id,
        suppressed: this.dropsUnlogged,
      });
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.idleTimer);
    this.wakeSleep?.();
    for (const call of this.calls) call.abort(new RequestError('DISCONNECTED', 'connection closed'));
    this.reader.close();
    void this.leaveAll().finally(() => {
      this.runtime.closed(this);
      this.finished();
    });
  }

  private async leaveAll(): Promise<void> {
    // Settle the personal subscription first so it is not created after we leave.
    await this.ready.catch(() => {});
    // The personal stream goes last: leaving the others writes `removed_subscription` to it.
    const others = [...this.subscriptions].filter((stream) => stream !== this.user.id);
    for (const stream of [...others, this.user.id]) {
      if (!this.subscriptions.has(stream)) continue;
      try {
        await this.unsubscribe(stream);
      } catch (error) {
        this.runtime.logger.warn('could not leave a stream', { connectionId: this.id, stream, error });
      }
    }
  }
}

async function settle<T>(result: T | Promise<T>): Promise<T> {
  return result;
}
