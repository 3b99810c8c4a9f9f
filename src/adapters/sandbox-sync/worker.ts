import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { newTraceId } from '../../server/errors.js';
import { type Logger, silentLogger } from '../../server/logger.js';
import type { UpgradeRefusal, VerifyUpgrade } from '../../transport/socket.js';
import { DEFAULT_MAX_DEPTH } from '../../wire/bounded-json.js';
import {
  type DecodedFrame,
  encodeFrame,
  type Frame,
  type FrameError,
  type FrameFields,
  isResponseType,
  type RequestType,
  responseTypeOf,
  type SnapshotItem,
} from '../../wire/sandbox-sync/index.js';
import { normalizeRfc3339 } from './api-key.js';
import {
  type ClusterConfigSink,
  isEmptyClusterConfig,
  MemoryClusterConfigSink,
  parseClusterConfig,
} from './cluster-config.js';
import {
  DISCONNECTED_MESSAGE,
  SyncHttpError,
  SyncNotConnectedError,
  SyncRequestError,
  SyncTimeoutError,
} from './errors.js';
import { faultTolerantLogger, handleInOrder } from './guard.js';
import { MemoryKeyStore, type WorkerKeyStore } from './key-store.js';
import {
  MemoryTemplateStore,
  type SandboxTemplate,
  templateName,
  type WorkerTemplateStore,
} from './template-store.js';
import { SYNC_PATH, verifySyncToken, writeRefusal } from './upgrade.js';

/** Defaults of the Worker end, from the origin where it has them. */
export const WORKER_DEFAULTS = {
  /** No ping from the ws-proxy for this long closes the link (origin: 90 s). */
  readTimeoutMs: 90_000,
  /** How long a request waits for its response (ours; the origin uses its caller's deadline). */
  requestTimeoutMs: 30_000,
  /** Largest message accepted (ours; gorilla's default has no limit). */
  maxPayload: 64 * 1024 * 1024,
} as const;

export interface SyncWorkerOptions {
  /** The shared secret the ws-proxy must send in `AGENTBOX-SYNC-TOKEN`. Empty: every dial gets 503. */
  readonly token: string;
  /** Where pushed keys go. Default: a `MemoryKeyStore`. */
  readonly keys?: WorkerKeyStore;
  /** Where pushed templates go; null ignores template pushes. Default: a `MemoryTemplateStore`. */
  readonly templates?: WorkerTemplateStore | null;
  /** Where cluster config goes; null ignores it. Default: a `MemoryClusterConfigSink`. */
  readonly clusterConfig?: ClusterConfigSink | null;
  readonly readTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxPayload?: number;
  /** Deepest nesting of objects and arrays a message may have (default 64); a deeper one is rejected unparsed. */
  readonly maxDepth?: number;
  /** Where faults go; a logger that throws loses its line, never the link. */
  readonly logger?: Logger;
}

/** What a key_create asks for; `tokenHash` + `hashPrefix` switch it to import/promote mode. */
export interface CreateKeyRequest {
  readonly namespace: string;
  readonly user: string;
  readonly team: string;
  readonly role: string;
  readonly description: string;
  readonly expiresAt?: string;
  readonly tokenHash?: string;
  readonly hashPrefix?: string;
  readonly issuedAt?: string;
  readonly quotaURL?: string;
  readonly rawToken?: string;
}

/** What a successful key_create_resp carries (fields the proxy left out are empty strings). */
export interface CreateKeyResponse {
  readonly rawToken: string;
  readonly keyId: string;
  readonly tokenHash: string;
  readonly hashPrefix: string;
  readonly issuedAt: string;
}

/** Per-request options. */
export interface RequestOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What the Worker end reports, for logs, metrics and tests. */
export type WorkerEvent =
  | { readonly kind: 'connect'; readonly connId: number }
  | { readonly kind: 'disconnect'; readonly connId: number; readonly stale: boolean }
  /** A frame from the ws-proxy was handled (a push applied or a response delivered). */
  | { readonly kind: 'frame'; readonly connId: number; readonly frame: Frame }
  /** A message that could not be decoded; it was logged and dropped. */
  | { readonly kind: 'rejected'; readonly connId: number; readonly error: FrameError };

interface Pending {
  readonly type: RequestType;
  settle(response: Frame): void;
}

interface Link {
  readonly ws: WebSocket;
  readonly connId: number;
}

