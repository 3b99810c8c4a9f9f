import { encodeCommand } from './codec.js';
import { bootStatusBody, CONTROL_CHANNEL, toastBody } from './control.js';
import type { BootStatus_Stage } from './gen/api_pb.js';

/**
 * A `bootStatus` frame on channel 0, for a server that reports startup progress before READY
 * (crosis passes it to `onBootStatus`). Sent as raw bytes: the message model has no such message.
 *
 * @example socket.send(bootStatusFrame(BootStage.COMPLETE))
 */
export function bootStatusFrame(stage: BootStatus_Stage, progress = 0, total = 0): Uint8Array {
  return encodeCommand({ channel: CONTROL_CHANNEL, body: bootStatusBody(stage, progress, total) });
}

/** A `toast` frame on channel 0: a notice crosis shows the user. */
export function toastFrame(text: string): Uint8Array {
  return encodeCommand({ channel: CONTROL_CHANNEL, body: toastBody(text) });
}
