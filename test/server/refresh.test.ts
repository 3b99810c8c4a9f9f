import { afterEach, describe, expect, test } from 'vitest';
import type { CallError } from '../../src/protocol/index.js';
import { bearerToken, type Principal } from '../../src/server/index.js';
import { type Harness, startHarness, TRANSPORTS, until } from '../support/harness.js';

/** Tokens named `<user>|<permission,…>|<ttl ms>`, so each test says exactly what it presents. */
const tokens = bearerToken({
  verify: (token): Principal | undefined => {
    const [id, permissions, ttl] = token.split('|');
    if (!id || permissions === undefined || !ttl) return undefined;
    return {
      id,
      permissions: permissions ? permissions.split(',') : [],
      expiresAt: Date.now() + Number(ttl),
    };
  },
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each(TRANSPORTS)('in-band credential refresh over %s', (kind) => {
  test('under load, 100 subscriptions and running calls lose nothing and the session outlives the old expiry', async () => {
    harness = await startHarness({ auth: tokens }, {}, kind);
    let token = 'ann|*|400';
    const client = harness.client({ credentials: () => ({ token }), refreshBeforeExpiryMs: false });
    await client.ready();
    const received = new Map<string, string[]>();
    const subscriptions = Array.from({ length: 100 }, (_, i) => {
      const roomId = `r${i}`;
      received.set(roomId, []);
      return client.subscribe('rooms.messages', { roomId }, ({ text }) => received.get(roomId)!.push(text));
    });
    await Promise.all(subscriptions.map((s) => s.ready));
    const running = Array.from({ length: 20 }, () => client.call('slow.wait', { ms: 150 }));
    const publishing = (round: string) =>
      Promise.all(
        [...received.keys()].map((roomId) =>
          harness!.server.publish('rooms.messages', { roomId }, { text: round }),
        ),
      );
    await publishing('before');
    token = 'ann|*|60000';
    const refreshed = await client.refresh();
    expect(refreshed.principal).toEqual({ id: 'ann', permissions: ['*'] });
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    await publishing('after');
    expect(await Promise.all(running)).toEqual(Array.from({ length: 20 }, () => ({ aborted: false })));
    // Past the first token's expiry: the session would have ended with 4103 without the refresh.
    await new Promise((resolve) => setTimeout(resolve, 450));
    await publishing('later');
    await until(() => [...received.values()].every((texts) => texts.length === 3), 3000, 'every publication');
    for (const texts of received.values()) expect(texts).toEqual(['before', 'after', 'later']);
    expect(client.state).toBe('open');
    expect(harness.server.list()).toHaveLength(1);
  });

  test('ends the subscriptions the new permissions no longer allow, with PERMISSION_DENIED, and keeps the rest', async () => {
    harness = await startHarness({ auth: tokens }, {}, kind);
    const client = harness.client({
      credentials: { token: 'ann|rooms:vault|60000' },
      refreshBeforeExpiryMs: false,
    });
    const errors: CallError[] = [];
    const vault = client.subscribe('rooms.messages', { roomId: 'vault' }, () => {}, {
      onError: (e) => errors.push(e),
    });
    const lobby: string[] = [];
    const open = client.subscribe('rooms.messages', { roomId: 'lobby' }, ({ text }) => lobby.push(text));
    await Promise.all([vault.ready, open.ready]);
    await client.refresh({ token: 'ann||60000' });
    await until(() => errors.length === 1, 2000, 'the vault subscription to end');
    expect([errors[0]!.code, errors[0]!.message]).toEqual([
      'PERMISSION_DENIED',
      'ann may not subscribe to rooms.messages with these parameters',
    ]);
    await harness.server.publish('rooms.messages', { roomId: 'lobby' }, { text: 'still here' });
    await until(() => lobby.length === 1);
    expect(lobby).toEqual(['still here']);
  });

  test('refuses credentials of another user or invalid ones with UNAUTHENTICATED and changes nothing', async () => {
    harness = await startHarness({ auth: tokens }, {}, kind);
    const client = harness.client({
      credentials: { token: 'ann|math:*|60000' },
      refreshBeforeExpiryMs: false,
    });
    await client.ready();
    const other = await client.refresh({ token: 'bob|*|60000' }).catch((e) => e);
    expect([other.code, other.message]).toEqual([
      'UNAUTHENTICATED',
      'a refresh must keep the same principal (ann), not bob',
    ]);
    const invalid = await client.refresh({ token: 'garbage' }).catch((e) => e);
    expect([invalid.code, invalid.message]).toEqual(['UNAUTHENTICATED', 'invalid token']);
    expect(await client.call('math.divide', { a: 6, b: 2 })).toBe(3);
  });

  test('refreshes by itself before expiry when credentials is a function', async () => {
    harness = await startHarness({ auth: tokens }, {}, kind);
    let asked = 0;
    const client = harness.client({
      credentials: () => ({ token: `ann|*|${++asked === 1 ? 300 : 60000}` }),
      refreshBeforeExpiryMs: 200,
    });
    await client.ready();
    await until(() => asked === 2, 2000, 'the automatic refresh');
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(client.state).toBe('open');
    expect(await client.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(asked).toBe(2);
  });
});
