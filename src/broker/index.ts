export * from './broker.js';
export * from './idempotency.js';
export * from './memory.js';
