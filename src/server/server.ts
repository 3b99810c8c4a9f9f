import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Broker, Position } from '../broker/broker.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from '../broker/idempotency.js';
import { MemoryBroker } from '../broker/memory.js';
import { CLOSE_CODES } from '../protocol/close-codes.js';
import { cachedContract, cachedContractHash } from '../protocol/contract-hash.js';
import type {
  EventName,
  EventPayload,
  Protocol,
  ServiceDef,
  ServiceName,
  ServiceOf,
  TopicInput,
  TopicName,
  TopicParams,
} from '../protocol/define.js';
import { RequestError } from '../protocol/errors.js';
import { normalisePermissions } from '../protocol/permissions.js';
import { describeIssues, validate } from '../protocol/schema.js';
import type {
  ServerTransport,
  Socket,
  UpgradeRefusal,
  UpgradeRequest,
  VerifyUpgrade,
} from '../transport/socket.js';
import { wsServerTransport } from '../transport/ws-server.js';
import { DEFAULT_MAX_DEPTH } from '../wire/bounded-json.js';
import type { Frame, WireFormat } from '../wire/format.js';
import { jsonWire, jsonWireFormat } from '../wire/json.js';
import { Admission, type Ticket } from './admission.js';
import { anonymous } from './auth/anonymous.js';
import type { Authenticator } from './auth/authenticator.js';
import { ChannelHub } from './channels.js';
import { Connection } from './connection.js';
import { newTraceId } from './errors.js';
import { EventLog } from './event-log.js';
import type { ConnectionInfo, Handlers, Pusher } from './handlers.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { DEFAULT_LOG_BUDGET, type LogBudget } from './log-events.js';
import { consoleLogger, type Logger } from './logger.js';
import type { Middleware } from './middleware.js';
import { type RecordedMessage, Recording, type RecordingOptions } from './recording.js';
import type { Route, Runtime } from './runtime.js';
import type { ServiceImplementation } from './service-types.js';
import { TopicHub } from './topics.js';

export interface ServerOptions<P extends Protocol<any>> {
  readonly protocol: P;
  readonly handlers: Handlers<P>;
  /** Listen on this port (0 for any free one). One of `port`, `server` or `transport` is required. */
  readonly port?: number;
  readonly host?: string;
  /** Attach to an existing node:http server instead of listening on a port. */
  readonly server?: HttpServer;
  /** Upgrade path, e.g. `/ws`; any path when unset. */
  readonly path?: string;
  /**
   * Runs before each upgrade, from the HTTP request alone; a refusal is answered with its status,
   * headers and body and no WebSocket is made (the agent-sandbox and Buster seeds refuse this way).
   */
  readonly verifyUpgrade?: VerifyUpgrade;
  /** A custom transport, e.g. `memoryTransport().server` in tests. */
  readonly transport?: ServerTransport;
  /** Defaults to the native JSON wire. */
  readonly wire?: WireFormat;
  /** Defaults to `anonymous()`: everyone in, no permissions. */
  readonly auth?: Authenticator;
  readonly limits?: Partial<Limits>;
  readonly logger?: Logger;
  /** How many connection-event lines may be written per window (see docs/observability.md); default DEFAULT_LOG_BUDGET. */
  readonly logBudget?: Partial<LogBudget>;
  /** Check handler outputs and stream items against their schemas (a mismatch is INTERNAL). Default true. */
  readonly validateOutput?: boolean;
  /**
   * Functions around every call and stream, outermost first (Koa-style `async (call, next) => …`),
   * after the permission check and input validation; see docs/server.md#middleware.
   */
  readonly middleware?: readonly Middleware[];
  /**
   * Traffic recording (goval's VCR). `inBand`: clients may start and read a recording of their own
   * connection with the `$vcr.start` / `$vcr.read` / `$vcr.stop` commands (goval's startVCR / readVCR);
   * off by default. The server can always record with `server.startRecording(connectionId)`.
   */
  readonly recording?: { readonly inBand?: boolean; readonly maxEntries?: number };
  /**
   * Implementations of the protocol's services, by name: `{ chat: chat(), files: files({ root }) }`.
   * A service without one cannot be opened (UNKNOWN_SERVICE).
   */
  readonly services?: ServiceImplementations<P>;
  /** Where topic publications live; default an in-process MemoryBroker. Use the Redis broker for several nodes. */
  readonly broker?: Broker;
  /** Called after a handshake completes, and when an open connection closes. */
  readonly onConnect?: (connection: ConnectionInfo) => void;
  readonly onDisconnect?: (connection: ConnectionInfo, code: number, reason: string) => void;
}

