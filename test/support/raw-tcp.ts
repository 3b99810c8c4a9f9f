import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A server frame as read off the wire. */
export interface WireFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * A WebSocket peer written by hand over a bare TCP socket, for what `ws` will not do: leave a frame
 * unfinished, declare a length it never sends, never answer a close frame, or read the HTTP refusal
 * of an upgrade. It never sends anything on its own.
 */
export interface RawTcpPeer {
  /** The upgrade's status line code (101 when upgraded) and headers, lower-cased. */
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Frames received so far, in order; `next()` waits for one. */
  readonly frames: WireFrame[];
  next(timeoutMs?: number): Promise<WireFrame>;
  /** Resolves when the server ends or drops the TCP connection (rejects after `timeoutMs`). */
  ended(timeoutMs: number): Promise<void>;
  /** Writes one masked frame; `declaredLength` lies about its length to leave it unfinished. */
  sendFrame(opcode: number, payload: Buffer, options?: { fin?: boolean; declaredLength?: number }): void;
  sendText(text: string): void;
  /** Sends what `write` sends in one TCP write, so the server reads it as one chunk. */
  batch(write: () => void): void;
  destroy(): void;
}

/** The close code and reason of a close frame. */
export function closeOf(frame: WireFrame): { code: number; reason: string } {
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() };
}

/** Opens a TCP connection to a `ws://` URL and sends the upgrade request. */
export async function rawTcpPeer(url: string, timeoutMs = 5000): Promise<RawTcpPeer> {
  const { hostname, port, pathname } = new URL(url);
  const socket: Socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  const frames: WireFrame[] = [];
  let buffer = Buffer.alloc(0);
  let head: { status: number; headers: Record<string, string> } | undefined;
  let wake: (() => void) | undefined;
  let ended = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!head) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buffer.subarray(0, end).toString().split('\r\n');
      head = {
        status: Number(statusLine!.split(' ')[1]),
        headers: Object.fromEntries(
          lines.map((line) => {
            const colon = line.indexOf(':');
            return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
          }),
        ),
      };
      buffer = buffer.subarray(end + 4);
    }
    // A refused upgrade is followed by its HTTP body, not frames.
    if (head.status !== 101) return notify();
    for (let frame = parseFrame(buffer); frame; frame = parseFrame(buffer)) {
      frames.push(frame.frame);
      buffer = buffer.subarray(frame.size);
    }
    notify();
  });
  const endedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      notify();
      resolve();
    }),
  );
  socket.on('error', () => {
    // A reset by the server shows as the close that follows.
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const waitFor = async <T>(ready: () => T | undefined, ms: number, what: string): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (ended) throw new Error(`connection ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const { status, headers } = await waitFor(() => head, timeoutMs, 'upgrade response');
  const sendFrame: RawTcpPeer['sendFrame'] = (opcode, payload, options = {}) => {
    const length = options.declaredLength ?? payload.length;
    const mask = randomBytes(4);
    const header =
      length < 126
        ? Buffer.from([0, 0x80 | length])
        : length < 65536
          ? Buffer.from([0, 0x80 | 126, length >> 8, length & 255])
          : Buffer.concat([Buffer.from([0, 0x80 | 127]), bigLength(length)]);
    header[0] = (options.fin === false ? 0 : 0x80) | opcode;
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
    socket.write(Buffer.concat([header, mask, masked]));
  };
  return {
    status,
    headers,
    frames,
    next: (ms = timeoutMs) => waitFor(() => frames.shift(), ms, 'frame'),
    ended: (ms) =>
      Promise.race([
        endedPromise,
        new Promise<void>((_, reject) =>
          setTimeout(() => reject(new Error(`the server kept the connection past ${ms} ms`)), ms).unref(),
        ),
      ]),
    sendFrame,
    sendText: (text) => sendFrame(1, Buffer.from(text)),
    batch(write) {
      socket.cork();
      write();
      socket.uncork();
    },
    destroy: () => socket.destroy(),
  };
}

function bigLength(length: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(length));
  return bytes;
}

/** One unmasked server frame at the start of `buffer`, or undefined until it is whole. */
function parseFrame(buffer: Buffer): { frame: WireFrame; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return undefined;
  return {
    frame: { opcode: buffer[0]! & 0x0f, payload: Buffer.from(buffer.subarray(offset, offset + length)) },
    size: offset + length,
  };
}
