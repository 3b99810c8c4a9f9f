export * from './close-codes.js';
export * from './define.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './permissions.js';
export * from './schema.js';
export * from './topic-key.js';
export * from './version.js';
