import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, defineProtocol } from '../../src/protocol/index.js';
import { ApiKeyStore, apiKeys, bearerToken, challengeResponse } from '../../src/server/index.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe.each(TRANSPORTS)('over %s', (kind) => {
  describe('handshake', () => {
    test('welcomes a hello with the connection id, principal, heartbeat and limits', async () => {
      harness = await startHarness({ limits: { heartbeatMs: 5000, maxInFlight: 7 } }, {}, kind);
      const welcome = await harness.raw().handshake();
      expect(welcome).toEqual({
        type: 'welcome',
        connectionId: harness.server.list()[0]!.id,
        protocol: 'test',
        version: '1.2.0',
        principal: { id: 'anonymous', permissions: ['*'] },
        heartbeatMs: 5000,
        limits: { maxMessageBytes: 1048576, maxInFlight: 7, ratePerSecond: 1000, rateBurst: 2000 },
      });
    });

    test('closes with 4101 when no hello arrives within handshakeTimeoutMs', async () => {
      harness = await startHarness({ limits: { handshakeTimeoutMs: 50 } }, {}, kind);
      expect(await harness.raw().closed).toEqual({ code: 4101, reason: 'no hello within 50 ms' });
    });

    test('closes with 1002 when a call comes before the hello', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      peer.send({ type: 'call', id: 1, command: 'math.add', input: { a: 1, b: 1 } });
      expect(await peer.closed).toEqual({
        code: 1002,
        reason: 'expected hello during the handshake, got call',
      });
    });

    test('closes with 1002 on malformed JSON before the handshake', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      peer.send('{"type":');
      expect((await peer.closed).code).toBe(1002);
    });

    test('closes with 4102 naming both versions when the major differs', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '2.0.0' });
      expect(await peer.closed).toEqual({
        code: 4102,
        reason: 'incompatible versions: server test@1.2.0, client test@2.0.0',
      });
    });

    test('closes with 4102 for another protocol name or another wire version', async () => {
      harness = await startHarness({}, {}, kind);
      const other = harness.raw();
      other.send({ type: 'hello', wire: 1, protocol: 'chat', version: '1.2.0' });
      expect(await other.closed).toEqual({
        code: 4102,
        reason: 'protocol mismatch: server speaks "test", client speaks "chat"',
      });
      const wire = harness.raw();
      wire.send({ type: 'hello', wire: 2, protocol: 'test', version: '1.2.0' });
      expect(await wire.closed).toEqual({
        code: 4102,
        reason: 'unsupported wire version 2; this server speaks 1',
      });
    });

    test('a client of an incompatible version is refused for good with a ConnectError', async () => {
      harness = await startHarness({}, {}, kind);
      const future = defineProtocol({ ...testProtocol.definition, version: '9.0.0' });
      const client = harness.client({ protocol: future as never });
      const error = await client.ready().catch((e) => e);
      expect([error.name, error.closeCode]).toEqual(['ConnectError', 4102]);
      expect(client.state).toBe('closed');
    });

    test('closes with 1002 on a second hello', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
      expect(await peer.closed).toEqual({ code: 1002, reason: 'unexpected hello after the handshake' });
    });
  });

  describe('auth', () => {
    const tokens = bearerToken({
      verify: (token) => (token === 'good' ? { id: 'ann', permissions: ['math:*'] } : undefined),
    });

    test('accepts a bearer token from the hello', async () => {
      harness = await startHarness({ auth: tokens }, {}, kind);
      const client = harness.client({ credentials: { token: 'good' } });
      await client.ready();
      expect(client.principal).toEqual({ id: 'ann', permissions: ['math:*'] });
    });

    test('accepts a bearer token from the upgrade request Authorization header', async () => {
      harness = await startHarness({ auth: tokens }, { headers: { authorization: 'Bearer good' } }, kind);
      const client = harness.client();
      await client.ready();
      expect(client.principal?.id).toBe('ann');
    });

    test('reads ?token= only when allowed', async () => {
      const withQuery = bearerToken({
        verify: (token) => (token === 'good' ? { id: 'q', permissions: [] } : undefined),
        allowQueryToken: true,
      });
      harness = await startHarness({ auth: withQuery }, {}, kind);
      const peer = harness.raw('/ws?token=good');
      expect((await peer.handshake()).principal).toEqual({ id: 'q', permissions: [] });
      await harness.close();
      harness = await startHarness({ auth: tokens }, {}, kind);
      const refused = harness.raw('/ws?token=good');
      refused.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
      expect(await refused.closed).toEqual({ code: 4100, reason: 'no bearer token' });
    });

    test('closes with 4100 for a bad token, and the client stays closed', async () => {
      harness = await startHarness({ auth: tokens }, {}, kind);
      const client = harness.client({ credentials: { token: 'bad' } });
      const error = await client.ready().catch((e) => e);
      expect([error.closeCode, error.message]).toEqual([4100, 'invalid token']);
      expect(client.state).toBe('closed');
      await expect(client.call('math.add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    });

    test('an authenticator that throws refuses with 4100 and logs a trace id', async () => {
      harness = await startHarness(
        {
          auth: {
            authenticate() {
              throw new Error('token service down');
            },
          },
        },
        {},
        kind,
      );
      const peer = harness.raw();
      peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
      const closed = await peer.closed;
      expect(closed.code).toBe(4100);
      const traceId = harness.records[0]?.fields.traceId as string;
      expect(closed.reason).toBe(`authentication failed (trace ${traceId})`);
      expect(closed.reason).not.toContain('token service down');
    });

    test('authenticates API keys kept only as hashes', async () => {
      const store = new ApiKeyStore();
      const key = store.issue({ id: 'ci-bot', permissions: ['math:add'] });
      harness = await startHarness({ auth: apiKeys(store) }, {}, kind);
      const client = harness.client({ credentials: { apiKey: key } });
      expect(await client.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
      expect(client.principal?.id).toBe('ci-bot');
      const wrong = harness.raw();
      wrong.send({
        type: 'hello',
        wire: 1,
        protocol: 'test',
        version: '1.2.0',
        credentials: { apiKey: `${key}x` },
      });
      expect(await wrong.closed).toEqual({ code: 4100, reason: 'unknown API key' });
    });

    test('runs a challenge–response handshake (HMAC over a fresh nonce)', async () => {
      const secrets = new Map([['device-1', 'shh']]);
      const auth = challengeResponse<{ device: string; nonce: string }>({
        issue({ credentials }) {
          const device = (credentials as { device?: string }).device ?? '';
          if (!secrets.has(device)) return { refuse: 'unknown device' };
          const nonce = randomBytes(16).toString('hex');
          return { challenge: { nonce }, state: { device, nonce } };
        },
        verify({ device, nonce }, response) {
          const expected = createHmac('sha256', secrets.get(device)!).update(nonce).digest('hex');
          return response === expected ? { id: device, permissions: ['*'] } : undefined;
        },
      });
      harness = await startHarness({ auth }, {}, kind);
      const client = harness.client({
        credentials: { device: 'device-1' },
        respond: (challenge) =>
          createHmac('sha256', 'shh')
            .update((challenge as { nonce: string }).nonce)
            .digest('hex'),
      });
      expect(await client.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
      const liar = harness.client({ credentials: { device: 'device-1' }, respond: () => 'forged' });
      expect(await liar.ready().catch((e) => [e.closeCode, e.message])).toEqual([
        4100,
        'challenge response rejected',
      ]);
    });

    test('closes with 4101 when the challenge is never answered', async () => {
      const auth = challengeResponse({
        issue: () => ({ challenge: 'x', state: null }),
        verify: () => undefined,
      });
      harness = await startHarness({ auth, limits: { handshakeTimeoutMs: 60 } }, {}, kind);
      const peer = harness.raw();
      peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
      expect(await peer.next()).toEqual({ type: 'challenge', challenge: 'x' });
      expect(await peer.closed).toEqual({ code: 4101, reason: 'no challenge response within 60 ms' });
    });

    test('ends the session with goodbye and 4103 when credentials expire', async () => {
      harness = await startHarness(
        {
          auth: {
            authenticate: () => ({
              ok: true,
              principal: { id: 'u', permissions: [], expiresAt: Date.now() + 80 },
            }),
          },
        },
        {},
        kind,
      );
      const peer = harness.raw();
      const welcome = await peer.handshake();
      expect(typeof welcome.expiresAt).toBe('number');
      expect(await peer.next()).toEqual({ type: 'goodbye', reason: 'credentials expired' });
      expect(await peer.closed).toEqual({ code: 4103, reason: 'credentials expired' });
    });

    test('a client whose credentials expired reconnects with fresh ones from its credentials function', async () => {
      let issued = 0;
      harness = await startHarness(
        {
          auth: {
            authenticate: ({ credentials }) => ({
              ok: true,
              principal: {
                id: String((credentials as { n: number }).n),
                permissions: ['*'],
                expiresAt: Date.now() + 100,
              },
            }),
          },
        },
        {},
        kind,
      );
      const client = harness.client({
        credentials: () => ({ n: ++issued }),
        reconnect: { initialDelayMs: 1 },
        // The fallback when nothing refreshes in band: expiry, then a reconnect with fresh credentials.
        refreshBeforeExpiryMs: false,
      });
      await client.ready();
      expect(client.principal?.id).toBe('1');
      await new Promise<void>((resolve) => client.onStateChange((state) => state === 'open' && resolve()));
      expect(client.principal?.id).toBe('2');
    });
  });
});

test('an authenticator that accepts without a valid principal is refused with 4100 and logged', async () => {
  const harness = await startHarness({
    auth: { authenticate: () => ({ ok: true, principal: { permissions: [] } as never }) },
  });
  const peer = harness.raw();
  peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
  expect((await peer.closed).code).toBe(4100);
  expect(String((harness.records[0]!.fields.error as Error).message)).toBe(
    'the authenticator accepted without a principal {id: string, permissions: string[]}',
  );
  await harness.close();
});

describe('contract check at connect', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  test('a client of another major version but a compatible contract talks', async () => {
    harness = await startHarness();
    const future = defineProtocol({ ...testProtocol.definition, version: '9.0.0' });
    const client = harness.client({ protocol: future as never, sendContract: true });
    expect(await client.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
  });

  test('a client whose contract breaks is refused with 4102 naming the first breaking difference', async () => {
    harness = await startHarness();
    const { math, ...rest } = testProtocol.definition.resources;
    const older = defineProtocol({
      ...testProtocol.definition,
      resources: {
        ...rest,
        math: {
          commands: {
            ...math.commands,
            legacy: command({ input: z.object({}), output: z.null() }),
          },
        },
      },
    });
    const client = harness.client({ protocol: older as never, sendContract: true });
    const error = await client.ready().catch((e) => e);
    expect([error.name, error.closeCode, error.message]).toEqual([
      'ConnectError',
      4102,
      expect.stringContaining('incompatible contract: command math.legacy was removed'),
    ]);
  });

  test('a malformed contract in the hello is refused with 4102', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contract: { commands: 1 } });
    expect(await peer.closed).toEqual({ code: 4102, reason: 'malformed contract in the hello' });
  });
});
