import { afterEach, describe, expect, test } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { anonymous, createServer, silentLogger } from '../../src/server/index.js';
import { memoryTransport } from '../../src/transport/memory.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, startHarness, testHandlers } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

function nextState(
  client: { onStateChange: (l: (s: string, d?: { code?: number }) => void) => () => void },
  want: string,
) {
  return new Promise<number | undefined>((resolve) => {
    const stop = client.onStateChange((state, detail) => {
      if (state === want) {
        stop();
        resolve(detail?.code);
      }
    });
  });
}

describe('client reconnect', () => {
  test('fails calls in flight with DISCONNECTED, reconnects, and goes on', async () => {
    harness = await startHarness();
    const client = harness.client({ reconnect: { initialDelayMs: 1 } });
    await client.ready();
    const first = client.connectionId;
    const running = client.call('slow.wait', { ms: 1000 });
    await expect.poll(() => (harness.server.list()[0] as any)?.inFlight.size).toBe(1);
    const reopened = nextState(client, 'open');
    harness.transport.clientSockets[0]!.terminate();
    await expect(running).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await reopened;
    expect(client.connectionId).not.toBe(first);
    expect(await client.call('math.add', { a: 3, b: 4 })).toEqual({ sum: 7 });
  });

  test('queues calls made while disconnected and sends them after reconnecting', async () => {
    harness = await startHarness();
    const client = harness.client({ reconnect: { initialDelayMs: 30, maxDelayMs: 30 } });
    await client.ready();
    const reconnecting = nextState(client, 'reconnecting');
    harness.transport.clientSockets[0]!.terminate();
    await reconnecting;
    expect(client.state).toBe('reconnecting');
    const queued = [client.call('math.add', { a: 1, b: 1 }), client.call('math.add', { a: 2, b: 2 })];
    expect(await Promise.all(queued)).toEqual([{ sum: 2 }, { sum: 4 }]);
  });

  test('fails calls at once while disconnected with offline: "fail"', async () => {
    harness = await startHarness();
    const client = harness.client({ offline: 'fail', reconnect: { initialDelayMs: 1000 } });
    await client.ready();
    const reconnecting = nextState(client, 'reconnecting');
    harness.transport.clientSockets[0]!.terminate();
    await reconnecting;
    await expect(client.call('math.add', { a: 1, b: 1 })).rejects.toMatchObject({
      code: 'NOT_CONNECTED',
      message: 'not connected: connection closed with 1006',
      data: { cause: { kind: 'closed', message: 'connection closed with 1006', closeCode: 1006 } },
    });
  });

  test('bounds the offline queue with maxQueuedCalls', async () => {
    harness = await startHarness();
    const client = harness.client({ maxQueuedCalls: 2, reconnect: { initialDelayMs: 1000 } });
    // Not yet open: the first two wait, the third is refused.
    const calls = [1, 2, 3].map((a) => client.call('math.add', { a, b: 0 }).catch((e) => e.code));
    expect(await Promise.all(calls)).toEqual([{ sum: 1 }, { sum: 2 }, 'NOT_CONNECTED']);
  });

  test('a queued call still honours its timeout', async () => {
    const transport = memoryTransport();
    const client = createClient({ protocol: testProtocol, url: 'memory://none', connect: transport.connect });
    const error = await client.call('math.add', { a: 1, b: 1 }, { timeoutMs: 20 }).catch((e) => e);
    // The memory transport refuses a URL it has no server for; the timeout says so.
    expect([error.code, error.message]).toEqual([
      'TIMEOUT',
      'math.add timed out after 20 ms (not connected: connection refused)',
    ]);
    client.close();
  });

  test('follows a goodbye to the server it names', async () => {
    const next = memoryTransport();
    const nextServer = await createServer({
      protocol: testProtocol,
      handlers: testHandlers(),
      transport: next.server,
      auth: anonymous(['*']),
      logger: silentLogger,
    });
    const old = memoryTransport();
    const oldServer = await createServer({
      protocol: testProtocol,
      handlers: testHandlers(),
      transport: old.server,
      auth: anonymous(['*']),
      logger: silentLogger,
    });
    const urls: string[] = [];
    const client = createClient({
      protocol: testProtocol,
      url: 'memory://old',
      connect: (url) => {
        urls.push(url);
        return url === 'memory://next' ? next.connect(url) : old.connect(url);
      },
    });
    await client.ready();
    const reopened = nextState(client, 'open');
    await oldServer.close({ reconnectUrl: 'memory://next' });
    await reopened;
    expect(urls).toEqual(['memory://old', 'memory://next']);
    expect(nextServer.list()).toHaveLength(1);
    expect(await client.call('math.add', { a: 5, b: 5 })).toEqual({ sum: 10 });
    client.close();
    await nextServer.close();
  });

  test('close() fails running calls with NOT_CONNECTED and ends in state closed', async () => {
    harness = await startHarness();
    const client = harness.client();
    await client.ready();
    const running = client.call('slow.wait', { ms: 1000 });
    client.close();
    await expect(running).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(client.state).toBe('closed');
    await expect(client.ready()).rejects.toMatchObject({ name: 'ConnectError', message: 'client closed' });
  });

  test('with reconnect: false a lost connection closes the client', async () => {
    harness = await startHarness();
    const client = harness.client({ reconnect: false });
    await client.ready();
    const closed = nextState(client, 'closed');
    harness.transport.clientSockets[0]!.terminate();
    expect(await closed).toBe(1006);
  });

  test('gives up after maxAttempts failed reconnects', async () => {
    const transport = memoryTransport();
    const client = createClient({
      protocol: testProtocol,
      url: 'memory://none',
      connect: transport.connect,
      reconnect: { initialDelayMs: 1, maxAttempts: 3 },
    });
    const error = await client.ready().catch((e) => e);
    expect([error.name, error.closeCode]).toEqual(['ConnectError', 1006]);
    expect(transport.clientSockets).toHaveLength(4);
  });

  test('gives up on a handshake that does not finish within connectTimeoutMs', async () => {
    harness = await startHarness({ auth: { authenticate: () => new Promise(() => {}) } });
    const client = harness.client({ connectTimeoutMs: 40, reconnect: false });
    const error = await client.ready().catch((e) => e);
    expect([error.name, error.closeCode, error.message]).toEqual([
      'ConnectError',
      4101,
      'not connected within 40 ms',
    ]);
  });
});
