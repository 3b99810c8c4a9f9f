import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { type Logger, silentLogger } from '../../server/logger.js';
import { DEFAULT_MAX_DEPTH } from '../../wire/bounded-json.js';
import {
  type DecodedFrame,
  encodeFrame,
  type Frame,
  type FrameError,
  type ResponseType,
} from '../../wire/sandbox-sync/index.js';
import {
  formatRfc3339,
  keyIdOf,
  metaToFrame,
  type NewKey,
  normalizeRfc3339,
  ROLE_TENANT,
} from './api-key.js';
import {
  type ClusterEntry,
  type ClusterStore,
  clusterConfigJson,
  isEmptyClusterConfig,
} from './cluster-config.js';
import { syncUrl } from './dial-url.js';
import { faultTolerantLogger, handleInOrder } from './guard.js';
import { MemoryKeyStore, type ProxyKeyStore } from './key-store.js';
import {
  MemoryTemplateStore,
  type ProxyTemplateStore,
  type SandboxTemplate,
  SYNC_SOURCE_GLOBAL,
  SYNC_SOURCE_LABEL,
  templateName,
} from './template-store.js';
import { SYNC_TOKEN_HEADER } from './upgrade.js';

/** Timings of the ws-proxy end, all from the origin. */
export const PROXY_DEFAULTS = {
  /** Clusters missing from the registry are dialled again this often: the only reconnect. */
  redialIntervalMs: 30_000,
  /** A WebSocket ping to every Worker this often. */
  pingIntervalMs: 30_000,
  /** No pong for this long closes the link. */
  readTimeoutMs: 90_000,
  handshakeTimeoutMs: 10_000,
  /** Largest message accepted (ours; gorilla's default has no limit). */
  maxPayload: 64 * 1024 * 1024,
} as const;

export interface SyncProxyOptions {
  /** Sent to every Worker in `AGENTBOX-SYNC-TOKEN`. */
  readonly token: string;
  /** The clusters to dial (`clusters.yaml`). */
  readonly clusters: ClusterStore;
  /** The master key store; null answers key requests with 503. Default: a `MemoryKeyStore`. */
  readonly keys?: ProxyKeyStore | null;
  /** The master template store; null answers template requests with 503. Default: a `MemoryTemplateStore`. */
  readonly templates?: ProxyTemplateStore | null;
  /** Keys per (namespace, user); 0 or absent for no limit. Over it, key_create gets 409. */
  readonly maxKeysPerUser?: number;
  readonly redialIntervalMs?: number;
  readonly pingIntervalMs?: number;
  readonly readTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly maxPayload?: number;
  /** Deepest nesting of objects and arrays a message may have (default 64); a deeper one is rejected unparsed. */
  readonly maxDepth?: number;
  /** Where faults go; a logger that throws loses its line, never the link. */
  readonly logger?: Logger;
}

/** What the ws-proxy end reports, for logs, metrics (the origin's tx/rx frame counters) and tests. */
export type ProxyEvent =
  | { readonly kind: 'connect'; readonly clusterId: string }
  | { readonly kind: 'disconnect'; readonly clusterId: string; readonly code: number }
  /** A dial failed: refused before the upgrade (`status`, `body`), unreachable, or timed out. */
  | {
      readonly kind: 'dial-failed';
      readonly clusterId: string;
      readonly reason: string;
      readonly status?: number;
      readonly body?: string;
    }
  /** A frame sent (`tx`, at the moment it is handed to the socket) or handled (`rx`). */
  | {
      readonly kind: 'frame';
      readonly clusterId: string;
      readonly direction: 'tx' | 'rx';
      readonly frame: Frame;
    }
  /** A message from a Worker that was not a known frame; logged and ignored. */
  | { readonly kind: 'rejected'; readonly clusterId: string; readonly error: FrameError };

interface ClusterLink {
  readonly clusterId: string;
  readonly ws: WebSocket;
}

/**
 * The ws-proxy end of the sync link: it dials every Worker in the cluster store, sends the key,
 * template and cluster config snapshots in that order on connect, answers the Workers' requests,
 * and broadcasts every change to every connected Worker — the requester included — before it
 * answers the requester.
 *
 * @example
 * const proxy = new SyncProxy({ token, clusters: new MemoryClusterStore({ clusters: [{ id: 'a', url: 'http://worker-a:8080' }] }) });
 * proxy.start();
 */
export class SyncProxy {
  readonly keys: ProxyKeyStore | null;
  readonly templates: ProxyTemplateStore | null;

