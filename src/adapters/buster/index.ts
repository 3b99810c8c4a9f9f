/**
 * The Buster server end: JWT at the upgrade, delivery through streams (memory or Redis), the
 * `send_method` filter. The Redis bus lives in `redis-bus.ts` and is not re-exported here, so that
 * memory users never load ioredis: import it from `switchboard/adapters/buster/redis`.
 */
export * from './auth.js';
export * from './bus.js';
export type { BusterConnection } from './connection.js';
export * from './filter.js';
export * from './handlers.js';
export * from './memory-bus.js';
export * from './refusals.js';
export * from './router.js';
export * from './server.js';
export * from './settings.js';
export * from './streams.js';
