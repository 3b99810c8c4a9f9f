export * from './broker.js';
export * from './memory.js';
