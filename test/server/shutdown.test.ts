import { describe, expect, test } from 'vitest';
import { startHarness, TRANSPORTS } from '../support/harness.js';

describe.each(TRANSPORTS)('over %s', (kind) => {
  describe('graceful shutdown', () => {
    test('says goodbye with the reconnect URL, lets running calls finish, refuses new ones, closes with 1012', async () => {
      const harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      peer.send({ type: 'call', id: 1, command: 'slow.wait', input: { ms: 60 } });
      await expect.poll(() => (harness.server.list()[0] as any).inFlight.size).toBe(1);
      const closing = harness.server.close({ graceMs: 2000, reconnectUrl: 'ws://elsewhere:9000' });
      expect(await peer.next()).toEqual({
        type: 'goodbye',
        reason: 'server shutting down',
        reconnectUrl: 'ws://elsewhere:9000',
      });
      peer.send({ type: 'call', id: 2, command: 'math.add', input: { a: 1, b: 1 } });
      // The running call may finish before or after the refusal of the new one: order by id.
      const replies = [await peer.next(), await peer.next()].sort(
        (a, b) => (a as { id: number }).id - (b as { id: number }).id,
      );
      expect(replies).toEqual([
        { type: 'result', id: 1, output: { aborted: false } },
        { type: 'error', id: 2, code: 'UNAVAILABLE', message: 'Server is shutting down' },
      ]);
      expect(await peer.closed).toEqual({ code: 1012, reason: 'server shutting down' });
      await closing;
    });

    test('aborts calls still running at the deadline with UNAVAILABLE', async () => {
      const harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      peer.send({ type: 'call', id: 1, command: 'slow.wait', input: { ms: 150 } });
      await expect.poll(() => (harness.server.list()[0] as any).inFlight.size).toBe(1);
      await harness.server.close({ graceMs: 20 });
      await peer.next((m) => m.type === 'goodbye');
      expect(await peer.next()).toEqual({
        type: 'error',
        id: 1,
        code: 'UNAVAILABLE',
        message: 'server shut down before the call finished (20 ms grace)',
      });
      expect(harness.observed.aborts).toEqual(['UNAVAILABLE']);
      expect((await peer.closed).code).toBe(1012);
    });

    test('refuses connections that arrive during shutdown with 1012', async () => {
      const harness = await startHarness({}, {}, kind);
      const closing = harness.server.close();
      const late = harness.raw();
      late.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
      expect((await late.closed).code).toBeOneOf([1006, 1012]);
      await closing;
    });
  });
});
