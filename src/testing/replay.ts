import type { RecordedMessage } from '../server/recording.js';
import type { Connector } from '../transport/socket.js';
import type { WireFormat } from '../wire/format.js';
import { jsonWire } from '../wire/json.js';
import type { Message } from '../wire/message.js';

export interface ReplayOptions {
  /** How to reach the server under test, e.g. a test kit's `network.connect` or the in-memory transport. */
  readonly connect: Connector;
  readonly url: string;
  /** The wire the recording's connection spoke. Default the native JSON wire. */
  readonly wire?: WireFormat;
  /** Longest wait for the answers the recording shows after each inbound message. Default 2000 ms. */
  readonly timeoutMs?: number;
  /**
   * The hello to open with when the recording has none (it started after the handshake): the replay
   * sends it and waits for the welcome, which is not part of what it returns.
   */
  readonly hello?: { readonly protocol: string; readonly version: string; readonly credentials?: unknown };
}

/**
 * Replays a recorded connection against a server: sends the recording's inbound messages in order,
 * each once the server has answered the previous one with as many messages as it did when recorded,
 * and returns what the server sent this time. Compare with `comparable(...)` on both sides.
 *
 * @example
 * const recorded = server.readRecording(connectionId)!;
 * const replayed = await replay(recorded, { connect: transport.connect, url: 'memory://x' });
 * expect(replayed.map(comparable)).toEqual(outbound(recorded).map(comparable));
 */
export async function replay(
  recording: readonly RecordedMessage[],
  options: ReplayOptions,
): Promise<Message[]> {
  const wire = options.wire ?? jsonWire;
  const received: Message[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const socket = options.connect(options.url);
  const opened = new Promise<void>((resolve) => {
    socket.listen({
      open: resolve,
      message(frame) {
        const decoded = wire.decode(frame);
        if (decoded.ok) received.push(decoded.message);
        wake?.();
      },
      close() {
        closed = true;
        resolve();
        wake?.();
      },
    });
  });
  await Promise.race([opened, new Promise((resolve) => setTimeout(resolve, 50))]);
  if (options.hello && !recording.some((entry) => entry.message.type === 'hello')) {
    const frame = wire.encode({ type: 'hello', ...options.hello });
    if (frame !== null) socket.send(frame);
    const deadline = Date.now() + (options.timeoutMs ?? 2000);
    while (!received.some((message) => message.type === 'welcome') && !closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
    received.splice(0, received.length);
  }
  let expected = 0;
  for (const [index, entry] of recording.entries()) {
    if (entry.direction === 'out') continue;
    const frame = wire.encode(entry.message);
    if (frame !== null) socket.send(frame);
    // What the server said in answer, last time: everything up to the next inbound message.
    let next = recording.findIndex((later, at) => at > index && later.direction === 'in');
    if (next < 0) next = recording.length;
    expected += recording.slice(index + 1, next).filter((later) => later.direction === 'out').length;
    const deadline = Date.now() + (options.timeoutMs ?? 2000);
    while (received.length < expected && !closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
  }
  socket.close(1000, 'replay done');
  return received;
}

/** The outbound messages of a recording, in order. */
export function outbound(recording: readonly RecordedMessage[]): Message[] {
  return recording.filter((entry) => entry.direction === 'out').map((entry) => entry.message);
}

/**
 * A message without what differs from run to run (connection ids, clocks, epochs, trace ids, expiry)
 * or from wire to wire (the `command` hint on replies), so a replay can be compared with its recording.
 */
export function comparable(message: Message): unknown {
  const {
    connectionId: _c,
    ts: _t,
    at: _a,
    epoch: _e,
    traceId: _r,
    expiresAt: _x,
    ...rest
  } = message as unknown as Record<string, unknown>;
  const reply =
    message.type === 'result' ||
    message.type === 'item' ||
    message.type === 'end' ||
    message.type === 'error';
  if (reply) delete rest.command;
  return rest;
}
