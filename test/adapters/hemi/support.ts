import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { WebSocket } from 'ws';
import { type Secp256k1AuthOptions, secp256k1Auth } from '../../../src/adapters/hemi/authenticator.js';
import { createServer, type Handlers, type Limits, type Server } from '../../../src/server/index.js';
import { hemiWire } from '../../../src/wire/hemi/wire.js';
import { recordingLogger } from '../../support/harness.js';
import { bfgProtocol } from '../../wire/hemi/fixtures.js';

export type Bfg = typeof bfgProtocol;

/** Handlers of the BFG-like protocol: a result, a request error, an internal fault, a push, a stream, a call that never ends. */
export const bfgHandlers: Handlers<Bfg> = {
  l2: {
    keystones: ({ numL2Keystones }, ctx) =>
      numL2Keystones === 99
        ? ctx.fail('NOT_FOUND', 'not found: keystone 99')
        : { l2Keystones: Array.from({ length: numL2Keystones }, (_, i) => ({ hash: `h${i}` })) },
    crash: () => {
      throw new Error('database exploded');
    },
    hang: (_input, ctx) =>
      new Promise<null>((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))),
  },
  btc: {
    finalityByRecentKeystones: ({ numRecentKeystones }, ctx) => {
      ctx.push('btc.newBlock', { height: numRecentKeystones });
      return { finalities: [numRecentKeystones] };
    },
  },
  logs: {
    async *tail({ count }) {
      for (let i = 0; i < count; i++) yield { line: `line ${i}` };
    },
  },
};

/** A key pair made by @noble/curves. */
export function keyPair(): { privateKey: Uint8Array; publicKey: string } {
  const privateKey = secp256k1.utils.randomSecretKey();
  return { privateKey, publicKey: bytesToHex(secp256k1.getPublicKey(privateKey, true)) };
}

/**
 * Signs a challenge message with @noble/curves directly, writing the btcec header byte by hand
 * (27 + 4 + recid, then r‖s), so the tests do not lean on the adapter's own signing code.
 */
export function signChallenge(privateKey: Uint8Array, messageHex: string): string {
  const recovered = secp256k1.sign(sha256(hexToBytes(messageHex)), privateKey, {
    prehash: false,
    format: 'recovered',
  });
  const compact = Uint8Array.from(recovered);
  compact[0] = 31 + recovered[0]!;
  return bytesToHex(compact);
}

export interface BfgServer {
  server: Server<Bfg>;
  url: string;
  records: ReturnType<typeof recordingLogger>['records'];
  /** Upgrade requests seen, handshakes included: proves whether a client dialed again. */
  upgrades: { count: number };
  /** Resolves once `count` handshakes have completed since the server started. */
  opened(count: number): Promise<void>;
}

/** A Switchboard server speaking Hemi on a real `ws` socket on 127.0.0.1, port 0. */
export async function startBfg(auth: Secp256k1AuthOptions, limits: Partial<Limits> = {}): Promise<BfgServer> {
  const { logger, records } = recordingLogger();
  const upgrades = { count: 0 };
  let handshakes = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const server = await createServer({
    protocol: bfgProtocol,
    handlers: bfgHandlers,
    port: 0,
    host: '127.0.0.1',
    wire: hemiWire({ api: 'bfgapi', protocol: bfgProtocol }),
    auth: secp256k1Auth(auth),
    limits: { handshakeTimeoutMs: 15_000, ...limits },
    logger,
    verifyUpgrade: () => {
      upgrades.count++;
      return undefined;
    },
    onConnect: () => {
      handshakes++;
      for (const waiter of waiting.filter((w) => w.count <= handshakes)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  const opened = (count: number) =>
    count <= handshakes
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ count, resolve }));
  return { server, url: server.url, records, upgrades, opened };
}

/** A raw WebSocket whose frames are read in order, each awaited with a timeout. */
export interface RawPeer {
  socket: WebSocket;
  send(frame: string): void;
  next(timeoutMs?: number): Promise<string>;
  /** The close code and reason, once the server closes. */
  closed: Promise<{ code: number; reason: string }>;
}

export async function rawPeer(url: string): Promise<RawPeer> {
  const socket = new WebSocket(url);
  const frames: string[] = [];
  const waiting: ((frame: string) => void)[] = [];
  socket.on('message', (data) => {
    const frame = (data as Buffer).toString('utf8');
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    send: (frame) => socket.send(frame),
    next: (timeoutMs = 2000) => {
      const frame = frames.shift();
      if (frame !== undefined) return Promise.resolve(frame);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((received) => {
          clearTimeout(timer);
          resolve(received);
        });
      });
    },
    closed,
  };
}

/** Rejects when `promise` takes longer than `ms`: an event a test waits on that never comes fails the test. */
export function within<T>(promise: Promise<T>, ms = 2000, what = 'event'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
