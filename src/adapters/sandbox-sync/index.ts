/**
 * The two ends of agent-sandbox's sync link: `SyncWorker` (the WebSocket server that sends
 * requests and applies pushes) and `SyncProxy` (the dialler that answers, pushes and broadcasts),
 * with the stores behind them. Node only. See docs/wire-sandbox-sync.md.
 */
export {
  formatRfc3339,
  type KeyMetadata,
  keyIdOf,
  metaToFrame,
  type NewKey,
  normalizeRfc3339,
  ROLE_TENANT,
} from './api-key.js';
export {
  type ClusterConfig,
  type ClusterConfigSink,
  type ClusterEntry,
  type ClusterStore,
  clusterConfigJson,
  type HostAlias,
  isEmptyClusterConfig,
  MemoryClusterConfigSink,
  MemoryClusterStore,
  parseClusterConfig,
} from './cluster-config.js';
export { syncUrl } from './dial-url.js';
export {
  DISCONNECTED_MESSAGE,
  SyncHttpError,
  SyncNotConnectedError,
  SyncRequestError,
  SyncTimeoutError,
} from './errors.js';
export {
  MemoryKeyStore,
  type ProxyKeyStore,
  TOKEN_PREFIX,
  tokenHash,
  type WorkerKeyStore,
} from './key-store.js';
export { PROXY_DEFAULTS, type ProxyEvent, SyncProxy, type SyncProxyOptions } from './proxy.js';
export {
  MemoryTemplateStore,
  type ProxyTemplateStore,
  type SandboxTemplate,
  SYNC_SOURCE_GLOBAL,
  SYNC_SOURCE_LABEL,
  templateName,
  type WorkerTemplateStore,
} from './template-store.js';
export {
  INVALID_SYNC_TOKEN,
  SYNC_NOT_CONFIGURED,
  SYNC_PATH,
  SYNC_TOKEN_HEADER,
  verifySyncToken,
  writeRefusal,
} from './upgrade.js';
export {
  type CreateKeyRequest,
  type CreateKeyResponse,
  type RequestOptions,
  SyncWorker,
  type SyncWorkerOptions,
  WORKER_DEFAULTS,
  type WorkerEvent,
} from './worker.js';