  private readonly options: SyncProxyOptions;
  private readonly logger: Logger;
  private readonly maxDepth: number;
  private readonly registry = new Map<string, ClusterLink>();
  private readonly dialing = new Map<string, WebSocket>();
  private readonly listeners = new Set<(event: ProxyEvent) => void>();
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(options: SyncProxyOptions) {
    this.options = options;
    this.keys = options.keys === undefined ? new MemoryKeyStore() : options.keys;
    this.templates = options.templates === undefined ? new MemoryTemplateStore() : options.templates;
    this.logger = faultTolerantLogger(options.logger ?? silentLogger);
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Dials every cluster now, then every `redialIntervalMs` those not connected. */
  start(): void {
    if (this.ticker) return;
    this.dialAll();
    this.ticker = setInterval(
      () => this.dialAll(),
      this.options.redialIntervalMs ?? PROXY_DEFAULTS.redialIntervalMs,
    );
  }

  /** Stops re-dialling and closes every link. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    const sockets = [...this.registry.values()].map((link) => link.ws).concat([...this.dialing.values()]);
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.terminate();
          }),
      ),
    );
  }

  /** Calls `listener` with every event. Returns a function that stops it. */
  onEvent(listener: (event: ProxyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The ids of the clusters connected now. */
  connectedClusters(): string[] {
    return [...this.registry.keys()].sort();
  }

  /** Dials every cluster that is neither connected nor being dialled. */
  dialAll(): void {
    for (const entry of this.options.clusters.all()) {
      if (!this.registry.has(entry.id) && !this.dialing.has(entry.id)) this.dial(entry);
    }
  }

  /** Sends a frame to every connected Worker, encoded once. */
  broadcast(frame: Frame): void {
    const text = encodeFrame(frame);
    for (const link of this.registry.values()) this.sendEncoded(link, frame, text);
  }

  /** Broadcasts cluster_config_sync with the store's current config (after clusters.yaml changed). */
  pushClusterConfig(): void {
    const frame = this.clusterConfigFrame('cluster_config_sync');
    if (frame) this.broadcast(frame);
  }

  private dial(entry: ClusterEntry): void {
    const clusterId = entry.id;
    let url: string;
    try {
      url = syncUrl(entry.url);
    } catch (error) {
      this.logger.error('invalid cluster URL', { clusterId, url: entry.url, error });
      this.emit({
        kind: 'dial-failed',
        clusterId,
        reason: `invalid cluster URL ${JSON.stringify(entry.url)}`,
      });
      return;
    }
    // Per-cluster headers are set after the token, so they override it (Go's Header.Set; names fold case).
    const headers = new Map<string, [string, string]>([
      [SYNC_TOKEN_HEADER.toLowerCase(), [SYNC_TOKEN_HEADER, this.options.token]],
    ]);
    for (const [name, value] of Object.entries(entry.headers ?? {}))
      headers.set(name.toLowerCase(), [name, value]);
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers: Object.fromEntries(headers.values()),
        handshakeTimeout: this.options.handshakeTimeoutMs ?? PROXY_DEFAULTS.handshakeTimeoutMs,
        perMessageDeflate: false,
        maxPayload: this.options.maxPayload ?? PROXY_DEFAULTS.maxPayload,
      });
    } catch (error) {
      // ws throws at once for what it cannot send at all (a header value with a newline, say);
      // on the re-dial timer that would otherwise end the process.
      this.logger.error('dial cluster failed', { clusterId, url, error });
      this.emit({ kind: 'dial-failed', clusterId, reason: (error as Error).message });
      return;
    }
    this.dialing.set(clusterId, ws);
    let failure: { reason: string; status?: number; body?: string } | undefined;

    ws.on('unexpected-response', (request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        // Only the start of a refusal's body is worth logging.
        if (size < 4096) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
        failure = { reason: `unexpected response ${response.statusCode}`, status: response.statusCode, body };
        request.destroy();
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      failure ??= { reason: error.message };
    });
    ws.once('open', () => {
      this.dialing.delete(clusterId);
      this.onConnected(clusterId, ws);
    });
    ws.once('close', (code) => {
      if (this.dialing.get(clusterId) === ws) {
        this.dialing.delete(clusterId);
        const reason = failure ?? { reason: `closed with ${code} during the handshake` };
        this.logger.warn('dial cluster failed (will retry)', { clusterId, url, ...reason });
        this.emit({ kind: 'dial-failed', clusterId, ...reason });
      }
    });
  }