export interface CloseOptions {
  /** How long running calls may go on; then they are aborted with UNAVAILABLE. Default `limits.shutdownGraceMs`. */
  readonly graceMs?: number;
  /** Sent in the goodbye so clients reconnect there (goval's redirect). */
  readonly reconnectUrl?: string;
  readonly reason?: string;
}

/** A running Switchboard server. */
export class Server<P extends Protocol<any>> implements Pusher<P> {
  private readonly connections = new Map<string, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  /** Identifies this process among the nodes sharing a distributed broker. */
  private readonly nodeId = randomUUID();
  /** Per user with connections here: how to stop listening for that user's pushes from other nodes. */
  private readonly userFeeds = new Map<string, Promise<() => Promise<void>>>();
  private readonly runtime: Runtime;
  private readonly topics: TopicHub;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private shuttingDown = false;
  private readonly idempotency: IdempotencyStore;
  private readonly channels: ChannelHub;
  private closing: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  private readonly admission: Admission;
  /** Each accepted connection's place in the admission counts. */
  private readonly tickets = new WeakMap<Connection, Ticket>();

  /** @internal use {@link createServer} */
  constructor(
    private readonly options: ServerOptions<P>,
    private readonly transport: ServerTransport,
    readonly limits: Limits,
  ) {
    const server = this;
    this.admission = new Admission(limits);
    const logger = options.logger ?? consoleLogger;
    this.runtime = {
      protocol: options.protocol,
      get contract() {
        return cachedContract(options.protocol);
      },
      get contractHash() {
        return cachedContractHash(options.protocol);
      },
      // The default wire takes its depth bound from the limits; a wire passed in brings its own.
      wire: options.wire ?? (limits.maxDepth === DEFAULT_MAX_DEPTH ? jsonWire : jsonWireFormat(limits)),
      limits,
      logger,
      events: new EventLog(logger, { ...DEFAULT_LOG_BUDGET, ...options.logBudget }),
      auth: options.auth ?? anonymous(),
      routes: bindRoutes(options.protocol, options.handlers),
      validateOutput: options.validateOutput ?? true,
      middleware: options.middleware?.length ? [...options.middleware] : undefined,
      pusher: this,
      get shuttingDown() {
        return server.shuttingDown;
      },
      get topics() {
        return server.topics;
      },
      get idempotency() {
        return server.idempotency;
      },
      get channels() {
        return server.channels;
      },
      recording: { inBand: options.recording?.inBand ?? false, maxEntries: options.recording?.maxEntries },
      opened: (connection) => this.register(connection),
      closed: (connection, code, reason) => this.unregister(connection, code, reason),
      abused: (connection) => {
        const ticket = this.tickets.get(connection);
        if (ticket) this.admission.abused(ticket, Date.now());
      },
      released: (connection) => {
        const ticket = this.tickets.get(connection);
        if (ticket) this.admission.release(ticket);
      },
      admitPrincipal: (connection, principalId) => {
        const ticket = this.tickets.get(connection);
        return ticket && this.admission.admitPrincipal(ticket, principalId, Date.now());
      },
      settled: () => {
        if (this.idle && this.runningCalls() === 0) this.idle();
      },
    };
    const broker =
      options.broker ??
      new MemoryBroker({
        onListenerError: (error, key) =>
          this.runtime.logger.error('a broker listener threw', { traceId: newTraceId(), key, error }),
      });
    this.idempotency = broker.idempotency ?? new MemoryIdempotencyStore();
    this.topics = new TopicHub(this.runtime, broker);
    this.channels = new ChannelHub(
      this.runtime,
      (options.services ?? {}) as Record<string, ServiceImplementation<ServiceDef, unknown>>,
    );
    this.heartbeat = setInterval(() => this.sweep(), limits.heartbeatMs);
    this.heartbeat.unref?.();
  }

