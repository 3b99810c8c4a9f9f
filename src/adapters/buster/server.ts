import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { EventName, EventPayload, Protocol } from '../../protocol/define.js';
import { describeIssues, validate } from '../../protocol/schema.js';
import type { Pusher } from '../../server/handlers.js';
import { consoleLogger, type Logger } from '../../server/logger.js';
import type { ServerTransport, Socket, UpgradeRequest } from '../../transport/socket.js';
import { wsServerTransport } from '../../transport/ws-server.js';
import { encodeResponse } from '../../wire/buster/codec.js';
import type { WsResponseMessage } from '../../wire/buster/message.js';
import { protocolEvent, type RouteNaming } from '../../wire/buster/routes.js';
import { authenticateUpgrade, type BusterUser, type JwtAuthOptions, unauthorized } from './auth.js';
import type { StreamBus } from './bus.js';
import { BusterConnection, type BusterRuntime } from './connection.js';
import type { BusterHandlers } from './handlers.js';
import { MemoryStreamBus } from './memory-bus.js';
import { WsRouter } from './router.js';
import { BUSTER_CLOSE, BUSTER_SETTINGS, type BusterSettings } from './settings.js';
import { sendWsMessage } from './streams.js';

export interface BusterServerOptions<P extends Protocol<any>> {
  readonly protocol: P;
  readonly handlers: BusterHandlers<P>;
  /** JWT verification at the upgrade (HS256, aud authenticated | api). */
  readonly auth: JwtAuthOptions;
  /** Where streams live: default a `MemoryStreamBus` (one process); a `RedisStreamBus` for several. */
  readonly bus?: StreamBus;
  readonly port?: number;
  readonly host?: string;
  readonly server?: HttpServer;
  /** Upgrade path; Buster serves `/api/v1/ws`. Any path when unset. */
  readonly path?: string;
  /** A custom transport (its sockets ping without a payload unless they accept one). */
  readonly transport?: ServerTransport;
  /** Routes and events named by hand where the derived names are not the ones wanted. */
  readonly naming?: RouteNaming;
  readonly settings?: Partial<BusterSettings>;
  readonly logger?: Logger;
  /** Check outputs against their schemas (a mismatch is INTERNAL_SERVER_ERROR). Default true. */
  readonly validateOutput?: boolean;
}

/**
 * A server that speaks Buster's wire for a Switchboard protocol: same definitions, same handlers,
 * responses delivered through streams as Buster delivers them.
 */
export class BusterServer<P extends Protocol<any>> implements Pusher<P> {
  private readonly connections = new Map<string, BusterConnection>();
  private readonly runtime: BusterRuntime;
  private closing: Promise<void> | undefined;

  /** @internal use {@link createBusterServer} */
  constructor(
    private readonly options: BusterServerOptions<P>,
    private readonly transport: ServerTransport,
    readonly bus: StreamBus,
    readonly settings: BusterSettings,
  ) {
    this.runtime = {
      bus,
      router: new WsRouter(options.protocol, options.handlers, options.naming),
      settings,
      logger: options.logger ?? consoleLogger,
      validateOutput: options.validateOutput ?? true,
      pusher: this,
      closed: (connection) => this.connections.delete(connection.id),
    };
  }

  /** @internal */
  get logger(): Logger {
    return this.runtime.logger;
  }

  /** The routes, per resource, this server answers. */
  get router(): WsRouter {
    return this.runtime.router;
  }

  /** @internal */
  async verify(request: UpgradeRequest) {
    if (this.closing) return { status: 503, body: 'server shutting down' };
    const result = await authenticateUpgrade(request, this.options.auth);
    if (result.ok) {
      // The upgrade that follows reads the user from here rather than verifying the token twice.
      verified.set(request.headers, result.user);
      return undefined;
    }
    return unauthorized(result.reason);
  }

  /** @internal */
  async accept(socket: Socket, request: UpgradeRequest): Promise<void> {
    let user = verified.get(request.headers);
    verified.delete(request.headers);
    if (!user) {
      // A transport that did not run verifyUpgrade (in memory): check now, close with 4001 on failure.
      const result = await authenticateUpgrade(request, this.options.auth);
      if (!result.ok) {
        socket.close(4001, result.reason);
        return;
      }
      user = result.user;
    }
    if (this.closing) {
      socket.close(BUSTER_CLOSE.SHUTDOWN.code, BUSTER_CLOSE.SHUTDOWN.reason);
      return;
    }
    const connection = new BusterConnection(this.runtime, socket, request, user);
    this.connections.set(connection.id, connection);
  }

  get port(): number | undefined {
    return (this.transport as { port?: () => number }).port?.();
  }

