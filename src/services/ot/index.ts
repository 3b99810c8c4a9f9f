// The ot service: collaborative plain-text editing with operational transform (goval's `ot`).
export { OtClient, type OtClientOptions, type OtClientState, type OutgoingPacket } from './client.js';
export { type ConnectOtOptions, connectOtClient } from './connect.js';
export { crc32 } from './crc32.js';
export { type Cursor, transformCursor } from './cursor.js';
export { OtDocument, type OtDocumentOptions, type Packet } from './document.js';
export { OT_ERRORS, OtError, type OtErrorCode } from './errors.js';
export { OT_DEFAULTS } from './limits.js';
export {
  apply,
  baseLength,
  checkOps,
  codePointLength,
  compose,
  normalize,
  type Op,
  type Ops,
  type Side,
  transform,
  transformPosition,
} from './ops.js';
export { type OtOptions, type OtState, ot } from './server.js';
export { CursorSchema, OpSchema, otService, PacketSchema, StatusSchema } from './service.js';