  /** @internal */
  accept(socket: Socket, request: UpgradeRequest): void {
    const { remoteAddress } = request;
    if (this.shuttingDown) {
      const reason = 'server shutting down';
      this.runtime.events.write(
        'connection.closed',
        { remoteAddress },
        { code: CLOSE_CODES.SERVICE_RESTART.code, reason, byServer: true },
      );
      socket.close(CLOSE_CODES.SERVICE_RESTART.code, reason);
      return;
    }
    const ticket = this.admission.accept(remoteAddress, Date.now());
    if (!ticket) {
      const reason = 'over a connection limit';
      this.runtime.events.write(
        'admission.refused',
        { remoteAddress },
        { code: CLOSE_CODES.TRY_AGAIN_LATER.code, reason },
      );
      socket.close(CLOSE_CODES.TRY_AGAIN_LATER.code, reason);
      socket.terminate();
      return;
    }
    this.tickets.set(new Connection(this.runtime, socket, request), ticket);
  }

  /**
   * @internal Runs before each upgrade: the connection limits first (cheap, and they must hold
   * whatever the application's check does), then the application's `verifyUpgrade`.
   */
  verifyUpgrade(request: UpgradeRequest): ReturnType<VerifyUpgrade> {
    const limited = this.admission.checkUpgrade(request.remoteAddress, Date.now());
    if (limited) return this.logRefusal(request, limited, 'a connection limit');
    return this.logRefusal(request, this.options.verifyUpgrade?.(request), 'verifyUpgrade');
  }

  /** Logs a refusal, once settled, as `upgrade.refused`, and passes the verdict on unchanged. */
  private logRefusal(
    request: UpgradeRequest,
    verdict: ReturnType<VerifyUpgrade>,
    by: string,
  ): ReturnType<VerifyUpgrade> {
    if (verdict instanceof Promise)
      return verdict.then((refusal) => refusal && this.refusedUpgrade(request, refusal, by));
    return verdict && this.refusedUpgrade(request, verdict, by);
  }

  /** Logs an upgrade refusal (`upgrade.refused`) and passes it on. */
  private refusedUpgrade(request: UpgradeRequest, refusal: UpgradeRefusal, by: string): UpgradeRefusal {
    this.runtime.events.write(
      'upgrade.refused',
      { remoteAddress: request.remoteAddress },
      { status: refusal.status, reason: refusal.body ?? by, by },
    );
    return refusal;
  }

  /** The port listened on, when the server listens on one. */
  get port(): number | undefined {
    const transport = this.transport as { port?: () => number };
    return transport.port?.();
  }