  private onConnected(clusterId: string, ws: WebSocket): void {
    const link: ClusterLink = { clusterId, ws };
    this.registry.set(clusterId, link);
    this.logger.info('connected to cluster', { clusterId });
    this.emit({ kind: 'connect', clusterId });

    // Keep-alive: a ping every interval; no pong within the read timeout ends the link.
    const readTimeoutMs = this.options.readTimeoutMs ?? PROXY_DEFAULTS.readTimeoutMs;
    const expire = () => {
      this.logger.error('no pong from cluster within deadline', { clusterId });
      ws.terminate();
    };
    let deadline = setTimeout(expire, readTimeoutMs);
    ws.on('pong', () => {
      clearTimeout(deadline);
      deadline = setTimeout(expire, readTimeoutMs);
    });
    const pinger = setInterval(() => {
      ws.ping(undefined, undefined, (error) => {
        if (!error) return;
        this.logger.warn('ping to cluster failed', { clusterId, error });
        ws.terminate();
      });
    }, this.options.pingIntervalMs ?? PROXY_DEFAULTS.pingIntervalMs);

    // The snapshots go first; Worker frames that arrive meanwhile wait their turn, as in the
    // origin, whose read loop starts only after the snapshots are written.
    handleInOrder(
      {
        ws,
        logger: this.logger,
        fields: { clusterId },
        maxDepth: this.maxDepth,
        handle: (decoded) => this.handleWorkerFrame(link, decoded),
      },
      this.sendSnapshots(link).catch((error: unknown) =>
        this.logger.error('snapshots failed', { clusterId, error }),
      ),
    );
    ws.on('error', (error) => this.logger.error('read error from cluster', { clusterId, error }));
    ws.once('close', (code) => {
      clearTimeout(deadline);
      clearInterval(pinger);
      if (this.registry.get(clusterId) === link) this.registry.delete(clusterId);
      this.logger.info('disconnected from cluster', { clusterId, code });
      this.emit({ kind: 'disconnect', clusterId, code });
    });
  }

  /** key_snapshot (sent even when empty), template_snapshot, then cluster_config_snapshot unless empty. */
  private async sendSnapshots(link: ClusterLink): Promise<void> {
    if (this.keys) {
      try {
        const keys = await this.keys.list();
        this.send(link, { type: 'key_snapshot', items: keys.map(metaToFrame) });
      } catch (error) {
        this.logger.error('key snapshot failed', { clusterId: link.clusterId, error });
      }
    }
    if (this.templates) {
      try {
        const templates = await this.templates.list();
        this.send(link, {
          type: 'template_snapshot',
          items: templates.map((template) => ({ type: 'template_sync', templateFull: template })),
        });
      } catch (error) {
        this.logger.error('template snapshot failed', { clusterId: link.clusterId, error });
      }
    }
    const config = this.clusterConfigFrame('cluster_config_snapshot');
    if (config) this.send(link, config);
  }

  private clusterConfigFrame(type: 'cluster_config_snapshot' | 'cluster_config_sync'): Frame | undefined {
    const config = {
      clusters: this.options.clusters.all(),
      hostAliases: this.options.clusters.hostAliases(),
    };
    if (isEmptyClusterConfig(config)) return undefined;
    return { type, configSnapshot: clusterConfigJson(config) };
  }

  private async handleWorkerFrame(link: ClusterLink, decoded: DecodedFrame): Promise<void> {
    if (!decoded.ok) {
      // Unknown types are logged and ignored, as in the origin; so are malformed frames (ours:
      // the origin's ReadJSON error would end the connection).
      this.logger.warn(decoded.error.code === 'UNKNOWN_TYPE' ? 'unknown frame type' : 'malformed frame', {
        clusterId: link.clusterId,
        error: decoded.error,
      });
      this.emit({ kind: 'rejected', clusterId: link.clusterId, error: decoded.error });
      return;
    }
    const frame = decoded.frame;
    this.emit({ kind: 'frame', clusterId: link.clusterId, direction: 'rx', frame });
    try {
      switch (frame.type) {
        case 'key_create':
          return await this.keyCreate(link, frame);
        case 'key_delete':
          return await this.keyDelete(link, frame);
        case 'template_create':
          return await this.templateCreate(link, frame);
        case 'template_update':
          return await this.templateUpdate(link, frame);
        case 'template_delete':
          return await this.templateDelete(link, frame);
        default:
          this.logger.warn('unknown frame type', { clusterId: link.clusterId, type: frame.type });
      }
    } catch (error) {
      // A store that throws where no status was planned: the requester still gets an answer.
      this.logger.error('request failed', { clusterId: link.clusterId, type: frame.type, error });
      this.reply(link, frame, `${frame.type}_resp` as ResponseType, {
        error: 'internal error',
        httpStatus: 500,
      });
    }
  }

