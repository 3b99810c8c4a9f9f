import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, test } from 'vitest';
import type { Limits } from '../../../src/server/index.js';
import {
  type BfgServer,
  keyPair,
  type RawPeer,
  rawPeer,
  signChallenge,
  startBfg,
  within,
} from './support.js';

let bfg: BfgServer | undefined;
afterEach(async () => {
  await bfg?.server.close({ graceMs: 0 });
  bfg = undefined;
});

const hello = (publicKey: string) =>
  `{"header":{"command":"secp256k1-hello","id":"Hello:${publicKey}"},"payload":{"userAgent":"test/1.0","publickey":"${publicKey}"}}`;
const accepted = (publicKey: string, signature: string) =>
  `{"header":{"command":"secp256k1-hello-challenge-accepted","id":"HelloChallengeAccepted:${publicKey}"},"payload":{"signature":"${signature}"}}`;

/** Sends the hello and returns the challenge's message hex, after checking the challenge frame exactly. */
async function challenged(peer: RawPeer, publicKey: string): Promise<string> {
  peer.send(hello(publicKey));
  const frame = JSON.parse(await peer.next());
  expect(Object.keys(frame)).toEqual(['header', 'payload']);
  expect(frame.header).toEqual({ command: 'secp256k1-hello-challenge', id: `HelloChallenge:${publicKey}` });
  expect(Object.keys(frame.payload)).toEqual(['message']);
  return frame.payload.message;
}

async function start(allow?: string[], limits: Partial<Limits> = {}): Promise<BfgServer> {
  bfg = await startBfg(
    allow === undefined ? { permissions: ['btc:read'] } : { allow, permissions: ['btc:read'] },
    limits,
  );
  return bfg;
}

/** A raw peer past the handshake and the initial ping. */
async function connected(server: BfgServer, key = keyPair()): Promise<RawPeer> {
  const peer = await rawPeer(server.url);
  const message = await challenged(peer, key.publicKey);
  peer.send(accepted(key.publicKey, signChallenge(key.privateKey, message)));
  await peer.next();
  return peer;
}

