import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { HemiClient, HemiClientError } from '../../../src/adapters/hemi/client.js';
import { createServer, silentLogger } from '../../../src/server/index.js';
import type { HemiMessage } from '../../../src/wire/hemi/message.js';
import { hemiWire } from '../../../src/wire/hemi/wire.js';
import { bfgProtocol } from '../../wire/hemi/fixtures.js';
import { type BfgServer, bfgHandlers, keyPair, rawPeer, startBfg, within } from './support.js';

let bfg: BfgServer | undefined;
const clients: HemiClient[] = [];
const fakes: WebSocketServer[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await bfg?.server.close({ graceMs: 0 });
  bfg = undefined;
  for (const fake of fakes.splice(0)) await new Promise((resolve) => fake.close(resolve));
});

function client(options: ConstructorParameters<typeof HemiClient>[0]): HemiClient {
  const made = new HemiClient(options);
  clients.push(made);
  return made;
}

async function failure(promise: Promise<unknown>): Promise<HemiClientError> {
  const error = await within(
    promise.then(
      () => undefined,
      (reason: unknown) => reason,
    ),
    3000,
    'failure',
  );
  expect(error).toBeInstanceOf(HemiClientError);
  return error as HemiClientError;
}

/** A plain ws server playing a misbehaving Hemi server. */
async function fakeServer(
  onMessage: (send: (frame: string) => void, frame: string) => void,
): Promise<string> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  fakes.push(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => {
    socket.on('message', (data) =>
      onMessage((frame) => socket.send(frame), (data as Buffer).toString('utf8')),
    );
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('HemiClient against a Switchboard server on the Hemi wire', () => {
  test('connects, handshakes, waits for the initial ping, then calls with ids "1", "2"', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey], permissions: ['btc:read'] });
    const unsolicited: HemiMessage[] = [];
    const hemi = client({
      url: bfg.url,
      privateKey: key.privateKey,
      userAgent: 'popm/test',
      onMessage: (m) => unsolicited.push(m),
    });
    await within(hemi.connect());
    expect(hemi.isOnline).toBe(true);
    expect(bfg.server.list().map((connection) => connection.principal.id)).toEqual([key.publicKey]);

    const first = await within(hemi.call('bfgapi-l2-keystones-request', { numL2Keystones: 1 }));
    expect(first).toEqual({
      command: 'bfgapi-l2-keystones-response',
      id: '1',
      payload: { l2Keystones: [{ hash: 'h0' }] },
    });
    const second = await within(
      hemi.call('bfgapi-btc-finality-by-recent-keystones-request', { numRecentKeystones: 7 }),
    );
    expect(second).toEqual({
      command: 'bfgapi-btc-finality-by-recent-keystones-response',
      id: '2',
      payload: { finalities: [7] },
    });
    // The notification came before the response, with no id: delivered to the listener, the initial ping not.
    expect(unsolicited).toEqual([
      { command: 'bfgapi-btc-new-block-notification', id: '', payload: { height: 7 } },
    ]);
  });

  test('calls dial lazily; a reply with an error rejects with REMOTE and the Hemi error', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey] });
    const hemi = client({ url: bfg.url, privateKey: key.privateKey });
    expect(hemi.isOnline).toBe(false);
    const error = await failure(hemi.call('bfgapi-l2-keystones-request', { numL2Keystones: 99 }));
    expect(error.code).toBe('REMOTE');
    expect(error.message).toBe('not found: keystone 99');
    expect(error.details.hemiError).toEqual({
      timestamp: error.details.hemiError!.timestamp,
      message: 'not found: keystone 99',
    });

    const internal = await failure(hemi.call('bfgapi-l2-crash-request', null));
    expect(internal.code).toBe('REMOTE');
    const { trace, timestamp } = internal.details.hemiError!;
    expect(trace).toMatch(/^[0-9a-f]{16}$/);
    expect(internal.message).toBe(`internal error [${trace}:${timestamp}]`);
  });

  test('an unlisted key gets REFUSED (4100 "invalid public key") and the client never dials again', async () => {
    bfg = await startBfg({ allow: [keyPair().publicKey] });
    const hemi = client({ url: bfg.url, privateKey: keyPair().privateKey, holdoffMs: 0 });
    const refused = await failure(hemi.connect());
    expect(refused.code).toBe('REFUSED');
    expect(refused.details.closeCode).toBe(4100);
    expect(refused.message).toBe('the server refused this key: closed 4100 invalid public key');
    expect(hemi.refused).toBe(true);
    expect(bfg.upgrades.count).toBe(1);
    expect((await failure(hemi.call('bfgapi-l2-keystones-request', { numL2Keystones: 1 }))).code).toBe(
      'REFUSED',
    );
    expect(bfg.upgrades.count).toBe(1);
  });

  test('a lost connection fails pending calls; the next call dials again after the holdoff', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey] });
    const hemi = client({ url: bfg.url, privateKey: key.privateKey, holdoffMs: 300 });
    await within(hemi.connect());
    const pending = hemi.call('bfgapi-l2-hang-request', null);
    // An unknown command makes the server drop the connection, as a Hemi server does.
    hemi.write({ command: 'bfgapi-nope-request', id: '', payload: null });
    const lost = await failure(pending);
    expect(lost.code).toBe('DISCONNECTED');
    expect(lost.details.closeCode).toBe(4102);
    expect(hemi.isOnline).toBe(false);

    const started = Date.now();
    const reply = await within(hemi.call('bfgapi-l2-keystones-request', { numL2Keystones: 0 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(reply).toEqual({ command: 'bfgapi-l2-keystones-response', id: '2', payload: { l2Keystones: [] } });
    expect(bfg.upgrades.count).toBe(2);
  });

  test('autoReconnect dials again on its own after the holdoff', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey] });
    const hemi = client({ url: bfg.url, privateKey: key.privateKey, holdoffMs: 50, autoReconnect: true });
    await within(hemi.connect());
    hemi.write({ command: 'bfgapi-nope-request', id: '', payload: null });
    await within(bfg.opened(2), 2000, 'second handshake');
    expect(bfg.upgrades.count).toBe(2);
    expect(bfg.server.list()).toHaveLength(1);
  });

  test('a close() fails pending calls with CLOSED and stops for good', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey] });
    const hemi = client({ url: bfg.url, privateKey: key.privateKey });
    await within(hemi.connect());
    const pending = hemi.call('bfgapi-l2-hang-request', null);
    hemi.close();
    expect((await failure(pending)).code).toBe('CLOSED');
    expect((await failure(hemi.connect())).code).toBe('CLOSED');
  });

  test('a call times out on its own timeout', async () => {
    const key = keyPair();
    bfg = await startBfg({ allow: [key.publicKey] });
    const hemi = client({ url: bfg.url, privateKey: key.privateKey });
    const error = await failure(hemi.call('bfgapi-l2-hang-request', null, { timeoutMs: 50 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toBe('bfgapi-l2-hang-request got no reply within 50 ms');
  });

  test('a refused dial fails with DIAL_FAILED', async () => {
    const url = await fakeServer(() => {});
    const port = new URL(url).port;
    await new Promise((resolve) => fakes.pop()!.close(resolve));
    const hemi = client({ url: `ws://127.0.0.1:${port}`, privateKey: keyPair().privateKey });
    expect((await failure(hemi.connect())).code).toBe('DIAL_FAILED');
  });
});

describe('a Hemi API without an authenticator', () => {
  test('the server pings with id "0" as the socket opens, and a client without a key calls at once', async () => {
    const server = await createServer({
      protocol: bfgProtocol,
      handlers: bfgHandlers,
      port: 0,
      host: '127.0.0.1',
      wire: hemiWire({ api: 'tbcapi', protocol: bfgProtocol, handshake: 'none' }),
      logger: silentLogger,
    });
    try {
      const peer = await rawPeer(server.url);
      expect(await peer.next()).toMatch(
        /^\{"header":\{"command":"tbcapi-ping-request","id":"0"\},"payload":\{"timestamp":\d+\}\}$/,
      );
      peer.send('{"header":{"command":"secp256k1-hello","id":"Hello:02"},"payload":{"publickey":"02"}}');
      expect((await within(peer.closed)).code).toBe(4102);

      const hemi = client({ url: server.url });
      expect(await within(hemi.call('tbcapi-l2-keystones-request', { numL2Keystones: 1 }))).toEqual({
        command: 'tbcapi-l2-keystones-response',
        id: '1',
        payload: { l2Keystones: [{ hash: 'h0' }] },
      });
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});

describe('HemiClient against misbehaving servers', () => {
  test('a server that never sends the challenge runs out the handshake timeout', async () => {
    const url = await fakeServer(() => {});
    const hemi = client({ url, privateKey: keyPair().privateKey, handshakeTimeoutMs: 100 });
    const error = await failure(hemi.connect());
    expect(error.code).toBe('HANDSHAKE_TIMEOUT');
    expect(error.message).toBe('no handshake within 100 ms');
  });

  test('a server that never sends the initial ping runs out the connect timeout', async () => {
    const url = await fakeServer((send, frame) => {
      const { header } = JSON.parse(frame);
      if (header.command === 'secp256k1-hello') {
        send(
          `{"header":{"command":"secp256k1-hello-challenge","id":"x"},"payload":{"message":"${'01'.repeat(20)}"}}`,
        );
      }
    });
    const hemi = client({ url, privateKey: keyPair().privateKey, connectTimeoutMs: 200 });
    const error = await failure(hemi.connect());
    expect(error.code).toBe('CONNECT_TIMEOUT');
    expect(error.message).toBe('not connected within 200 ms');
  });

  test('a challenge with an all-zero nonce is refused, unsigned', async () => {
    const received: string[] = [];
    const url = await fakeServer((send, frame) => {
      received.push(JSON.parse(frame).header.command);
      send(
        `{"header":{"command":"secp256k1-hello-challenge","id":"x"},"payload":{"message":"${'00'.repeat(16)}ff"}}`,
      );
    });
    const hemi = client({ url, privateKey: keyPair().privateKey });
    const error = await failure(hemi.connect());
    expect(error.code).toBe('HANDSHAKE_FAILED');
    expect(error.message).toBe('unusable challenge: zero nonce');
    expect(received).toEqual(['secp256k1-hello']);
  });

  test('a hello answered by anything but a challenge fails the handshake', async () => {
    const url = await fakeServer((send) =>
      send('{"header":{"command":"bfgapi-ping-request","id":"0"},"payload":{}}'),
    );
    const hemi = client({ url, privateKey: keyPair().privateKey });
    const error = await failure(hemi.connect());
    expect(error.code).toBe('HANDSHAKE_FAILED');
    expect(error.message).toBe('unexpected command bfgapi-ping-request during the handshake');
  });

  test('a frame that is not a Hemi message fails pending calls with BAD_MESSAGE', async () => {
    const url = await fakeServer((send, frame) => {
      const { header } = JSON.parse(frame);
      if (header.command === 'secp256k1-hello') {
        send(
          `{"header":{"command":"secp256k1-hello-challenge","id":"x"},"payload":{"message":"${'01'.repeat(20)}"}}`,
        );
      } else if (header.command === 'secp256k1-hello-challenge-accepted') {
        send('{"header":{"command":"bfgapi-ping-request","id":"0"},"payload":{"timestamp":1}}');
      } else send('not json');
    });
    const hemi = client({ url, privateKey: keyPair().privateKey });
    const error = await failure(hemi.call('bfgapi-anything-request', {}));
    expect(error.code).toBe('BAD_MESSAGE');
    expect(error.message).toMatch(/^malformed JSON: /);
  });
});
