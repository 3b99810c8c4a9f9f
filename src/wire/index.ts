export * from './bounded-json.js';
export * from './format.js';
export * from './json.js';
export type * from './message.js';