  /** `ws://host:port/path` for clients on this machine. */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    const reachable = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `ws://${reachable}:${this.port}${this.options.path ?? ''}`;
  }

  /** Open connections on this node. */
  list(): BusterConnection[] {
    return [...this.connections.values()];
  }

  /** To one connection of this node, straight to its socket (no stream names one connection). */
  pushTo<E extends EventName<P>>(connectionId: string, event: E, payload: EventPayload<P, E>): number {
    const text = encodeResponse(this.pushMessage(event, payload));
    const connection = this.connections.get(connectionId);
    connection?.sendText(text);
    return connection ? 1 : 0;
  }

  /**
   * To every connection of a user on every node: `XADD <userId>` with `send_method: All` and
   * `sent_by: null`. Returns how many of those connections are on this node.
   */
  pushToUser<E extends EventName<P>>(userId: string, event: E, payload: EventPayload<P, E>): number {
    const message = this.pushMessage(event, payload);
    sendWsMessage(this.bus, userId, message).catch((error) =>
      this.runtime.logger.error('could not push to a user', { userId, error }),
    );
    return this.list().filter((connection) => connection.user.id === userId).length;
  }

  /** To every connection of this node. */
  broadcast<E extends EventName<P>>(event: E, payload: EventPayload<P, E>): number {
    const text = encodeResponse(this.pushMessage(event, payload));
    for (const connection of this.connections.values()) connection.sendText(text);
    return this.connections.size;
  }

  /**
   * Writes to any stream from backend code, e.g. `thread:<id>`, with `sent_by` given or null.
   * @example await server.send('thread:42', { route: '/threads/post', event: 'threadUpdated', payload, sent_by: null, error: null, send_method: 'All' })
   */
  send(stream: string, message: WsResponseMessage): Promise<string> {
    return sendWsMessage(this.bus, stream, message);
  }

  /** Stops accepting, closes every connection with 1001, and waits until each has left its streams. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = this.transport.stop();
      const connections = this.list();
      for (const connection of connections) {
        connection.close(BUSTER_CLOSE.SHUTDOWN.code, BUSTER_CLOSE.SHUTDOWN.reason);
      }
      await Promise.all(connections.map((connection) => connection.done));
      await stopped;
    })();
    return this.closing;
  }

  /** A protocol event as a response: route `/<resource>`, camelCase event, no sender (ours). */
  private pushMessage(event: string, payload: unknown): WsResponseMessage {
    const def = this.options.protocol.events.get(event);
    if (!def) throw new TypeError(`unknown event "${event}"`);
    const checked = validate(def.payload, payload);
    if (checked instanceof Promise) throw new TypeError(`event "${event}" has an async schema`);
    if (!checked.ok)
      throw new TypeError(`payload of event "${event}" is invalid: ${describeIssues(checked.issues)}`);
    return {
      route: `/${event.slice(0, event.indexOf('.'))}`,
      event: protocolEvent(event),
      payload: checked.value ?? null,
      sent_by: null,
      error: null,
      send_method: 'All',
    };
  }
}

/** Users verified at the upgrade, keyed by the request's headers object until the socket opens. */
const verified = new WeakMap<object, BusterUser>();

/**
 * Starts a Buster-wire server for a protocol and resolves once it accepts connections.
 *
 * @example
 * const server = await createBusterServer({
 *   protocol: api, handlers, port: 3001, path: '/api/v1/ws',
 *   auth: { secret: process.env.JWT_SECRET! },
 *   bus: new RedisStreamBus({ redis: 'redis://127.0.0.1:6379' }),
 * });
 */
export async function createBusterServer<P extends Protocol<any>>(
  options: BusterServerOptions<P>,
): Promise<BusterServer<P>> {
  const settings: BusterSettings = { ...BUSTER_SETTINGS, ...options.settings };
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value !== 'number' || !(value > 0))
      throw new TypeError(`setting ${name} must be a positive number`);
  }
  const transport =
    options.transport ??
    (options.port !== undefined || options.server
      ? wsServerTransport({
          port: options.port,
          host: options.host,
          server: options.server,
          path: options.path,
          maxPayload: settings.maxMessageBytes,
        })
      : undefined);
  if (!transport) throw new TypeError('createBusterServer needs one of: port, server, transport');
  const server = new BusterServer(options, transport, options.bus ?? new MemoryStreamBus(), settings);
  await transport.start(
    (socket, request) => {
      server.accept(socket, request).catch((error) => {
        // A resolveUser or a bus that throws ends this socket alone, never the process.
        const traceId = randomUUID();
        server.logger.error('could not accept a connection', { traceId, error });
        const { code, reason } = BUSTER_CLOSE.INTERNAL_ERROR;
        socket.close(code, `${reason} (trace ${traceId})`);
      });
    },
    (request) => server.verify(request),
  );
  return server;
}