  private async keyCreate(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'key_create_resp';
    if (frame.tokenHash && frame.hashPrefix) return this.keyImport(link, frame);
    const keys = this.keys;
    if (!keys) return this.reply(link, frame, type, { error: 'key store not configured', httpStatus: 503 });
    const limit = this.options.maxKeysPerUser ?? 0;
    if (limit > 0) {
      let count: number;
      try {
        count = await keys.countUserKeys(frame.namespace ?? '', frame.user ?? '');
      } catch (error) {
        this.logger.error('count user keys failed', { error });
        return this.reply(link, frame, type, { error: 'internal error', httpStatus: 500 });
      }
      if (count >= limit) {
        return this.reply(link, frame, type, {
          error: `exceeded max keys per user (${limit})`,
          httpStatus: 409,
        });
      }
    }
    const issuedAt = formatRfc3339(new Date());
    const meta: NewKey = {
      namespace: frame.namespace ?? '',
      user: frame.user ?? '',
      team: frame.team ?? '',
      role: frame.role || ROLE_TENANT,
      description: frame.description,
      issuedAt,
      expiresAt: normalizeRfc3339(frame.expiresAt),
    };
    let created: { rawToken: string; keyId: string };
    try {
      created = await keys.create(meta);
    } catch (error) {
      this.logger.error('create key failed', { error });
      return this.reply(link, frame, type, { error: 'failed to create key', httpStatus: 500 });
    }
    await this.broadcastKey(created.keyId);
    const hashPrefix = created.keyId.startsWith('agentbox-apikey-') ? created.keyId.slice(16) : '';
    this.reply(link, frame, type, {
      ok: true,
      rawToken: created.rawToken,
      keyId: created.keyId,
      hashPrefix,
      issuedAt,
    });
  }

  /** Import/promote: store an existing hash (idempotent); the answer carries no rawToken. */
  private async keyImport(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'key_create_resp';
    const keys = this.keys;
    if (!keys) return this.reply(link, frame, type, { error: 'key store not configured', httpStatus: 503 });
    const issuedAt = normalizeRfc3339(frame.issuedAt) ?? formatRfc3339(new Date());
    const hashPrefix = frame.hashPrefix ?? '';
    try {
      await keys.createFromHash(
        {
          namespace: frame.namespace ?? '',
          user: frame.user ?? '',
          team: frame.team ?? '',
          role: frame.role || ROLE_TENANT,
          description: frame.description,
          quotaURL: frame.quotaURL,
          issuedAt,
          expiresAt: normalizeRfc3339(frame.expiresAt),
          rawToken: frame.rawToken,
        },
        frame.tokenHash ?? '',
        hashPrefix,
      );
    } catch (error) {
      this.logger.error('import key failed', { error });
      return this.reply(link, frame, type, { error: 'failed to import key', httpStatus: 500 });
    }
    const keyId = keyIdOf(hashPrefix);
    await this.broadcastKey(keyId);
    this.reply(link, frame, type, { ok: true, keyId, hashPrefix, issuedAt });
  }

  /** key_sync to every Worker, the requester included, before the requester's answer. */
  private async broadcastKey(keyId: string): Promise<void> {
    const meta = await Promise.resolve(this.keys?.get(keyId)).catch((error: unknown) => {
      this.logger.error('get created key failed', { keyId, error });
      return undefined;
    });
    // Without the stored key the origin still broadcasts a bare key_sync, which Workers skip.
    this.broadcast(meta ? { ...metaToFrame(meta), type: 'key_sync' } : { type: 'key_sync' });
  }

  private async keyDelete(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'key_delete_resp';
    const keys = this.keys;
    if (!keys) return this.reply(link, frame, type, { error: 'key store not configured', httpStatus: 503 });
    const name = frame.name;
    if (!name) return this.reply(link, frame, type, { error: 'name is required', httpStatus: 400 });
    let found: boolean;
    try {
      found = await keys.delete(name);
    } catch (error) {
      this.logger.error('delete key failed', { name, error });
      return this.reply(link, frame, type, { error: 'failed to delete key', httpStatus: 500 });
    }
    if (!found) return this.reply(link, frame, type, { error: 'api key not found', httpStatus: 404 });
    this.broadcast({ type: 'key_delete_sync', name });
    this.reply(link, frame, type, { ok: true });
  }

