export { ConnectError } from '../protocol/errors.js';
export {
  CAUSE_BODY_WAIT_MS,
  type ConnectCause,
  type ConnectCauseKind,
  HTTP_STATUS_RETRY,
  MAX_CAUSE_BODY_BYTES,
  MAX_RETRY_AFTER_MS,
} from '../transport/connect-cause.js';
export { type WebSocketConstructor, webSocketConnector } from '../transport/websocket.js';
export type { BackoffOptions } from './backoff.js';
export { Channel, type ChannelEventMeta, type OpenChannelOptions } from './channel.js';
export {
  type CallOptions,
  type ChannelOf,
  Client,
  type ClientOptions,
  createClient,
  DEFAULT_STREAM_WINDOW,
  type Refreshed,
  type StreamOptions,
} from './client.js';
export type { ConnectAttempt, ConnectErrorListener } from './connect-failure.js';
export type { ConnectionState, StateDetail, StateListener } from './state.js';
export { type Gap, type PresenceChange, type SubscribeOptions, Subscription } from './subscription.js';
export { SyncedCollection } from './synced-collection.js';