  /** `ws://host:port/path` for clients on this machine. */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    // IPv6 literals need brackets in URLs; wildcard binds are reached on loopback.
    const reachable =
      host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    return `ws://${reachable}:${this.port}${this.options.path ?? ''}`;
  }

  /**
   * How far behind a connection is: bytes waiting on its socket, and publications its topics'
   * back-pressure policies hold for it. Undefined for an unknown connection.
   */
  backlog(connectionId: string): { bufferedBytes: number; heldPublications: number } | undefined {
    const connection = this.connections.get(connectionId);
    if (!connection) return undefined;
    return { bufferedBytes: connection.bufferedAmount, heldPublications: this.topics.heldFor(connection) };
  }

  /** Starts recording a connection's traffic (or one channel's); replaces a recording already running. */
  startRecording(connectionId: string, options: RecordingOptions = {}): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.recording = new Recording(options);
    return true;
  }

  /** The entries recorded so far on a connection; `stop` ends the recording. */
  readRecording(connectionId: string, stop = false): RecordedMessage[] | undefined {
    const connection = this.connections.get(connectionId);
    const entries = connection?.recording?.entries;
    if (stop && connection) connection.recording = undefined;
    return entries;
  }

  /** Open connections (handshake completed). */
  list(): ConnectionInfo[] {
    return [...this.connections.values()];
  }

  pushTo<E extends EventName<P>>(connectionId: string, event: E, payload: EventPayload<P, E>): number {
    // Encoded (and so validated) even with no recipient: a bad payload is a bug wherever it goes.
    const frame = this.encodeEvent(event, payload);
    const connection = this.connections.get(connectionId);
    if (!connection) return 0;
    connection.sendFrame(frame);
    return 1;
  }

  pushToUser<E extends EventName<P>>(userId: string, event: E, payload: EventPayload<P, E>): number {
    const frame = this.encodeEvent(event, payload);
    if (this.topics.broker.distributed) {
      // Other nodes deliver to their own connections of this user; ours are served right here.
      this.topics.broker
        .publish(userFeedKey(userId), { origin: this.nodeId, event, payload })
        .catch((error) => {
          this.runtime.logger.error('could not forward a push to other nodes', {
            traceId: newTraceId(),
            userId,
            error,
          });
        });
    }
    const connections = this.byUser.get(userId);
    if (!connections?.size) return 0;
    const utf8 = sharedText(frame, connections.size);
    for (const connection of connections) connection.sendFrame(frame, utf8);
    return connections.size;
  }

  broadcast<E extends EventName<P>>(event: E, payload: EventPayload<P, E>): number {
    const frame = this.encodeEvent(event, payload);
    const utf8 = sharedText(frame, this.connections.size);
    for (const connection of this.connections.values()) connection.sendFrame(frame, utf8);
    return this.connections.size;
  }

  /**
   * Publishes on a topic from backend code. Resolves with the publication's position; rejects with a
   * RequestError (`UNKNOWN_TOPIC`, `INVALID_INPUT`, or `UNAVAILABLE` when the broker is unreachable).
   *
   * @example await server.publish('jobs.logs', { jobId: '42' }, { text: 'step 1' });
   */
  publish<T extends TopicName<P>>(
    topic: T,
    params: TopicParams<P, T>,
    payload: TopicInput<P, T>,
  ): Promise<Position> {
    return this.topics.publish(topic, params, payload);
  }

  /** The broker the server publishes through. */
  get broker(): Broker {
    return this.topics.broker;
  }

  /**
   * Graceful shutdown: stop accepting, say goodbye (with where to reconnect), refuse new calls
   * with UNAVAILABLE, let running calls finish within the grace period, then close with 1012.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    // Not awaited yet: `ws` reports itself closed only once every socket is gone.
    const stopped = this.transport.stop();
    const reason = options.reason ?? 'server shutting down';
    for (const connection of this.connections.values()) {
      connection.send({
        type: 'goodbye',
        reason,
        ...(options.reconnectUrl ? { reconnectUrl: options.reconnectUrl } : {}),
      });
    }
    const graceMs = options.graceMs ?? this.limits.shutdownGraceMs;
    if (this.runningCalls() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const connection of this.connections.values()) {
      for (const controller of connection.inFlight.values()) {
        controller.abort(
          new RequestError('UNAVAILABLE', `server shut down before the call finished (${graceMs} ms grace)`),
        );
      }
      connection.close(CLOSE_CODES.SERVICE_RESTART.code, reason);
    }
    await stopped;
    // Services finish detaching and disposing (a last save, say) before close resolves.
    await this.channels.settled();
    // Counts of lines dropped by the log budget are not lost with the process.
    this.runtime.events.flush();
  }

  private runningCalls(): number {
    let running = 0;
    for (const connection of this.connections.values()) running += connection.inFlight.size;
    return running;
  }

  private encodeEvent(event: string, payload: unknown): Frame {
    const def = this.options.protocol.events.get(event);
    if (!def) throw new TypeError(`unknown event "${event}"`);
    const checked = validate(def.payload, payload);
    if (checked instanceof Promise)
      throw new TypeError(`event "${event}" has an async schema; events need a synchronous one`);
    if (!checked.ok)
      throw new TypeError(`payload of event "${event}" is invalid: ${describeIssues(checked.issues)}`);
    const frame = this.runtime.wire.encode({ type: 'event', event, payload: checked.value });
    if (frame === null) throw new TypeError(`wire ${this.runtime.wire.name} cannot carry event "${event}"`);
    return frame;
  }

  private register(connection: Connection): void {
    const ticket = this.tickets.get(connection);
    if (ticket) this.admission.welcomed(ticket);
    this.connections.set(connection.id, connection);
    const userId = connection.principal.id;
    const set = this.byUser.get(userId) ?? new Set();
    this.byUser.set(userId, set);
    set.add(connection);
    if (this.topics.broker.distributed && !this.userFeeds.has(userId)) {
      const feed = this.topics.broker.subscribe(userFeedKey(userId), (publication) => {
        const push = publication.payload as { origin: string; event: string; payload: unknown };
        if (push.origin === this.nodeId) return;
        let frame: Frame | null;
        try {
          frame = this.runtime.wire.encode({ type: 'event', event: push.event, payload: push.payload });
        } catch (error) {
          // Validated and encoded on the node that pushed; a node on another wire may still fail.
          this.runtime.logger.error('could not encode a push from another node', {
            traceId: newTraceId(),
            userId,
            error,
          });
          return;
        }
        const recipients = this.byUser.get(userId) ?? [];
        if (frame !== null)
          for (const local of recipients) local.guarded('sending a push', () => local.sendFrame(frame));
      });
      feed.catch((error) =>
        this.runtime.logger.error('could not follow pushes for a user', { userId, error }),
      );
      this.userFeeds.set(userId, feed);
    }
    this.options.onConnect?.(connection);
  }

  private unregister(connection: Connection, code: number, reason: string): void {
    this.topics.disconnect(connection);
    void this.channels.disconnect(connection);
    this.connections.delete(connection.id);
    const set = this.byUser.get(connection.principal.id);
    set?.delete(connection);
    if (set?.size === 0) {
      this.byUser.delete(connection.principal.id);
      const feed = this.userFeeds.get(connection.principal.id);
      this.userFeeds.delete(connection.principal.id);
      feed
        ?.then((stop) => stop())
        .catch(() => {
          // Never started: nothing to stop.
        });
    }
    this.options.onDisconnect?.(connection, code, reason);
    if (this.idle && this.runningCalls() === 0) this.idle();
  }

  /** One timer for all connections: close the silent ones, ping the rest. */
  private sweep(): void {
    this.topics.renewPresence().catch((error) => {
      this.runtime.logger.warn('could not renew presence', { error });
    });
    const now = Date.now();
    this.admission.prune(now);
    const { heartbeatTimeoutMs, idleTimeoutMs } = this.limits;
    for (const connection of this.connections.values()) {
      if (now - connection.lastSeenAt > heartbeatTimeoutMs) {
        connection.close(
          CLOSE_CODES.HEARTBEAT_TIMEOUT.code,
          `nothing received for ${heartbeatTimeoutMs} ms`,
          true,
        );
      } else if (idleTimeoutMs > 0 && now - connection.lastMessageAt > idleTimeoutMs) {
        connection.close(CLOSE_CODES.NORMAL.code, `idle for ${idleTimeoutMs} ms`);
      } else {
        connection.ping(now);
      }
    }
  }
}