describe('secp256k1 handshake over a real socket', () => {
  test('hello → challenge (nonce ‖ text) → signature → initial ping id "0" → a call', async () => {
    const key = keyPair();
    const server = await start([key.publicKey]);
    const peer = await rawPeer(server.url);
    const message = await challenged(peer, key.publicKey);

    const bytes = hexToBytes(message);
    expect(bytes.length).toBe(16 + 101);
    expect(bytes.subarray(0, 16).some((byte) => byte !== 0)).toBe(true);
    expect(bytesToHex(bytes.subarray(16))).toBe(
      bytesToHex(utf8ToBytes(`Hello: ${key.publicKey}\nMessage: I am not a robot!\n`)),
    );

    const before = Math.floor(Date.now() / 1000);
    peer.send(accepted(key.publicKey, signChallenge(key.privateKey, message)));
    const ping = await peer.next();
    const after = Math.floor(Date.now() / 1000);
    const timestamp = Number(/"timestamp":(\d+)/.exec(ping)?.[1]);
    expect(ping).toBe(
      `{"header":{"command":"bfgapi-ping-request","id":"0"},"payload":{"timestamp":${timestamp}}}`,
    );
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);

    const [connection] = server.server.list();
    expect(connection?.principal).toEqual({
      id: key.publicKey,
      permissions: ['btc:read'],
      attributes: { userAgent: 'test/1.0' },
    });

    peer.send('{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":2}}');
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-l2-keystones-response","id":"1"},"payload":{"l2Keystones":[{"hash":"h0"},{"hash":"h1"}]}}',
    );
    peer.socket.close();
  });

  test('a signature over another message closes 1000 "not the same signer" (as Hemi), and no session opens', async () => {
    const key = keyPair();
    const server = await start([key.publicKey]);
    const peer = await rawPeer(server.url);
    const message = await challenged(peer, key.publicKey);
    const other = bytesToHex(Uint8Array.from(hexToBytes(message), (byte, i) => (i === 0 ? byte ^ 1 : byte)));
    peer.send(accepted(key.publicKey, signChallenge(key.privateKey, other)));
    expect(await within(peer.closed)).toEqual({ code: 1000, reason: 'not the same signer' });
    expect(server.server.list()).toEqual([]);
  });

  test('another key\'s signature closes 1000 "not the same signer" (as Hemi), and no session opens', async () => {
    const key = keyPair();
    const server = await start([key.publicKey]);
    const peer = await rawPeer(server.url);
    const message = await challenged(peer, key.publicKey);
    peer.send(accepted(key.publicKey, signChallenge(keyPair().privateKey, message)));
    expect(await within(peer.closed)).toEqual({ code: 1000, reason: 'not the same signer' });
    expect(server.server.list()).toEqual([]);
  });

  test('a signature that is not 65 bytes of hex closes 4100 "malformed signature"', async () => {
    const key = keyPair();
    const server = await start([key.publicKey]);
    const peer = await rawPeer(server.url);
    const message = await challenged(peer, key.publicKey);
    peer.send(accepted(key.publicKey, signChallenge(key.privateKey, message).slice(2)));
    expect(await within(peer.closed)).toEqual({ code: 4100, reason: 'malformed signature' });
  });

  test('a key not in the allow-list closes 4100 "invalid public key" after proving itself', async () => {
    const allowed = keyPair();
    const stranger = keyPair();
    const server = await start([allowed.publicKey]);
    const peer = await rawPeer(server.url);
    const message = await challenged(peer, stranger.publicKey);
    peer.send(accepted(stranger.publicKey, signChallenge(stranger.privateKey, message)));
    expect(await within(peer.closed)).toEqual({ code: 4100, reason: 'invalid public key' });
    expect(server.server.list()).toEqual([]);
  });

  test('a hello with a key that is not a curve point closes 4100 "malformed public key"', async () => {
    const server = await start();
    const peer = await rawPeer(server.url);
    peer.send(hello('02ab'));
    expect(await within(peer.closed)).toEqual({ code: 4100, reason: 'malformed public key' });
  });

  test('a handshake that stops after the hello is closed on the handshake timeout (4101)', async () => {
    const key = keyPair();
    const server = await start([key.publicKey], { handshakeTimeoutMs: 150 });
    const peer = await rawPeer(server.url);
    await challenged(peer, key.publicKey);
    expect(await within(peer.closed)).toEqual({ code: 4101, reason: 'no challenge response within 150 ms' });
  });

  test('a socket that never says hello is closed on the handshake timeout (4101)', async () => {
    const server = await start(undefined, { handshakeTimeoutMs: 150 });
    const peer = await rawPeer(server.url);
    expect(await within(peer.closed)).toEqual({ code: 4101, reason: 'no hello within 150 ms' });
  });

  test('a request before the handshake closes 1002', async () => {
    const server = await start();
    const peer = await rawPeer(server.url);
    peer.send('{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":2}}');
    expect((await within(peer.closed)).code).toBe(1002);
  });
});

