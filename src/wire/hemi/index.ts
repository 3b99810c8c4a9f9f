export * from './close-codes.js';
export * from './commands.js';
export * from './error.js';
export * from './handshake.js';
export * from './message.js';
export * from './timeouts.js';
export * from './wire.js';
