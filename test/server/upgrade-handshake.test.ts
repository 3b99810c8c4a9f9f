import { afterEach, describe, expect, test } from 'vitest';
import { ApiKeyStore, apiKeys, bearerToken } from '../../src/server/index.js';
import type { WireFormat } from '../../src/wire/format.js';
import { jsonWire } from '../../src/wire/json.js';
import type { Message } from '../../src/wire/message.js';
import { type Harness, startHarness, TRANSPORTS, until } from '../support/harness.js';

/**
 * The JSON wire without its hello, as the seeds that authenticate at the upgrade (Buster, goval,
 * fetch_ml) have it; pings are left out so the server falls back to WebSocket ping frames.
 */
const upgradeWire: WireFormat = {
  ...jsonWire,
  name: 'test.upgrade/1',
  handshake: 'upgrade',
  encode: (message: Message) => (message.type === 'ping' ? null : jsonWire.encode(message)),
  // JSON has no bytes: this test wire sends a call's key hash as an array of numbers.
  decode(frame) {
    const decoded = jsonWire.decode(frame);
    if (!decoded.ok || decoded.message.type !== 'call' || !Array.isArray(decoded.message.credential))
      return decoded;
    return {
      ok: true,
      message: { ...decoded.message, credential: Uint8Array.from(decoded.message.credential) },
    };
  },
};

const sha = (key: string) => new Uint8Array(ApiKeyStore.hash(key).subarray(0, 16));

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each(TRANSPORTS)('over %s', (kind) => {
  test('authenticates from the upgrade request alone and welcomes without a hello', async () => {
    harness = await startHarness(
      {
        wire: upgradeWire,
        auth: bearerToken({
          verify: (token) => (token === 'good' ? { id: 'ada', permissions: ['*'] } : undefined),
        }),
      },
      { headers: { authorization: 'Bearer good' } },
      kind,
    );
    const peer = harness.raw();
    const welcome = await peer.next((message) => message.type === 'welcome');
    expect(welcome.principal).toEqual({ id: 'ada', permissions: ['*'] });
    peer.send({ type: 'call', id: 1, command: 'math.add', input: { a: 2, b: 3 } });
    expect(await peer.next((message) => message.type === 'result')).toEqual({
      type: 'result',
      id: 1,
      output: { sum: 5 },
    });
  });

  test('closes with 4100 when the upgrade request does not authenticate', async () => {
    harness = await startHarness(
      { wire: upgradeWire, auth: bearerToken({ verify: () => undefined }) },
      { headers: { authorization: 'Bearer bad' } },
      kind,
    );
    const peer = harness.raw();
    const closed = await peer.closed;
    expect(closed.code).toBe(4100);
    // Logged once, at warn, with the close's reason.
    expect(harness.records.filter((record) => record.fields.event === 'handshake.refused')).toEqual([
      {
        level: 'warn',
        message: 'handshake refused',
        fields: expect.objectContaining({ event: 'handshake.refused', code: 4100, reason: closed.reason }),
      },
    ]);
  });

  test('missing credentials at the upgrade: 4100, logged once as handshake.refused', async () => {
    harness = await startHarness(
      { wire: upgradeWire, auth: bearerToken({ verify: () => ({ id: 'ada', permissions: [] }) }) },
      {},
      kind,
    );
    const closed = await harness.raw().closed;
    expect(closed.code).toBe(4100);
    const refused = harness.records.filter((record) => record.fields.event === 'handshake.refused');
    expect(refused.map((record) => [record.level, record.fields.code, record.fields.reason])).toEqual([
      ['warn', 4100, closed.reason],
    ]);
  });

  test('sends WebSocket ping frames when the wire has no ping, and a silent peer is closed idle', async () => {
    harness = await startHarness(
      {
        wire: upgradeWire,
        // Dead after 300 ms of silence, idle after 900: only pongs can keep it past the first.
        // The margins leave a loaded machine's event loop 250 ms of slack per ping.
        limits: { heartbeatMs: 50, heartbeatTimeoutMs: 300, idleTimeoutMs: 900 },
      },
      {},
      kind,
    );
    const peer = harness.raw();
    await peer.next((message) => message.type === 'welcome');
    const closed = await peer.closed;
    // Pongs (answered by ws itself) kept it from 4200; only the idle limit ended it.
    expect(closed).toEqual({ code: 1000, reason: 'idle for 900 ms' });
    expect(peer.frames.filter((frame) => String(frame).includes('"ping"'))).toEqual([]);
  });

  test('runs each call as the principal its per-call key hash names, refusing unknown ones', async () => {
    const store = new ApiKeyStore();
    store.addHash(ApiKeyStore.hash('reader-key'), { id: 'reader', permissions: ['math:add'] });
    store.addHash(ApiKeyStore.hash('admin-key'), { id: 'admin', permissions: ['*'] });
    // The connection itself is anonymous: apiKeys() has no hello credentials to check on this wire.
    const keys = apiKeys(store);
    harness = await startHarness(
      {
        wire: upgradeWire,
        auth: {
          authenticate: () => ({ ok: true, principal: { id: 'anonymous', permissions: [] } }),
          authenticateCall: keys.authenticateCall,
        },
      },
      {},
      kind,
    );
    const raw = harness.raw();
    await raw.next((message) => message.type === 'welcome');
    const call = (id: number, command: string, input: object, key: Uint8Array | string) =>
      raw.socket.send(
        // JSON cannot carry bytes; this test wire's credential is the hash as an array of numbers.
        JSON.stringify({
          type: 'call',
          id,
          command,
          input,
          credential: typeof key === 'string' ? key : [...key],
        }),
      );
    call(1, 'math.add', { a: 1, b: 2 }, sha('reader-key'));
    call(2, 'math.divide', { a: 6, b: 3 }, sha('reader-key'));
    call(3, 'math.divide', { a: 6, b: 3 }, sha('admin-key'));
    call(4, 'math.add', { a: 1, b: 2 }, sha('nobody-key'));
    const replies = new Map<number, Record<string, unknown>>();
    await until(() => {
      for (const frame of raw.frames.splice(0)) {
        const message = JSON.parse(frame as string);
        if (message.id !== undefined) replies.set(message.id, message);
      }
      return replies.size === 4;
    });
    expect(replies.get(1)).toEqual({ type: 'result', id: 1, output: { sum: 3 } });
    expect(replies.get(2)).toMatchObject({ type: 'error', id: 2, code: 'PERMISSION_DENIED' });
    expect(replies.get(3)).toEqual({ type: 'result', id: 3, output: 2 });
    expect(replies.get(4)).toMatchObject({
      type: 'error',
      id: 4,
      code: 'UNAUTHENTICATED',
      message: 'unknown API key hash',
    });
  });
});

