import { afterEach, describe, expect, test } from 'vitest';
import { HemiClient } from '../../../src/adapters/hemi/client.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { HEMI_CLOSE_CODES } from '../../../src/wire/hemi/close-codes.js';
import { until } from '../../support/harness.js';
import { nestedJson } from '../../support/hostile.js';
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
const clients: HemiClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await bfg?.server.close({ graceMs: 0 });
  bfg = undefined;
});

/** A well-behaved client on the same server: every call must keep getting its exact answer. */
async function witness(server: BfgServer): Promise<() => Promise<void>> {
  const key = keyPair();
  const hemi = new HemiClient({ url: server.url, privateKey: key.privateKey });
  clients.push(hemi);
  await within(hemi.connect());
  let n = 0;
  return async () => {
    n++;
    const reply = await within(hemi.call('bfgapi-l2-keystones-request', { numL2Keystones: 2 }));
    expect(reply).toEqual({
      command: 'bfgapi-l2-keystones-response',
      id: String(n),
      payload: { l2Keystones: [{ hash: 'h0' }, { hash: 'h1' }] },
    });
  };
}

/** A raw peer through the secp256k1 handshake, up to the initial ping. */
async function authenticatedPeer(url: string): Promise<RawPeer> {
  const key = keyPair();
  const peer = await rawPeer(url);
  peer.send(
    JSON.stringify({
      header: { command: 'secp256k1-hello', id: `Hello:${key.publicKey}` },
      payload: { publickey: key.publicKey },
    }),
  );
  const challenge = JSON.parse(await peer.next()) as { payload: { message: string } };
  peer.send(
    JSON.stringify({
      header: {
        command: 'secp256k1-hello-challenge-accepted',
        id: `HelloChallengeAccepted:${key.publicKey}`,
      },
      payload: { signature: signChallenge(key.privateKey, challenge.payload.message) },
    }),
  );
  expect(JSON.parse(await peer.next())).toMatchObject({
    header: { command: 'bfgapi-ping-request', id: '0' },
  });
  return peer;
}

const deepHello = `{"header":{"command":"secp256k1-hello","id":"Hello:02"},"payload":{"publickey":"02","userAgent":${nestedJson(5_000)}}}`;
const deepCall = `{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":${nestedJson(DEFAULT_MAX_DEPTH + 1, 'mixed')}}}`;

describe('a hostile Hemi peer costs its own connection only', () => {
  test.each([
    ['deep hello before the handshake (5,000 levels)', deepHello, HEMI_CLOSE_CODES.INVALID_COMMAND],
    ['garbage before the handshake', '\u0000{{not json', HEMI_CLOSE_CODES.INVALID_COMMAND],
    ['a truncated hello', deepHello.slice(0, 40), HEMI_CLOSE_CODES.INVALID_COMMAND],
    ['a binary frame', new Uint8Array([0x7b, 0xff, 0x00]), HEMI_CLOSE_CODES.UNSUPPORTED_DATA],
  ])('%s: closed with its documented code; the witness is served', async (_name, frame, code) => {
    bfg = await startBfg({});
    const served = await witness(bfg);
    await served();
    const hostile = await rawPeer(bfg.url);
    hostile.socket.send(frame);
    expect((await within(hostile.closed)).code).toBe(code);
    await served();
    await served();
  });

  test('a deep call after the handshake is closed with 4102; the witness is served', async () => {
    bfg = await startBfg({});
    const served = await witness(bfg);
    const hostile = await authenticatedPeer(bfg.url);
    hostile.send(deepCall);
    expect(await within(hostile.closed)).toEqual({
      code: HEMI_CLOSE_CODES.INVALID_COMMAND,
      reason: `invalid command: nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
    });
    await served();
  });

  test('a garbage signature is refused with 4100; an allow function that throws costs that handshake only', async () => {
    let throws = false;
    bfg = await startBfg({
      allow: (publicKey) => {
        if (throws) throw new Error('access list unavailable');
        return { id: publicKey, permissions: [] };
      },
    });
    const served = await witness(bfg);

    const garbage = await rawPeer(bfg.url);
    const key = keyPair();
    garbage.send(
      JSON.stringify({ header: { command: 'secp256k1-hello' }, payload: { publickey: key.publicKey } }),
    );
    await garbage.next();
    garbage.send(
      JSON.stringify({
        header: { command: 'secp256k1-hello-challenge-accepted' },
        payload: { signature: 'zz'.repeat(65) },
      }),
    );
    expect(await within(garbage.closed)).toEqual({
      code: HEMI_CLOSE_CODES.HANDSHAKE_ERROR,
      reason: 'malformed signature',
    });
    await served();

    throws = true;
    const faulty = await rawPeer(bfg.url);
    const other = keyPair();
    faulty.send(
      JSON.stringify({ header: { command: 'secp256k1-hello' }, payload: { publickey: other.publicKey } }),
    );
    const challenge = JSON.parse(await faulty.next()) as { payload: { message: string } };
    faulty.send(
      JSON.stringify({
        header: { command: 'secp256k1-hello-challenge-accepted' },
        payload: { signature: signChallenge(other.privateKey, challenge.payload.message) },
      }),
    );
    const closed = await within(faulty.closed);
    expect(closed.code).toBe(HEMI_CLOSE_CODES.HANDSHAKE_ERROR);
    expect(closed.reason).toMatch(/^authentication failed \(trace [0-9a-f]+\)$/);
    expect(bfg.records.some((r) => r.message === 'authenticator failed')).toBe(true);
    await served();
  });

  test('a client whose onMessage throws loses that connection (1011), not its process', async () => {
    bfg = await startBfg({ permissions: ['btc:read'] });
    const key = keyPair();
    const hemi = new HemiClient({
      url: bfg.url,
      privateKey: key.privateKey,
      onMessage: () => {
        throw new Error('listener bug');
      },
    });
    clients.push(hemi);
    await within(hemi.connect());
    // The notification reaches onMessage, which throws: the connection ends, the pending call fails.
    await expect(
      within(hemi.call('bfgapi-btc-finality-by-recent-keystones-request', { numRecentKeystones: 1 })),
    ).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await until(() => !hemi.isOnline, 2000, 'the connection to end');
  });
});
