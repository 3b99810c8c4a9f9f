import { WebSocket } from 'ws';
import { CLOSE_CODES } from '../../protocol/close-codes.js';
import { HEMI_CLOSE_CODES } from '../../wire/hemi/close-codes.js';
import { errorOf, formatHemiError, type HemiError } from '../../wire/hemi/error.js';
import { handshakeIds, SECP256K1_COMMANDS } from '../../wire/hemi/handshake.js';
import { decodeHemiMessage, encodeHemiMessage, type HemiMessage, isObject } from '../../wire/hemi/message.js';
import { HEMI_TIMEOUTS } from '../../wire/hemi/timeouts.js';
import { answerChallenge } from './challenge.js';
import { publicKeyOf } from './signature.js';

export interface HemiClientOptions {
  /** `ws://host:port/path` of the Hemi (or Switchboard-over-Hemi) server. */
  readonly url: string;
  /** The client's secp256k1 private key (32 bytes). Without it no handshake runs, as a Hemi `Conn` without authenticator. */
  readonly privateKey?: Uint8Array;
  /** Sent as the hello's `userAgent`; omitted when unset. */
  readonly userAgent?: string;
  /** Dial, handshake and initial ping together; default 20 s (`WSConnectTimeout`). */
  readonly connectTimeoutMs?: number;
  /** From the open socket to the signed challenge sent; default 15 s (`WSHandshakeTimeout`). */
  readonly handshakeTimeoutMs?: number;
  /** Least time between a lost or failed connection and the next dial; default 5 s (popm's holdoff). */
  readonly holdoffMs?: number;
  /** Largest frame accepted; default 512 KiB (`defaultConnReadLimit`). */
  readonly readLimitBytes?: number;
  /** HTTP headers of the upgrade request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Dial again on its own after a lost connection (popm's connect loop); default false: the next call dials. */
  readonly autoReconnect?: boolean;
  /**
   * Messages that answer no pending call: notifications, server pings, replies to abandoned calls.
   * If it throws, the connection is closed with 1011 and pending calls fail with `DISCONNECTED`:
   * the error ends that connection, never the process.
   */
  readonly onMessage?: (message: HemiMessage) => void;
  /** Deepest nesting of objects and arrays accepted in a server frame; default `DEFAULT_MAX_DEPTH` (64). */
  readonly maxDepth?: number;
}

export interface HemiCallOptions {
  /** Give up on the reply after this long; the call fails with `TIMEOUT`. Default: wait as long as the connection lives. */
  readonly timeoutMs?: number;
}

/**
 * Why a Hemi client operation failed.
 * `DIAL_FAILED`: no WebSocket; `CONNECT_TIMEOUT`/`HANDSHAKE_TIMEOUT`: a timeout ran out;
 * `HANDSHAKE_FAILED`: the server's challenge was unusable; `REFUSED`: closed with 4100 (no more retries);
 * `DISCONNECTED`: the connection ended; `BAD_MESSAGE`: the server sent a frame that is not a Hemi message;
 * `TIMEOUT`: the call's own timeout; `REMOTE`: the reply carried an error (`hemiError`); `CLOSED`: `close()` was called.
 */
export class HemiClientError extends Error {
  override readonly name = 'HemiClientError';
  constructor(
    readonly code:
      | 'DIAL_FAILED'
      | 'CONNECT_TIMEOUT'
      | 'HANDSHAKE_TIMEOUT'
      | 'HANDSHAKE_FAILED'
      | 'REFUSED'
      | 'DISCONNECTED'
      | 'BAD_MESSAGE'
      | 'TIMEOUT'
      | 'REMOTE'
      | 'CLOSED',
    message: string,
    readonly details: { closeCode?: number; hemiError?: HemiError; reply?: HemiMessage } = {},
  ) {
    super(message);
  }
}

interface PendingCall {
  resolve(reply: HemiMessage): void;
  reject(error: HemiClientError): void;
}

type LinkState = 'dialing' | 'hello' | 'initial' | 'open' | 'closed';

/** One WebSocket and its handshake; a new one per (re)connect, so a stale socket's events touch nothing. */
interface Link {
  readonly socket: WebSocket;
  state: LinkState;
  settle(error?: HemiClientError): void;
}

/**
 * A Hemi RPC client, as heminetwork's `protocol.Conn`: dials within 20 s, runs the secp256k1
 * handshake within 15 s, waits for the server's first message (the ping with id "0"), then
 * correlates `call`s by the ids "1", "2", …. Any error fails every pending call; the next call
 * dials again, no sooner than `holdoffMs` after the loss. After a 4100 close it stops for good.
 *
 * @example
 * const client = new HemiClient({ url, privateKey });
 * const reply = await client.call('bfgapi-ping-request', { timestamp: Math.floor(Date.now() / 1000) });
 */