describe('after the handshake', () => {
  test('an unknown command drops the connection with 4102', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send('{"header":{"command":"bfgapi-nope-request","id":"1"},"payload":null}');
    expect(await within(peer.closed)).toEqual({
      code: 4102,
      reason: 'invalid command: unknown command "bfgapi-nope-request"',
    });
  });

  test('malformed JSON drops the connection with 4102', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send('{"header":');
    expect((await within(peer.closed)).code).toBe(4102);
  });

  test('a request error carries no trace; an internal error carries the logged trace and "internal error"', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send(
      '{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":99}}',
    );
    const requestError = await peer.next();
    const at = Number(/"timestamp":(\d+)/.exec(requestError)?.[1]);
    expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(5);
    expect(requestError).toBe(
      `{"header":{"command":"bfgapi-l2-keystones-response","id":"1"},"payload":{"error":{"timestamp":${at},"message":"not found: keystone 99"}}}`,
    );

    peer.send('{"header":{"command":"bfgapi-l2-crash-request","id":"2"},"payload":null}');
    const internal = JSON.parse(await peer.next());
    expect(internal.header).toEqual({ command: 'bfgapi-l2-crash-response', id: '2' });
    expect(Object.keys(internal.payload.error)).toEqual(['timestamp', 'trace', 'message']);
    expect(internal.payload.error.message).toBe('internal error');
    expect(internal.payload.error.trace).toMatch(/^[0-9a-f]{16}$/);
    const logged = server.records.find((record) => record.message === 'internal error');
    expect(logged?.fields.traceId).toBe(internal.payload.error.trace);
    expect((logged?.fields.error as Error | undefined)?.message).toBe('database exploded');
  });

  test('invalid input is a request error', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send(
      '{"header":{"command":"bfgapi-l2-keystones-request","id":"3"},"payload":{"numL2Keystones":"two"}}',
    );
    const reply = JSON.parse(await peer.next());
    expect(reply.header).toEqual({ command: 'bfgapi-l2-keystones-response', id: '3' });
    expect(reply.payload.error.trace).toBeUndefined();
    expect(reply.payload.error.message).toBe(
      'invalid input for l2.keystones: numL2Keystones: Invalid input: expected number, received string',
    );
  });

  test('a ping-request is answered with origintimestamp and the server time in unix seconds', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send('{"header":{"command":"bfgapi-ping-request"},"payload":{"timestamp":1700000000}}');
    const pong = await peer.next();
    const at = Number(/"timestamp":(\d+)}/.exec(pong)?.[1]);
    expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(5);
    expect(pong).toBe(
      `{"header":{"command":"bfgapi-ping-response"},"payload":{"origintimestamp":1700000000,"timestamp":${at}}}`,
    );
  });

  test('a notification pushed by a handler arrives before the response, without id', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send(
      '{"header":{"command":"bfgapi-btc-finality-by-recent-keystones-request","id":"4"},"payload":{"numRecentKeystones":3}}',
    );
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-btc-new-block-notification"},"payload":{"height":3}}',
    );
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-btc-finality-by-recent-keystones-response","id":"4"},"payload":{"finalities":[3]}}',
    );
  });

  test('stream items are responses with the call id; the end sends nothing', async () => {
    const server = await start();
    const peer = await connected(server);
    peer.send('{"header":{"command":"bfgapi-logs-tail-request","id":"5"},"payload":{"count":2}}');
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-logs-tail-response","id":"5"},"payload":{"line":"line 0"}}',
    );
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-logs-tail-response","id":"5"},"payload":{"line":"line 1"}}',
    );
    peer.send('{"header":{"command":"bfgapi-l2-keystones-request","id":"6"},"payload":{"numL2Keystones":0}}');
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-l2-keystones-response","id":"6"},"payload":{"l2Keystones":[]}}',
    );
  });
});

describe('liveness', () => {
  test('the heartbeat is a WebSocket ping, never an in-band frame, and its pong keeps the connection', async () => {
    const server = await start(undefined, { heartbeatMs: 40, heartbeatTimeoutMs: 100 });
    const peer = await connected(server);
    // ws answers pings with pongs on its own, as Hemi's Go client does.
    let pings = 0;
    await within(
      new Promise<void>((resolve) =>
        peer.socket.on('ping', () => {
          if (++pings === 5) resolve();
        }),
      ),
      2000,
      'five pings',
    );
    // Five pings span more than the 100 ms timeout: the pongs kept it open. The next frame is the reply, not a ping.
    peer.send('{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":0}}');
    expect(await peer.next()).toBe(
      '{"header":{"command":"bfgapi-l2-keystones-response","id":"1"},"payload":{"l2Keystones":[]}}',
    );
    expect(server.server.list()).toHaveLength(1);
  });
});
