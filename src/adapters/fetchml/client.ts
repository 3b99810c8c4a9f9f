import { CLOSE_CODES } from '../../protocol/close-codes.js';
import type { Connector, Socket } from '../../transport/socket.js';
import { defaultConnector } from '../../transport/websocket.js';
import { DEFAULT_MAX_DEPTH, parseBoundedJson } from '../../wire/bounded-json.js';
import { errorCodeName } from '../../wire/fetchml/error-codes.js';
import { apiKeyHash } from '../../wire/fetchml/key-hash.js';
import type { OperationName, RequestFields } from '../../wire/fetchml/opcodes.js';
import { decodePacket, type Packet, type PacketOf } from '../../wire/fetchml/packets.js';
import { encodeRequest } from '../../wire/fetchml/request.js';

/** Where to connect and with which key. */
export interface FetchmlClientOptions {
  /** E.g. `ws://127.0.0.1:9100/ws`. */
  readonly url: string;
  /** The API key; only the first 16 bytes of its SHA-256 are sent. */
  readonly apiKey: string;
  /** How to open the socket; default the platform's WebSocket (or `ws` on Node). */
  readonly connect?: Connector;
  /** Deepest nesting `call` accepts in a data payload; default `DEFAULT_MAX_DEPTH` (64). */
  readonly maxDepth?: number;
}

/** Fields of a request, without the key hash the client adds. */
export type OperationFields<Op extends OperationName> = Omit<RequestFields<Op>, 'api_key_hash'>;

/** An error packet, thrown by {@link FetchmlClient.call}. */
export class FetchmlError extends Error {
  override readonly name = 'FetchmlError';
  /** The error byte's name (`AUTHENTICATION_FAILED`...), when the byte is in the table. */
  readonly codeName: string | undefined;
  /** Switchboard's error code, data and trace id, from the packet's JSON details. */
  readonly details: { readonly code?: string; readonly data?: unknown; readonly traceId?: string };

  constructor(readonly packet: PacketOf<'error'>) {
    super(packet.message);
    this.codeName = errorCodeName(packet.error_code);
    this.details = parseDetails(packet.details);
  }

  /** The error byte. */
  get code(): number {
    return this.packet.error_code;
  }
}

/**
 * A data or status packet whose payload is not JSON, or nests deeper than `maxDepth`; thrown by
 * {@link unwrap} (and so by {@link FetchmlClient.call}) instead of the parser's own error.
 */