/** UTF-8 of a text frame going to several sockets, converted once for all of them. */
function sharedText(frame: Frame, recipients: number): Uint8Array | undefined {
  return typeof frame === 'string' && recipients > 1 ? Buffer.from(frame) : undefined;
}

/** The broker key that carries pushes to one user between nodes. */
function userFeedKey(userId: string): string {
  return `_users.${encodeURIComponent(userId)}`;
}

function bindRoutes(protocol: Protocol, handlers: object): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const [name, def] of protocol.commands) {
    const [resource, member] = name.split('.') as [string, string];
    const handler = (handlers as Record<string, Record<string, unknown> | undefined>)[resource]?.[member];
    if (typeof handler !== 'function') throw new TypeError(`no handler for command "${name}"`);
    routes.set(name, {
      def,
      permissions: normalisePermissions(def.permission),
      handler: handler as Route['handler'],
    });
  }
  return routes;
}

/**
 * Starts a server for a protocol and resolves once it accepts connections.
 *
 * @example
 * const server = await createServer({ protocol: api, handlers, port: 8080, auth: apiKeys(store) });
 */
export async function createServer<P extends Protocol<any>>(options: ServerOptions<P>): Promise<Server<P>> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    // idleTimeoutMs alone may be 0: it is off by default.
    const least = name === 'idleTimeoutMs' ? 0 : Number.MIN_VALUE;
    if (typeof value !== 'number' || !(value >= least))
      throw new TypeError(`limit ${name} must be a ${least === 0 ? 'non-negative' : 'positive'} number`);
  }
  const transport =
    options.transport ??
    (options.port !== undefined || options.server
      ? wsServerTransport({
          port: options.port,
          host: options.host,
          server: options.server,
          path: options.path,
          maxPayload: limits.maxMessageBytes,
        })
      : undefined);
  if (!transport) throw new TypeError('createServer needs one of: port, server, transport');
  const server = new Server(options, transport, limits);
  await transport.start(
    (socket, request) => server.accept(socket, request),
    (request) => server.verifyUpgrade(request),
  );
  return server;
}

/** Implementations for the services a protocol declares (each optional: unimplemented ones cannot be opened). */
export type ServiceImplementations<P extends Protocol<any>> = {
  readonly [S in ServiceName<P>]?: ServiceOf<P, S> extends infer D extends ServiceDef
    ? ServiceImplementation<D, any>
    : never;
};
