/**
 * A WebSocket client written by hand over a `net` socket, so a test can send what no real client
 * would: fragments (FIN=0 then continuations), invalid UTF-8 in a text frame, a header announcing
 * more bytes than ever come, unmasked frames, plain garbage. It reads the server's frames (unmasked,
 * as RFC 6455 requires of a server), answers pings unless told to play dead, never answers a close
 * frame, and records the close code and the moment the TCP connection ended.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface RawFrameOptions {
  /** FIN bit; false starts (or continues) a fragmented message. Default true. */
  readonly fin?: boolean;
  readonly opcode: number;
  /** Clients must mask; false sends an unmasked frame (a protocol error). Default true. */
  readonly mask?: boolean;
  /** The length the header announces; default the payload's. Larger leaves the frame unfinished. */
  readonly announcedLength?: number;
}

/** One WebSocket frame, as bytes, built by hand. */
export function frameBytes(payload: Uint8Array, options: RawFrameOptions): Buffer {
  const length = options.announcedLength ?? payload.length;
  const masked = options.mask ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | options.opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([Buffer.from(head), key, body]);
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

export interface ConnectOptions {
  readonly port: number;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Source address (any 127.x works on loopback), so per-address limits see distinct peers. */
  readonly from?: string;
  /** Answer WebSocket pings, as any live client does; false plays a dead peer. Default true. */
  readonly autoPong?: boolean;
  /** Send a WebSocket ping this often, for servers that expect the peer to ping (sandbox-sync). */
  readonly pingEveryMs?: number;
}

/** The upgrade was refused: the HTTP status and body. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upgrade refused with HTTP ${status}: ${body}`);
  }
}

export class RawWebSocket {
  /** Data messages received (fragments joined), in order. */
  readonly messages: ServerFrame[] = [];
  /** Close code the server sent (1005 when its close frame had none), once it did. */
  closeCode: number | undefined;
  closeReason = '';
  /** When the TCP connection ended (ms since epoch), once it did. */
  endedAt: number | undefined;
  private buffer = Buffer.alloc(0);
  private fragments: ServerFrame[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly socket: Socket,
    private readonly autoPong: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.endedAt = Date.now();
      this.wake();
    });
  }

  /** Opens a TCP connection and upgrades it; rejects with UpgradeRefused on an HTTP answer. */
  static open(options: ConnectOptions): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port: options.port,
        ...(options.from ? { localAddress: options.from } : {}),
      });
      const key = randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        const status = Number(text.split(' ')[1]);
        if (status !== 101) {
          // The body follows the headers; read it to the end of the connection (refusals close).
          const rest: Buffer[] = [head.subarray(end + 4)];
          socket.off('data', onData);
          socket.on('data', (more: Buffer) => rest.push(more));
          socket.once('close', () => reject(new UpgradeRefused(status, Buffer.concat(rest).toString())));
          socket.end();
          return;
        }
        socket.off('data', onData);
        socket.off('error', reject);
        const raw = new RawWebSocket(socket, options.autoPong ?? true);
        if (options.pingEveryMs) {
          const pinger = setInterval(
            () => raw.write(frameBytes(Buffer.alloc(0), { opcode: OPCODE.ping })),
            options.pingEveryMs,
          );
          pinger.unref();
          socket.once('close', () => clearInterval(pinger));
        }
        const leftover = head.subarray(end + 4);
        if (leftover.length) socket.emit('data', leftover);
        resolve(raw);
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('connect', () => {
        const headers = {
          Host: `127.0.0.1:${options.port}`,
          Upgrade: 'websocket',
          Connection: 'Upgrade',
          'Sec-WebSocket-Key': key,
          'Sec-WebSocket-Version': '13',
          ...options.headers,
        };
        const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
        socket.write(`GET ${options.path ?? '/'} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      });
    });
  }

  /** Sends one whole frame. */
  send(payload: Uint8Array | string, options: Partial<RawFrameOptions> & { opcode?: number } = {}): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.write(frameBytes(bytes, { opcode: OPCODE.text, ...options }));
  }

  /** Writes bytes as they are (several frames at once, or garbage). */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  /** Resolves with the next data message from index `from` on; fails after `timeoutMs` or at the end. */
  async message(from: number, timeoutMs = 3000): Promise<ServerFrame> {
    await this.until(() => this.messages.length > from || this.ended, timeoutMs, 'a message');
    const message = this.messages[from];
    if (!message) throw new Error(`the connection ended (close ${this.closeCode}) before message ${from}`);
    return message;
  }

  /** Resolves once the server sent a close frame or dropped the connection, with the code (if any). */
  async closed(timeoutMs = 3000): Promise<{ code: number | undefined; reason: string }> {
    await this.until(() => this.closeCode !== undefined || this.ended, timeoutMs, 'a close');
    return { code: this.closeCode, reason: this.closeReason };
  }

  /** Resolves once the TCP connection ended (this peer never answers a close frame itself). */
  gone(timeoutMs = 3000): Promise<void> {
    return this.until(() => this.ended, timeoutMs, 'the end of the TCP connection');
  }

  /** Waits until `check` holds; re-checked on every frame and at the end; fails after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        let done: boolean;
        try {
          done = check();
        } catch (error) {
          // A check that throws (an inexact answer) fails the wait with its own message.
          clearTimeout(timer);
          this.waiters.delete(wake);
          reject(error);
          return;
        }
        if (!done) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(
          new Error(
            `no ${what} within ${timeoutMs} ms (received ${this.messages.length}, close ${this.closeCode})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(wake);
      wake();
    });
  }

  /** Drops the TCP connection without a close frame. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private parse(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const fin = ((b[0] as number) & 0x80) !== 0;
      const opcode = (b[0] as number) & 0x0f;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const payload = b.subarray(offset, offset + length);
      this.buffer = b.subarray(offset + length);
      if (opcode === OPCODE.close) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString();
      } else if (opcode === OPCODE.ping) {
        if (this.autoPong) this.write(frameBytes(payload, { opcode: OPCODE.pong }));
      } else if (opcode === OPCODE.pong) {
        // Nothing to do: this peer never pings.
      } else {
        this.fragments.push({ opcode, payload: Buffer.from(payload) });
        if (fin) {
          const first = this.fragments[0] as ServerFrame;
          this.messages.push({
            opcode: first.opcode,
            payload: Buffer.concat(this.fragments.map((f) => f.payload)),
          });
          this.fragments = [];
        }
      }
    }
  }
}