export class FetchmlPayloadError extends Error {
  override readonly name = 'FetchmlPayloadError';
  constructor(
    readonly reason: 'too-deep' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** A running `stream_logs`: its log packets, then the packet that ended it. */
export interface LogStream extends AsyncIterable<PacketOf<'log'>> {
  /** The packet that ended the stream: success (the job finished) or error (cancelled, refused). */
  readonly done: Promise<Packet>;
  /** Sends `cancel_stream` for this target and resolves with the packet that ended the stream. */
  cancel(): Promise<Packet>;
}

interface Pending {
  resolve(packet: Packet): void;
  reject(error: Error): void;
  progress?(packet: Packet): void;
}

/**
 * A small client of the fetch_ml binary wire. Replies carry no call id, so it sends one request at a
 * time and takes the next success, data or error packet as its answer; log and progress packets go to
 * the running request, status packets to {@link onStatus}. A stream holds the line until it ends.
 *
 * @example
 * const client = await FetchmlClient.connect({ url: 'ws://127.0.0.1:9100/ws', apiKey });
 * const job = await client.call('queue_job', { commit_id, priority: 5, job_name: 'train' });
 */
export class FetchmlClient {
  private pending: Pending | undefined;
  private line: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;
  private readonly statusListeners = new Set<(packet: PacketOf<'status'>) => void>();
  private readonly keyHash: Uint8Array;

  private constructor(
    private readonly socket: Socket,
    apiKey: string,
    private readonly maxDepth: number,
  ) {
    this.keyHash = apiKeyHash(apiKey);
  }

  /** Opens the socket; resolves once it is open (the wire has no handshake). */
  static async connect(options: FetchmlClientOptions): Promise<FetchmlClient> {
    const connect = options.connect ?? (await defaultConnector());
    const socket = connect(options.url);
    const client = new FetchmlClient(socket, options.apiKey, options.maxDepth ?? DEFAULT_MAX_DEPTH);
    await new Promise<void>((resolve, reject) => {
      socket.listen({
        open: resolve,
        message: (frame) => client.receive(frame),
        close: (code, reason) => {
          client.fail(new Error(`connection closed: ${code} ${reason}`));
          reject(new Error(`could not connect: ${code} ${reason}`));
        },
      });
    });
    return client;
  }

  /** Sends one request and resolves with the packet that answers it (success, data or error). */
  request<Op extends OperationName>(operation: Op, fields: OperationFields<Op>): Promise<Packet> {
    return this.raw(this.frame(operation, fields));
  }

  /**
   * Sends one request and returns its answer: a data packet's JSON, or a success packet's message.
   * An error packet is thrown as a {@link FetchmlError}.
   */
  async call<Op extends OperationName>(operation: Op, fields: OperationFields<Op>): Promise<unknown> {
    return unwrap(await this.request(operation, fields), this.maxDepth);
  }

  /** Sends any bytes as a request (tests send broken frames this way). */
  raw(frame: Uint8Array, progress?: (packet: Packet) => void): Promise<Packet> {
    const run = () =>
      new Promise<Packet>((resolve, reject) => {
        if (this.closed) return reject(this.closed);
        this.pending = { resolve, reject, ...(progress ? { progress } : {}) };
        this.socket.send(frame);
      });
    const answer = this.line.then(run, run);
    this.line = answer.catch(() => {});
    return answer;
  }

  /** Starts `stream_logs` for a target (a job id or name). */
  streamLogs(targetId: string): LogStream {
    const buffered: PacketOf<'log'>[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    const done = this.raw(this.frame('stream_logs', { target_id: targetId }), (packet) => {
      if (packet.type !== 'log') return;
      buffered.push(packet);
      wake?.();
    });
    done.finally(() => {
      finished = true;
      wake?.();
    });
    // Swallowed here: the caller sees the failure through `done` or `cancel()`.
    done.catch(() => {});
    return {
      done,
      cancel: () => {
        // Not queued behind the stream: it is what ends the stream.
        if (!this.closed) this.socket.send(this.frame('cancel_stream', { target_id: targetId }));
        return done;
      },
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (buffered.length) yield buffered.shift()!;
          if (finished) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
    };
  }

  /** Listens to status packets (job updates pushed by the server). Returns the unsubscribe function. */
  onStatus(listener: (packet: PacketOf<'status'>) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  close(): void {
    this.socket.close(1000, 'bye');
  }

  private frame<Op extends OperationName>(operation: Op, fields: OperationFields<Op>): Uint8Array {
    return encodeRequest(operation, {
      api_key_hash: this.keyHash,
      ...fields,
    } as unknown as RequestFields<Op>);
  }

  private receive(frame: string | Uint8Array): void {
    if (typeof frame === 'string') {
      this.fail(new Error('text frame on the fetch_ml binary wire'));
      return;
    }
    const decoded = decodePacket(frame);
    if (!decoded.ok) {
      this.pending?.reject(new Error(decoded.error.message));
      this.pending = undefined;
      return;
    }
    const { packet } = decoded;
    if (packet.type === 'status') {
      try {
        for (const listener of this.statusListeners) listener(packet);
      } catch (error) {
        // A throwing listener ends this connection (1011), as a fault handling a frame does on the
        // server: it must not leave the socket's message handler and end the process.
        this.fail(new Error(`a status listener threw: ${(error as Error)?.message}`));
        this.socket.close(CLOSE_CODES.INTERNAL_ERROR.code, 'client failed handling a frame');
      }
      return;
    }
    if (packet.type === 'log' || packet.type === 'progress') {
      this.pending?.progress?.(packet);
      return;
    }
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(packet);
  }

  private fail(error: Error): void {
    this.closed ??= error;
    this.pending?.reject(error);
    this.pending = undefined;
  }
}

/**
 * A data packet's JSON, a success packet's message; throws a FetchmlError for an error packet, and a
 * FetchmlPayloadError for a payload that is not JSON or nests deeper than `maxDepth` (default 64).
 */
export function unwrap(packet: Packet, maxDepth: number = DEFAULT_MAX_DEPTH): unknown {
  if (packet.type === 'error') throw new FetchmlError(packet);
  if (packet.type === 'success') return packet.message;
  if (packet.type === 'data' || packet.type === 'status') {
    const parsed = parseBoundedJson(new TextDecoder().decode(packet.payload), maxDepth);
    if (!parsed.ok) throw new FetchmlPayloadError(parsed.reason, `${packet.type} payload ${parsed.message}`);
    return parsed.value;
  }
  return packet;
}

function parseDetails(text: string): FetchmlError['details'] {
  const parsed = parseBoundedJson(text, DEFAULT_MAX_DEPTH);
  // Details are free text on servers other than ours; a deep or unreadable one says nothing.
  if (!parsed.ok) return {};
  const value = parsed.value;
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as FetchmlError['details'])
    : {};
}