export class HemiClient {
  private link: Link | undefined;
  private connecting: Promise<void> | undefined;
  private readonly pending = new Map<string, PendingCall>();
  private nextId = 1;
  private lostAt = Number.NEGATIVE_INFINITY;
  private refusal: HemiClientError | undefined;
  private closed = false;
  private holdoffTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeHoldoff: (() => void) | undefined;
  private readonly publicKey: string | undefined;

  constructor(private readonly options: HemiClientOptions) {
    this.publicKey = options.privateKey ? publicKeyOf(options.privateKey) : undefined;
  }

  /** Whether a connection is up with its handshake and initial ping done (`IsOnline`). */
  get isOnline(): boolean {
    return this.link?.state === 'open';
  }

  /** Whether the server refused this key (close 4100); the client will not dial again. */
  get refused(): boolean {
    return this.refusal !== undefined;
  }

  /** Connects unless connected; concurrent callers share one attempt. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new HemiClientError('CLOSED', 'the client is closed'));
    if (this.refusal) return Promise.reject(this.refusal);
    if (this.link?.state === 'open') return Promise.resolve();
    this.connecting ??= this.dialAfterHoldoff().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * Sends `command` with the next id and resolves with the reply carrying that id. A reply whose
   * payload holds an `error` rejects with `REMOTE` (the reply is in `details.reply`).
   */
  async call(command: string, payload: unknown, options: HemiCallOptions = {}): Promise<HemiMessage> {
    await this.connect();
    const id = String(this.nextId++);
    if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1; // ids skip 0, which the server's first ping uses
    return new Promise<HemiMessage>((resolve, reject) => {
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(
                new HemiClientError('TIMEOUT', `${command} got no reply within ${options.timeoutMs} ms`),
              );
            }, options.timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          const error = errorOf(reply.payload);
          if (error)
            reject(new HemiClientError('REMOTE', formatHemiError(error), { hemiError: error, reply }));
          else resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      try {
        this.send({ command, id, payload });
      } catch (error) {
        this.pending
          .get(id)
          ?.reject(
            error instanceof HemiClientError
              ? error
              : new HemiClientError('BAD_MESSAGE', (error as Error).message),
          );
        this.pending.delete(id);
      }
    });
  }

  /** Sends one message without waiting for anything, e.g. a `*-ping-response` to a server's ping. */
  write(message: HemiMessage): void {
    this.send(message);
  }

  /** Closes with 1000, fails pending calls with `CLOSED`, and never dials again. */
  close(): void {
    this.closed = true;
    clearTimeout(this.holdoffTimer);
    this.wakeHoldoff?.();
    const link = this.link;
    this.link = undefined;
    link?.settle(new HemiClientError('CLOSED', 'the client is closed'));
    if (link && link.socket.readyState <= WebSocket.OPEN) link.socket.close(HEMI_CLOSE_CODES.NORMAL, '');
    this.failAll(new HemiClientError('CLOSED', 'the client is closed'));
  }

  private send(message: HemiMessage): void {
    if (this.closed) throw new HemiClientError('CLOSED', 'the client is closed');
    const link = this.link;
    if (link?.state !== 'open') throw new HemiClientError('DISCONNECTED', 'not connected');
    link.socket.send(encodeHemiMessage(message));
  }

  private async dialAfterHoldoff(): Promise<void> {
    const wait = this.lostAt + (this.options.holdoffMs ?? HEMI_TIMEOUTS.holdoffMs) - Date.now();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        this.wakeHoldoff = resolve;
        this.holdoffTimer = setTimeout(resolve, wait);
      });
      this.wakeHoldoff = undefined;
    }
    if (this.closed) throw new HemiClientError('CLOSED', 'the client is closed');
    await this.dial();
  }

  private dial(): Promise<void> {
    const { options } = this;
    const connectTimeoutMs = options.connectTimeoutMs ?? HEMI_TIMEOUTS.connectMs;
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? HEMI_TIMEOUTS.handshakeMs;
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(options.url, {
        maxPayload: options.readLimitBytes ?? HEMI_TIMEOUTS.readLimitBytes,
        handshakeTimeout: connectTimeoutMs,
        ...(options.headers ? { headers: { ...options.headers } } : {}),
      });
      let handshakeTimer: ReturnType<typeof setTimeout> | undefined;
      const connectTimer = setTimeout(
        () => fail(new HemiClientError('CONNECT_TIMEOUT', `not connected within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      let settled = false;
      const link: Link = {
        socket,
        state: 'dialing',
        settle: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          clearTimeout(handshakeTimer);
          if (error) reject(error);
          else resolve();
        },
      };
      this.link = link;
      // A failed attempt drops the socket; its close event then records the loss.
      const fail = (error: HemiClientError) => {
        link.settle(error);
        if (socket.readyState <= WebSocket.OPEN) socket.close(HEMI_CLOSE_CODES.NORMAL, '');
      };

      socket.on('open', () => {
        if (!this.publicKey || !options.privateKey) {
          link.state = 'initial';
          return;
        }
        link.state = 'hello';
        handshakeTimer = setTimeout(
          () =>
            fail(new HemiClientError('HANDSHAKE_TIMEOUT', `no handshake within ${handshakeTimeoutMs} ms`)),
          handshakeTimeoutMs,
        );
        socket.send(
          encodeHemiMessage({
            command: SECP256K1_COMMANDS.hello,
            id: handshakeIds.hello(this.publicKey),
            payload: {
              ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
              publickey: this.publicKey,
            },
          }),
        );
      });
      socket.on('message', (data, isBinary) => {
        if (this.link !== link) return;
        const frame = isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString('utf8');
        try {
          this.receive(link, decodeHemiMessage(frame, this.options.maxDepth), fail);
        } catch (error) {
          // A throwing onMessage (or any fault handling a frame) ends this connection, not the process.
          link.socket.close(CLOSE_CODES.INTERNAL_ERROR.code, 'client failed handling a frame');
          this.failAll(
            new HemiClientError('DISCONNECTED', `handling a frame failed: ${(error as Error)?.message}`),
          );
        }
      });
      // 'error' is always followed by 'close', where the loss is handled; listening keeps it from throwing.
      socket.on('error', (error) => {
        if (link.state === 'dialing')
          fail(new HemiClientError('DIAL_FAILED', `dial ${options.url}: ${error.message}`));
      });
      socket.on('close', (code, reasonBuffer) => this.lost(link, code, reasonBuffer.toString('utf8')));
    });
  }

  private receive(
    link: Link,
    decoded: ReturnType<typeof decodeHemiMessage>,
    fail: (error: HemiClientError) => void,
  ): void {
    if (!decoded.ok) {
      const error = new HemiClientError('BAD_MESSAGE', decoded.message);
      fail(error);
      this.failAll(error);
      return;
    }
    const message = decoded.message;
    switch (link.state) {
      case 'hello': {
        if (message.command !== SECP256K1_COMMANDS.helloChallenge || !isObject(message.payload)) {
          fail(
            new HemiClientError(
              'HANDSHAKE_FAILED',
              `unexpected command ${message.command} during the handshake`,
            ),
          );
          return;
        }
        const challenge = message.payload.message;
        const answer =
          typeof challenge === 'string' && this.options.privateKey
            ? answerChallenge(this.options.privateKey, challenge)
            : ({ ok: false, reason: 'not hex' } as const);
        if (!answer.ok) {
          fail(new HemiClientError('HANDSHAKE_FAILED', `unusable challenge: ${answer.reason}`));
          return;
        }
        link.socket.send(
          encodeHemiMessage({
            command: SECP256K1_COMMANDS.helloChallengeAccepted,
            id: handshakeIds.helloChallengeAccepted(this.publicKey!),
            payload: { signature: answer.signature },
          }),
        );
        link.state = 'initial';
        return;
      }
      case 'initial':
        // Any message ends the connect, as in Hemi; it is the server's ping with id "0" and is not delivered.
        link.state = 'open';
        link.settle();
        return;
      case 'open': {
        const call = message.id === '' ? undefined : this.pending.get(message.id);
        if (call) {
          this.pending.delete(message.id);
          call.resolve(message);
        } else this.options.onMessage?.(message);
        return;
      }
      default:
        return;
    }
  }

  private lost(link: Link, code: number, reason: string): void {
    const wasOpen = link.state === 'open';
    link.state = 'closed';
    if (this.link !== link) return;
    this.link = undefined;
    this.lostAt = Date.now();
    const described = `closed ${code}${reason ? ` ${reason}` : ''}`;
    if (code === HEMI_CLOSE_CODES.HANDSHAKE_ERROR) {
      this.refusal = new HemiClientError('REFUSED', `the server refused this key: ${described}`, {
        closeCode: code,
      });
    }
    const error =
      this.refusal ??
      new HemiClientError(wasOpen ? 'DISCONNECTED' : 'DIAL_FAILED', `connection ${described}`, {
        closeCode: code,
      });
    link.settle(error);
    this.failAll(error);
    if (this.options.autoReconnect && !this.closed && !this.refusal) this.redial();
  }

  /** popm's loop: keep dialing, holdoff apart, until connected, refused or closed. */
  private redial(): void {
    this.connect().catch(() => {
      // The failure already recorded its loss time; the next attempt waits the holdoff out.
      if (this.options.autoReconnect && !this.closed && !this.refusal && !this.connecting) this.redial();
    });
  }

  private failAll(error: HemiClientError): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }
}
