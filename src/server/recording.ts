import type { Frame } from '../wire/format.js';
import type { Call, Message } from '../wire/message.js';
import type { Connection } from './connection.js';

/** One recorded message (goval's VCREntry): when, which way, and what. */
export interface RecordedMessage {
  /** Milliseconds since epoch, on the server's clock. */
  readonly timestamp: number;
  /** `in`: from the client; `out`: to the client. */
  readonly direction: 'in' | 'out';
  readonly message: Message;
  /** The channel it belongs to, for service traffic. */
  readonly channel?: number;
  /**
   * The frame as it crossed the wire, for wires that report recordings in their own terms (goval's
   * VCRLog holds Commands). Not enumerable: a recording read over JSON does not repeat every frame.
   */
  readonly frame?: Frame;
}

export interface RecordingOptions {
  /** Record only this channel's traffic (its calls, their replies, its events and its close). */
  readonly channel?: number;
  /** Oldest entries are dropped past this many. Default 10 000. */
  readonly maxEntries?: number;
}

/** Default bound of one recording: a forgotten recording must not grow without end. */
export const DEFAULT_RECORDING_ENTRIES = 10_000;

/**
 * The traffic of one connection (or one of its channels) with time and direction: goval's VCR.
 * Bounded: past `maxEntries` the oldest entries go and `dropped` counts them.
 */
export class Recording {
  /** Kept entries start at `head`: dropping the oldest moves an index, not the whole array. */
  private readonly kept: RecordedMessage[] = [];
  private head = 0;
  dropped = 0;
  readonly startedAt = Date.now();

  constructor(readonly options: RecordingOptions = {}) {}

  record(direction: 'in' | 'out', message: Message, channel: number | undefined, frame?: Frame): void {
    if (this.options.channel !== undefined && channel !== this.options.channel) return;
    const entry: RecordedMessage = {
      timestamp: Date.now(),
      direction,
      message,
      ...(channel === undefined ? {} : { channel }),
    };
    if (frame !== undefined) Object.defineProperty(entry, 'frame', { value: frame, enumerable: false });
    this.kept.push(entry);
    if (this.kept.length - this.head > (this.options.maxEntries ?? DEFAULT_RECORDING_ENTRIES)) {
      this.head++;
      this.dropped++;
      // Compact once half the array is dropped entries: amortised O(1) per message.
      if (this.head * 2 > this.kept.length) {
        this.kept.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  /** The entries kept, oldest first (a copy). */
  get entries(): RecordedMessage[] {
    return this.kept.slice(this.head);
  }
}

/**
 * The in-band recording commands (goval's startVCR / readVCR), when the server allows them:
 * `$vcr.start {channel?}`, `$vcr.read {}` → `{ entries, dropped }`, `$vcr.stop {}`.
 */
export function answerRecordingCommand(connection: Connection, call: Call): void {
  const reply = (output: unknown) =>
    connection.send({ type: 'result', id: call.id, output, command: call.command });
  const options = connection.runtime.recording;
  if (!options.inBand) {
    connection.send({
      type: 'error',
      id: call.id,
      code: 'UNKNOWN_COMMAND',
      message: `unknown command "${call.command}"`,
    });
    return;
  }
  const input = (typeof call.input === 'object' && call.input !== null ? call.input : {}) as {
    channel?: unknown;
  };
  switch (call.command) {
    case '$vcr.start':
      connection.recording = new Recording({
        ...(Number.isInteger(input.channel) ? { channel: input.channel as number } : {}),
        maxEntries: options.maxEntries,
      });
      reply(null);
      return;
    case '$vcr.read':
      reply({ entries: connection.recording?.entries ?? [], dropped: connection.recording?.dropped ?? 0 });
      return;
    case '$vcr.stop':
      connection.recording = undefined;
      reply(null);
      return;
    default:
      connection.send({
        type: 'error',
        id: call.id,
        code: 'UNKNOWN_COMMAND',
        message: `unknown command "${call.command}"`,
      });
  }
}
