import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe.each(TRANSPORTS)('over %s', (kind) => {
  describe('push', () => {
    test('reaches one connection, every connection of a user, or everyone', async () => {
      const users = ['ann', 'ann', 'bob'];
      let next = 0;
      harness = await startHarness(
        {
          auth: { authenticate: () => ({ ok: true, principal: { id: users[next++]!, permissions: [] } }) },
        },
        {},
        kind,
      );
      const clients = [harness.client(), harness.client(), harness.client()];
      for (const client of clients) await client.ready();
      const got: string[][] = [[], [], []];
      clients.forEach((client, i) => {
        client.on('logs.appended', (p) => got[i]!.push(p.line));
      });

      expect(harness.server.pushTo(clients[2]!.connectionId!, 'logs.appended', { line: 'to bob' })).toBe(1);
      expect(harness.server.pushToUser('ann', 'logs.appended', { line: 'to ann' })).toBe(2);
      expect(harness.server.pushToUser('nobody', 'logs.appended', { line: 'lost' })).toBe(0);
      expect(harness.server.broadcast('logs.appended', { line: 'to all' })).toBe(3);
      expect(harness.server.pushTo('no-such-connection', 'logs.appended', { line: 'lost' })).toBe(0);
      await expect.poll(() => got.map((lines) => lines.length)).toEqual([2, 2, 2]);
      expect(got).toEqual([
        ['to ann', 'to all'],
        ['to ann', 'to all'],
        ['to bob', 'to all'],
      ]);
    });

    test('throws a TypeError for a payload that fails the event schema', async () => {
      harness = await startHarness({}, {}, kind);
      expect(() => harness.server.broadcast('logs.appended', { line: 3 } as never)).toThrow(
        /^payload of event "logs\.appended" is invalid: line: /,
      );
    });
  });
});
