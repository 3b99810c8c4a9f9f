import type { RawData, WebSocket } from 'ws';
import { CLOSE_CODES } from '../../protocol/close-codes.js';
import { newTraceId } from '../../server/errors.js';
import type { Logger } from '../../server/logger.js';
import { type DecodedFrame, decodeFrame } from '../../wire/sandbox-sync/index.js';

/**
 * A logger whose own faults are swallowed: the sync ends log from inside their fault handlers, and a
 * logger that throws there (one that cannot serialise a field, say) would turn a dropped frame into
 * an unhandled rejection, which ends the process.
 */
export function faultTolerantLogger(logger: Logger): Logger {
  const call =
    (level: 'error' | 'warn' | 'info') =>
    (message: string, fields?: Record<string, unknown>): void => {
      try {
        logger[level](message, fields);
      } catch {
        // Nowhere left to report it: the log line is lost, the link is not.
      }
    };
  return { error: call('error'), warn: call('warn'), info: call('info') };
}

/** How one link's messages are read: see {@link handleInOrder}. */
export interface LinkReader {
  readonly ws: WebSocket;
  readonly logger: Logger;
  /** Fields every log line of this link carries (`clusterId`, `connId`). */
  readonly fields: Record<string, unknown>;
  readonly maxDepth: number;
  /** Handles one decoded message; its failure is logged with a trace id and the next message still runs. */
  readonly handle: (decoded: DecodedFrame) => Promise<void>;
}

/**
 * Decodes a link's messages (bounded by `maxDepth`) and handles them one after another, in arrival
 * order, after `first` (the ws-proxy's snapshots), as the origin's read loop does. Returns the tail
 * of the queue, for work that must wait for every message received so far.
 *
 * Nothing thrown while a message is handled leaves the `ws` listener, where it would end the
 * process and every other link: a synchronous throw closes this link with 1011 and the trace id in
 * its reason and in the log; an asynchronous failure is logged with a trace id and costs that
 * message only.
 */
export function handleInOrder(
  reader: LinkReader,
  first: Promise<void> = Promise.resolve(),
): () => Promise<void> {
  const { ws, logger, fields } = reader;
  let queue = first;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      const decoded = decodeFrame(isBinary ? toBytes(data) : data.toString(), reader.maxDepth);
      queue = queue
        .then(() => reader.handle(decoded))
        .catch((error: unknown) =>
          logger.error('sync frame handling failed', { ...fields, traceId: newTraceId(), error }),
        );
    } catch (error) {
      const traceId = newTraceId();
      logger.error('sync message handling threw; closing the link', { ...fields, traceId, error });
      ws.close(CLOSE_CODES.INTERNAL_ERROR.code, `internal error (trace ${traceId})`);
    }
  });
  return () => queue;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
