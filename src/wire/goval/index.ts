export * from './auth.js';
export * from './close-codes.js';
export {
  type Body,
  type BodyCase,
  type BodyInit,
  type BodyValue,
  decodeCommand,
  encodeCommand,
} from './codec.js';
export { BootStage, CONTROL_CHANNEL } from './control.js';
export * from './frames.js';
export { type Command, CommandSchema } from './gen/api_pb.js';
export type * from './mapping.js';
export { chatMapping } from './services/chat.js';
export { execMapping } from './services/exec.js';
export { filesMapping } from './services/files.js';
export { type OtOp, otMapping } from './services/ot.js';
export * from './token.js';
export type { FileEntry, GovalUser } from './values.js';
export * from './wire.js';
