type MaybePromise<T> = T | Promise<T>;

/** One Worker cluster as `clusters.yaml` describes it: where to dial it and which headers to add. */
export interface ClusterEntry {
  readonly id: string;
  readonly name?: string;
  /** The Worker's base URL (`http(s)://…`); the sync path is appended when dialling. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Other fields (selector, gateway, registries...) travel in snapshots untouched. */
  readonly [field: string]: unknown;
}

/** A Kubernetes HostAlias: hostnames that resolve to `ip`. */
export interface HostAlias {
  readonly ip: string;
  readonly hostnames?: readonly string[];
}

/** What cluster_config_snapshot and cluster_config_sync carry in `configSnapshot`. */
export interface ClusterConfig {
  readonly clusters: readonly ClusterEntry[];
  readonly hostAliases?: readonly HostAlias[];
}

/** The ws-proxy's view of `clusters.yaml` (the origin's `cluster.Store`). */
export interface ClusterStore {
  /** Every cluster, sorted by id: snapshots are compared byte for byte downstream. */
  all(): readonly ClusterEntry[];
  hostAliases(): readonly HostAlias[];
}

/** A ClusterStore in memory. Entries without an id are dropped, as the origin's `Set` does. */
export class MemoryClusterStore implements ClusterStore {
  private config: ClusterConfig = { clusters: [] };

  constructor(config?: ClusterConfig) {
    if (config) this.set(config);
  }

  /** Replaces the clusters and host aliases; the ws-proxy dials new clusters on its next tick. */
  set(config: ClusterConfig): void {
    const clusters = config.clusters
      .filter((entry) => entry.id !== '')
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.config = { clusters, hostAliases: [...(config.hostAliases ?? [])] };
  }

  all(): readonly ClusterEntry[] {
    return this.config.clusters;
  }

  hostAliases(): readonly HostAlias[] {
    return this.config.hostAliases ?? [];
  }
}

/** Where a Worker puts the cluster config it receives (the origin writes a ConfigMap). */
export interface ClusterConfigSink {
  applyClusterConfig(config: ClusterConfig): MaybePromise<void>;
}

/** A ClusterConfigSink that keeps the last config applied, and tells listeners. */
export class MemoryClusterConfigSink implements ClusterConfigSink {
  config: ClusterConfig | undefined;
  private readonly listeners = new Set<(config: ClusterConfig) => void>();

  applyClusterConfig(config: ClusterConfig): void {
    this.config = config;
    for (const listener of this.listeners) listener(config);
  }

  /** Calls `listener` after every config applied. Returns a function that stops it. */
  onChange(listener: (config: ClusterConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * The JSON Go writes for a ClusterConfig: `clusters` always, `hostAliases` when not empty; each
 * entry's fields in the Go struct's order (`id`, `name`, `url` always, the rest when set), header
 * maps with sorted keys as `encoding/json` writes maps. Fields Go does not know come last (ours).
 */
export function clusterConfigJson(config: ClusterConfig): Record<string, unknown> {
  const clusters = config.clusters.map(entryJson);
  const hostAliases = (config.hostAliases ?? []).map(({ ip, hostnames }) =>
    hostnames?.length ? { ip, hostnames } : { ip },
  );
  return hostAliases.length ? { clusters, hostAliases } : { clusters };
}

const ENTRY_FIELDS = ['id', 'name', 'url', 'selector', 'headers', 'visible', 'gateway', 'registries'];

function entryJson(entry: ClusterEntry): Record<string, unknown> {
  const out: Record<string, unknown> = { id: entry.id, name: entry.name ?? '', url: entry.url ?? '' };
  for (const field of ENTRY_FIELDS.slice(3)) {
    const value = entry[field];
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (field === 'headers') {
      const headers = Object.entries(value as Record<string, string>).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      if (headers.length) out.headers = Object.fromEntries(headers);
    } else out[field] = value;
  }
  for (const [field, value] of Object.entries(entry)) if (!ENTRY_FIELDS.includes(field)) out[field] = value;
  return out;
}

/** Whether a config carries nothing to apply: no clusters and no host aliases. */
export function isEmptyClusterConfig(config: ClusterConfig): boolean {
  return config.clusters.length === 0 && (config.hostAliases?.length ?? 0) === 0;
}

/**
 * Reads a `configSnapshot` as Go's `json.Unmarshal` into ClusterConfig would: an object whose
 * `clusters` and `hostAliases` are lists (or null); a field of the wrong JSON type is an error.
 * Entries with an empty id are dropped here, as the Worker does before applying.
 */
export function parseClusterConfig(
  raw: unknown,
): { readonly ok: true; readonly config: ClusterConfig } | { readonly ok: false; readonly message: string } {
  if (raw === null) return { ok: true, config: { clusters: [] } };
  if (!isObject(raw)) return { ok: false, message: 'configSnapshot must be a JSON object' };
  const clusters: ClusterEntry[] = [];
  if (raw.clusters !== undefined && raw.clusters !== null) {
    if (!Array.isArray(raw.clusters)) return { ok: false, message: 'configSnapshot.clusters must be a list' };
    for (const [index, entry] of raw.clusters.entries()) {
      if (entry === null) continue;
      if (!isObject(entry)) return { ok: false, message: `clusters[${index}] must be an object` };
      for (const field of ['id', 'name', 'url'] as const) {
        const value = entry[field];
        if (value !== undefined && value !== null && typeof value !== 'string') {
          return { ok: false, message: `clusters[${index}].${field} must be a string` };
        }
      }
      if (!entry.id) continue;
      clusters.push(entry as unknown as ClusterEntry);
    }
  }
  const hostAliases: HostAlias[] = [];
  if (raw.hostAliases !== undefined && raw.hostAliases !== null) {
    if (!Array.isArray(raw.hostAliases))
      return { ok: false, message: 'configSnapshot.hostAliases must be a list' };
    for (const [index, alias] of raw.hostAliases.entries()) {
      if (alias === null) continue;
      if (!isObject(alias) || (alias.ip !== undefined && alias.ip !== null && typeof alias.ip !== 'string')) {
        return { ok: false, message: `hostAliases[${index}] must be {ip, hostnames}` };
      }
      hostAliases.push(alias as unknown as HostAlias);
    }
  }
  return { ok: true, config: hostAliases.length ? { clusters, hostAliases } : { clusters } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