/**
 * The Worker end of the sync link. It is the WebSocket server (`GET /v1/ws/sync`, token checked
 * before the upgrade), yet it is the side that sends requests — key_create, key_delete,
 * template_* — and the side that applies the ws-proxy's snapshots and pushes.
 *
 * One ws-proxy connection is active at a time: a new one replaces the old, and the old one's
 * later disconnect is ignored as stale. When the active one drops, every pending request fails
 * with 503 "ws-proxy disconnected".
 *
 * @example
 * const worker = new SyncWorker({ token: process.env.AGENTBOX_SYNC_TOKEN ?? '' });
 * worker.attach(httpServer); // or: await worker.listen(8080)
 * const key = await worker.createKey({ namespace: 'ns', user: 'ada', team: 't', role: '', description: '' });
 */
export class SyncWorker {
  readonly keys: WorkerKeyStore;
  readonly templates: WorkerTemplateStore | null;
  readonly clusterConfig: ClusterConfigSink | null;
  /** The pre-upgrade check, usable as the core's `verifyUpgrade` too. */
  readonly verifyUpgrade: VerifyUpgrade;

  private readonly wss: WebSocketServer;
  private readonly logger: Logger;
  private readonly maxDepth: number;
  private readonly readTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: WorkerEvent) => void>();
  private readonly sockets = new Set<WebSocket>();
  private link: Link | undefined;
  private connSeq = 0;
  private http: HttpServer | undefined;

  constructor(options: SyncWorkerOptions) {
    this.keys = options.keys ?? new MemoryKeyStore();
    this.templates = options.templates === undefined ? new MemoryTemplateStore() : options.templates;
    this.clusterConfig =
      options.clusterConfig === undefined ? new MemoryClusterConfigSink() : options.clusterConfig;
    this.verifyUpgrade = verifySyncToken(options.token);
    this.logger = faultTolerantLogger(options.logger ?? silentLogger);
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.readTimeoutMs = options.readTimeoutMs ?? WORKER_DEFAULTS.readTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? WORKER_DEFAULTS.requestTimeoutMs;
    // The origin's upgrader accepts any Origin; ws checks none unless told to.
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? WORKER_DEFAULTS.maxPayload,
    });
  }

  /** Whether a ws-proxy connection is active. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /** Calls `listener` with every event. Returns a function that stops it. */
  onEvent(listener: (event: WorkerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Serves the sync endpoint on an existing http server (upgrades to other paths are left alone). */
  attach(server: HttpServer): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (pathOf(request) === SYNC_PATH) this.handleUpgrade(request, socket, head);
    });
  }

  /** Starts an http server of its own on `host:port` (0 picks a port) and resolves with the port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = createServer((request, response) => {
      if (pathOf(request) !== SYNC_PATH || request.method !== 'GET') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
        return;
      }
      // A plain GET to the route gets the same token checks, then the 400 an upgrader answers.
      void this.verifyNow(request)
        .then((refusal) => {
          if (refusal) response.writeHead(refusal.status, { ...refusal.headers }).end(refusal.body ?? '');
          else response.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad Request\n');
        })
        .catch((error: unknown) => {
          this.logger.error('sync request failed', { traceId: newTraceId(), error });
          response.destroy();
        });
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (pathOf(request) === SYNC_PATH && request.method === 'GET') {
        this.handleUpgrade(request, socket, head);
        return;
      }
      writeRefusal(socket, {
        status: 404,
        body: '404 page not found',
        headers: { 'Content-Type': 'text/plain' },
      });
    });
    this.http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Runs the token checks, then upgrades. For servers that route upgrades themselves. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.logger.warn('sync upgrade socket error', { error }));
    void this.verifyNow(request)
      .then((refusal) => {
        if (refusal) {
          writeRefusal(socket, refusal);
          return;
        }
        this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnect(ws, request));
      })
      // A fault while upgrading one dial ends that socket: as a rejection nobody handles, it would end the process.
      .catch((error: unknown) => {
        this.logger.error('sync upgrade failed', { traceId: newTraceId(), error });
        socket.destroy();
      });
  }

  /** Closes the ws-proxy connections and the http server `listen` started. */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    const server = this.http;
    this.http = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Asks the ws-proxy for a new key (or, with tokenHash + hashPrefix, to import one). */
  async createKey(request: CreateKeyRequest, options?: RequestOptions): Promise<CreateKeyResponse> {
    const response = await this.request({ type: 'key_create', ...request }, options);
    return {
      rawToken: response.rawToken ?? '',
      keyId: response.keyId ?? '',
      tokenHash: response.tokenHash ?? '',
      hashPrefix: response.hashPrefix ?? '',
      issuedAt: response.issuedAt ?? '',
    };
  }

  /** Asks the ws-proxy to delete a key by secret name. */
  async deleteKey(name: string, options?: RequestOptions): Promise<void> {
    await this.request({ type: 'key_delete', name }, options);
  }

  /** Asks the ws-proxy to create a template from a whole SandboxTemplate object. */
  async createTemplate(template: SandboxTemplate, options?: RequestOptions): Promise<void> {
    await this.request({ type: 'template_create', templateFull: template }, options);
  }

  /** Asks the ws-proxy to update a template (its spec, labels and annotations). */
  async updateTemplate(template: SandboxTemplate, options?: RequestOptions): Promise<void> {
    await this.request({ type: 'template_update', templateFull: template }, options);
  }

  /** Asks the ws-proxy to delete a template by name. */
  async deleteTemplate(name: string, options?: RequestOptions): Promise<void> {
    await this.request({ type: 'template_delete', name }, options);
  }

  /** Runs the token check; a check that throws refuses with 500 and says nothing of why. */
  private async verifyNow(request: IncomingMessage): Promise<UpgradeRefusal | undefined> {
    try {
      return await this.verifyUpgrade({
        url: request.url ?? '/',
        headers: request.headers,
        remoteAddress: request.socket.remoteAddress,
      });
    } catch (error) {
      this.logger.error('sync token check failed', { error });
      return { status: 500, body: 'upgrade check failed' };
    }
  }

  /**
   * Sends a request with a fresh UUID v4 id and waits for the response with that id. Fails with
   * `SyncNotConnectedError` at once when no ws-proxy is connected.
   */
  private request(
    frame: FrameFields & { readonly type: RequestType },
    options?: RequestOptions,
  ): Promise<Frame> {
    const link = this.link;
    if (!link) return Promise.reject(new SyncNotConnectedError());
    const id = randomUUID();
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    const signal = options?.signal;
    return new Promise<Frame>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        reject(new SyncTimeoutError(frame.type, timeoutMs));
      }, timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        type: frame.type,
        settle: (response) => {
          done();
          if (response.ok) resolve(response);
          else if (response.httpStatus) reject(new SyncHttpError(response.httpStatus, response.error ?? ''));
          else reject(new SyncRequestError(response.error ?? ''));
        },
      });
      link.ws.send(encodeFrame({ ...frame, id }), (error) => {
        if (!error) return;
        done();
        reject(error);
      });
    });
  }

  private onConnect(ws: WebSocket, request: IncomingMessage): void {
    const connId = ++this.connSeq;
    if (this.link) this.logger.info('ws-proxy connection replaced', { previous: this.link.connId, connId });
    // The old socket stays open and read (as in the origin); only requests move to the new one.
    this.link = { ws, connId };
    this.sockets.add(ws);
    this.logger.info('ws-proxy sync connection established', {
      connId,
      remoteAddress: request.socket.remoteAddress,
    });
    this.emit({ kind: 'connect', connId });

    // The ws-proxy pings every 30 s; a link with no ping for the read timeout is dead.
    let deadline = setTimeout(() => expire(), this.readTimeoutMs);
    const expire = () => {
      this.logger.error('ws-proxy sync read timeout: no ping within deadline', { connId });
      ws.terminate();
    };
    ws.on('ping', () => {
      clearTimeout(deadline);
      deadline = setTimeout(expire, this.readTimeoutMs);
    });
    // Frames are handled one after another, in arrival order, as the origin's read loop does:
    // a key_sync pushed before a key_create_resp is applied before the request resolves.
    const received = handleInOrder({
      ws,
      logger: this.logger,
      fields: { connId },
      maxDepth: this.maxDepth,
      handle: (decoded) => this.handleIncoming(connId, decoded),
    });
    ws.on('error', (error) => this.logger.error('ws-proxy sync read error', { connId, error }));
    ws.once('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(ws);
      void received().then(() => this.onDisconnect(connId));
    });
  }

  private onDisconnect(connId: number): void {
    if (this.link?.connId !== connId) {
      this.logger.info('ws-proxy disconnect ignored: stale connection', {
        connId,
        current: this.link?.connId,
      });
      this.emit({ kind: 'disconnect', connId, stale: true });
      return;
    }
    this.link = undefined;
    this.logger.info('ws-proxy connection lost; failing pending requests', {
      connId,
      pending: this.pending.size,
    });
    for (const [id, entry] of [...this.pending]) {
      entry.settle({
        id,
        type: responseTypeOf(entry.type),
        ok: false,
        error: DISCONNECTED_MESSAGE,
        httpStatus: 503,
      });
    }
    this.emit({ kind: 'disconnect', connId, stale: false });
  }

  private async handleIncoming(connId: number, decoded: DecodedFrame): Promise<void> {
    if (!decoded.ok) {
      // Ours: the origin's ReadJSON error would end the connection; one bad frame is dropped instead.
      this.logger.warn('sync frame rejected', { connId, error: decoded.error });
      this.emit({ kind: 'rejected', connId, error: decoded.error });
      return;
    }
    const frame = decoded.frame;
    try {
      await this.apply(frame);
    } catch (error) {
      this.logger.error('error handling sync event', { connId, type: frame.type, error });
    }
    this.emit({ kind: 'frame', connId, frame });
  }

  private async apply(frame: Frame): Promise<void> {
    if (isResponseType(frame.type)) {
      // A response nobody waits for any more (timed out, cancelled) is dropped.
      if (frame.id !== undefined) this.pending.get(frame.id)?.settle(frame);
      return;
    }
    switch (frame.type) {
      case 'key_sync':
        return this.applyKeySync(frame);
      case 'key_snapshot':
        // Additive: keys missing from the snapshot stay.
        for (const item of frame.items ?? []) {
          await this.applyKeySync(item).catch((error: unknown) =>
            this.logger.error('snapshot apply error', { name: item.name, error }),
          );
        }
        return;
      case 'key_delete_sync':
        // Not found is fine: this Worker may never have had the key.
        if (frame.name) await this.keys.delete(frame.name);
        return;
      case 'template_sync':
        return this.applyTemplateSync(frame);
      case 'template_delete_sync':
        if (this.templates && frame.name) await this.templates.delete(frame.name);
        return;
      case 'template_snapshot':
        return this.applyTemplateSnapshot(frame.items ?? []);
      case 'cluster_config_snapshot':
      case 'cluster_config_sync':
        return this.applyClusterConfig(frame);
      default:
        // Requests are the Worker's to send; one arriving here is ignored, as in the origin.
        this.logger.info('ignored sync frame', { type: frame.type });
    }
  }

  /** A key without both tokenHash and hashPrefix is skipped: it could not be looked up. */
  private async applyKeySync(item: SnapshotItem | Frame): Promise<void> {
    if (!item.tokenHash || !item.hashPrefix) return;
    await this.keys.createFromHash(
      {
        namespace: item.namespace ?? '',
        role: item.role ?? '',
        user: item.user ?? '',
        team: item.team ?? '',
        quotaURL: item.quotaURL,
        description: item.description,
        issuedAt: normalizeRfc3339(item.issuedAt),
        expiresAt: normalizeRfc3339(item.expiresAt),
        rawToken: item.rawToken,
      },
      item.tokenHash,
      item.hashPrefix,
    );
  }

  private async applyTemplateSync(item: SnapshotItem | Frame): Promise<void> {
    if (!this.templates) return;
    const template = templateOf(item);
    // An empty templateFull is skipped (an older ws-proxy during a rolling upgrade).
    if (template === undefined) return;
    if (template === null) throw new Error('templateFull must be a JSON object');
    await this.templates.createOrUpdate(template);
  }

  private async applyTemplateSnapshot(items: readonly SnapshotItem[]): Promise<void> {
    for (const item of items) {
      await this.applyTemplateSync(item).catch((error: unknown) =>
        this.logger.error('template snapshot apply error', { error }),
      );
    }
    if (!this.templates) return;
    const known = new Set<string>();
    for (const item of items) {
      const template = templateOf(item);
      if (template) known.add(templateName(template));
    }
    await this.templates.stripStaleGlobalLabels(known);
  }

  /**
   * An empty configSnapshot is a no-op (a transient empty push must not erase the config); so is
   * one with no clusters and no host aliases once entries without an id are dropped.
   */
  private async applyClusterConfig(frame: Frame): Promise<void> {
    if (frame.configSnapshot === undefined) {
      this.logger.info('cluster config: empty snapshot, skipping update');
      return;
    }
    const parsed = parseClusterConfig(frame.configSnapshot);
    if (!parsed.ok) throw new Error(`cluster config: ${parsed.message}`);
    if (isEmptyClusterConfig(parsed.config)) {
      this.logger.info('cluster config: snapshot carries no actionable data, skipping');
      return;
    }
    await this.clusterConfig?.applyClusterConfig(parsed.config);
  }

  private emit(event: WorkerEvent): void {
    for (const listener of this.listeners) {
      // A listener's fault must not stop the link.
      try {
        listener(event);
      } catch (error) {
        this.logger.error('sync event listener failed', { kind: event.kind, error });
      }
    }
  }
}

/** The template in a frame: undefined when absent, null when not a JSON object. */
function templateOf(item: FrameFields): SandboxTemplate | null | undefined {
  const value = item.templateFull;
  if (value === undefined) return undefined;
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as SandboxTemplate)
    : null;
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