describe('a wire whose decoder throws', () => {
  test('costs the frame a BAD_MESSAGE with a logged trace id, not the process or the connection', async () => {
    const throwing: WireFormat = {
      ...jsonWire,
      decode(frame) {
        if (frame === 'boom') throw new RangeError('Maximum call stack size exceeded');
        return jsonWire.decode(frame);
      },
    };
    harness = await startHarness({ wire: throwing });
    const peer = harness.raw();
    await peer.handshake();
    peer.send('boom');
    const error = await peer.next((message) => message.type === 'error');
    expect(error.code).toBe('BAD_MESSAGE');
    const traceId = /trace ([0-9a-f]+)/.exec(error.message)?.[1];
    expect(
      harness.records.find((record) => record.message === 'the wire decoder threw')?.fields.traceId,
    ).toBe(traceId);
    peer.send({ type: 'call', id: 7, command: 'math.add', input: { a: 1, b: 1 } });
    expect(await peer.next((message) => message.type === 'result')).toEqual({
      type: 'result',
      id: 7,
      output: { sum: 2 },
    });
  });
});

describe('pings with ids', () => {
  test('a ping that carries an id is answered by a pong with the same id', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'ping', ts: 123, id: 'p-1' });
    const pong = await peer.next((message) => message.type === 'pong');
    expect([pong.ts, pong.id, typeof pong.at]).toEqual([123, 'p-1', 'number']);
  });
});