  private async templateCreate(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'template_create_resp';
    const templates = this.templates;
    if (!templates)
      return this.reply(link, frame, type, { error: 'template sync not configured', httpStatus: 503 });
    const parsed = globalTemplate(frame);
    if (typeof parsed === 'string') return this.reply(link, frame, type, { error: parsed, httpStatus: 400 });
    try {
      await templates.create(parsed);
    } catch (error) {
      this.logger.error('create template failed', { name: templateName(parsed), error });
      return this.reply(link, frame, type, { error: 'failed to create template', httpStatus: 500 });
    }
    this.broadcast({ type: 'template_sync', templateFull: parsed });
    this.reply(link, frame, type, { ok: true, name: templateName(parsed) });
  }

  private async templateUpdate(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'template_update_resp';
    const templates = this.templates;
    if (!templates)
      return this.reply(link, frame, type, { error: 'template sync not configured', httpStatus: 503 });
    const desired = globalTemplate(frame);
    if (typeof desired === 'string')
      return this.reply(link, frame, type, { error: desired, httpStatus: 400 });
    const name = templateName(desired);
    const existing = await Promise.resolve(templates.get(name)).catch(() => undefined);
    if (!existing) return this.reply(link, frame, type, { error: 'template not found', httpStatus: 404 });
    // Spec, labels and annotations come from the request; the rest (status, uid...) stays.
    const { annotations: _dropped, ...existingMeta } = existing.metadata ?? {};
    const updated: SandboxTemplate = {
      ...existing,
      spec: desired.spec,
      metadata: {
        ...existingMeta,
        labels: desired.metadata?.labels,
        ...(desired.metadata?.annotations ? { annotations: desired.metadata.annotations } : {}),
      },
    };
    try {
      await templates.update(updated);
    } catch (error) {
      this.logger.error('update template failed', { name, error });
      return this.reply(link, frame, type, { error: 'failed to update template', httpStatus: 500 });
    }
    this.broadcast({ type: 'template_sync', templateFull: updated });
    this.reply(link, frame, type, { ok: true, name });
  }

  private async templateDelete(link: ClusterLink, frame: Frame): Promise<void> {
    const type = 'template_delete_resp';
    const templates = this.templates;
    if (!templates)
      return this.reply(link, frame, type, { error: 'template sync not configured', httpStatus: 503 });
    const name = frame.name;
    if (!name) return this.reply(link, frame, type, { error: 'name is required', httpStatus: 400 });
    const existing = await Promise.resolve(templates.get(name)).catch(() => undefined);
    if (!existing) return this.reply(link, frame, type, { error: 'template not found', httpStatus: 404 });
    try {
      await templates.delete(name);
    } catch (error) {
      this.logger.error('delete template failed', { name, error });
      return this.reply(link, frame, type, { error: 'failed to delete template', httpStatus: 500 });
    }
    this.broadcast({ type: 'template_delete_sync', name });
    this.reply(link, frame, type, { ok: true, name });
  }

  private reply(
    link: ClusterLink,
    request: Frame,
    type: ResponseType,
    fields: Omit<Frame, 'type' | 'id'>,
  ): void {
    this.send(link, { ...(request.id === undefined ? {} : { id: request.id }), type, ...fields });
  }

  private send(link: ClusterLink, frame: Frame): void {
    this.sendEncoded(link, frame, encodeFrame(frame));
  }

  private sendEncoded(link: ClusterLink, frame: Frame, text: string): void {
    if (link.ws.readyState !== WebSocket.OPEN) return;
    this.emit({ kind: 'frame', clusterId: link.clusterId, direction: 'tx', frame });
    link.ws.send(text, (error) => {
      if (error)
        this.logger.warn('send to cluster failed', { clusterId: link.clusterId, type: frame.type, error });
    });
  }

  private emit(event: ProxyEvent): void {
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

/**
 * The template of a create/update request, labelled as the ws-proxy's, or the 400 message: the
 * origin requires templateFull and a JSON object.
 */
function globalTemplate(frame: Frame): SandboxTemplate | string {
  const value = frame.templateFull;
  if (value === undefined) return 'templateFull is required';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'unmarshal SandboxTemplate: templateFull must be a JSON object';
  }
  const template = value as SandboxTemplate;
  return {
    ...template,
    metadata: {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [SYNC_SOURCE_LABEL]: SYNC_SOURCE_GLOBAL },
    },
  };
}
