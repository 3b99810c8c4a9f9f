import { create } from '@bufbuild/protobuf';
import type { Frame } from '../format.js';
import type { BodyInit } from './codec.js';
import { decodeCommand } from './codec.js';
import { VCREntry_Direction, VCREntrySchema } from './gen/api_pb.js';

/** The core's in-band recording commands that goval's `startVCR` and `readVCR` become. */
export const VCR_COMMANDS = { start: '$vcr.start', read: '$vcr.read' } as const;

/** One recorded entry as the core reports it (`$vcr.read`), with the frame it crossed the wire as. */
interface RecordedEntry {
  readonly timestamp: number;
  readonly direction: 'in' | 'out';
  readonly frame?: Frame;
}

/**
 * goval's `VCRLog` for a recording read over this wire: each entry's own frame decoded back into the
 * `Command` it was, with its time (ms since epoch) and direction. Entries that have no goval frame
 * (recorded before a wire was known, or not binary) are left out.
 */
export function vcrLogBody(output: unknown): BodyInit {
  const entries = (output as { entries?: readonly RecordedEntry[] } | undefined)?.entries ?? [];
  const log = [];
  for (const entry of entries) {
    if (!(entry.frame instanceof Uint8Array)) continue;
    const decoded = decodeCommand(entry.frame);
    if (!decoded.ok) continue;
    log.push(
      create(VCREntrySchema, {
        timestamp: BigInt(Math.max(0, Math.floor(entry.timestamp))),
        direction: entry.direction === 'in' ? VCREntry_Direction.IN : VCREntry_Direction.OUT,
        command: decoded.command,
      }),
    );
  }
  return { case: 'VCRLog', value: { log } };
}
