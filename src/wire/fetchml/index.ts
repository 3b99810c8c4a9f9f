export * from './binding.js';
export * from './error-codes.js';
export * from './key-hash.js';
export * from './layout.js';
export * from './opcodes.js';
export * from './packets.js';
export * from './request.js';
export * from './wire.js';
