/**
 * agent-sandbox's Worker ↔ ws-proxy sync frames (v1 JSON): the flat `Frame`, its types, and a codec
 * that writes what Go's `WriteJSON` writes and reads without ever throwing. See
 * docs/wire-sandbox-sync.md; the two ends live in `src/adapters/sandbox-sync`.
 */
export { type DecodedFrame, decodeFrame, encodeFrame, type FrameError, MAX_ITEM_DEPTH } from './codec.js';
export { FIELD_ORDER, type Frame, type FrameFields, KEY_NAME_PREFIX, type SnapshotItem } from './frame.js';
export {
  CLUSTER_CONFIG_PUSHES,
  FRAME_TYPES,
  type FrameType,
  isFrameType,
  isRequestType,
  isResponseType,
  KEY_PUSHES,
  KEY_REQUESTS,
  KEY_RESPONSES,
  type PushType,
  type RequestType,
  type ResponseType,
  responseTypeOf,
  TEMPLATE_PUSHES,
  TEMPLATE_REQUESTS,
  TEMPLATE_RESPONSES,
} from './frame-types.js';
