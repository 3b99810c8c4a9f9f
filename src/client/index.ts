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
export type { ConnectionState, StateListener } from './state.js';
export { type Gap, type PresenceChange, type SubscribeOptions, Subscription } from './subscription.js';
export { SyncedCollection } from './synced-collection.js';
