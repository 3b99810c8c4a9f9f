export * from './protocol/index.js';
export type { Frame, WireFormat } from './wire/format.js';
