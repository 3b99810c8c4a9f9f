import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe('liveness', () => {
  test('the server pings with its clock, and a pong gives it the round-trip time', async () => {
    harness = await startHarness({ limits: { heartbeatMs: 20 } });
    const peer = harness.raw();
    await peer.handshake();
    const ping = await peer.next((m) => m.type === 'ping');
    expect(Math.abs(ping.ts - Date.now())).toBeLessThan(1000);
    peer.send({ type: 'pong', ts: ping.ts - 40, at: Date.now() });
    await expect
      .poll(() => (harness.server.list()[0] as { rttMs?: number }).rttMs)
      .toBeGreaterThanOrEqual(40);
  });

  test('answers a client ping with a pong echoing its timestamp', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'ping', ts: 12345 });
    const pong = await peer.next();
    expect(pong.type).toBe('pong');
    expect(pong.ts).toBe(12345);
    expect(typeof pong.at).toBe('number');
  });

  test('the client measures round-trip time from its own pings', async () => {
    harness = await startHarness({ limits: { heartbeatMs: 20 } });
    const client = harness.client();
    await client.ready();
    await expect.poll(() => client.rttMs).toBeGreaterThanOrEqual(0);
  });

  test('closes a silent peer with 4200 after heartbeatTimeoutMs', async () => {
    let disconnected!: (value: [number, string]) => void;
    const closed = new Promise<[number, string]>((resolve) => {
      disconnected = resolve;
    });
    harness = await startHarness({
      limits: { heartbeatMs: 20, heartbeatTimeoutMs: 60 },
      onDisconnect: (_connection, code, reason) => disconnected([code, reason]),
    });
    const peer = harness.raw();
    await peer.handshake(); // and then never answers a ping
    expect(await closed).toEqual([4200, 'nothing received for 60 ms']);
    expect((await peer.closed).code).toBe(4200);
  });

  test('the client treats a server that went silent as dead and reconnects', async () => {
    harness = await startHarness({ limits: { heartbeatMs: 1000 } });
    const client = harness.client({ heartbeatTimeoutMs: 60, reconnect: { initialDelayMs: 1 } });
    await client.ready();
    const first = client.connectionId;
    // The server stops reading this connection: its pongs never come back.
    const serverEnd = (harness.transport.clientSockets[0] as unknown as { peer: { pause(): void } }).peer;
    serverEnd.pause();
    const states: [string, number | undefined][] = [];
    await new Promise<void>((resolve) =>
      client.onStateChange((state, detail) => {
        states.push([state, detail?.code]);
        if (state === 'open') resolve();
      }),
    );
    expect(states).toEqual([
      ['reconnecting', 4200],
      ['open', undefined],
    ]);
    expect(client.connectionId).not.toBe(first);
  });
});
