import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe('limits', () => {
  test('closes a frame over maxMessageBytes with 1009; other connections are unaffected', async () => {
    harness = await startHarness({ limits: { maxMessageBytes: 1024 } }, { maxPayload: 1024 });
    const bystander = harness.client();
    await bystander.ready();
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: 'math.add', input: { a: 1, b: 2, pad: 'x'.repeat(2000) } });
    expect((await peer.closed).code).toBe(1009);
    expect(await bystander.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
  });

  test('the client refuses to send a call over the announced limit with TOO_LARGE and stays open', async () => {
    harness = await startHarness({ limits: { maxMessageBytes: 1024 } }, { maxPayload: 1024 });
    const client = harness.client();
    await client.ready();
    const error = await client
      .call('math.add', { a: 1, b: 2, pad: 'x'.repeat(2000) } as never)
      .catch((e) => e);
    expect([error.code, error.message]).toEqual([
      'TOO_LARGE',
      "call of 2074 bytes exceeds the server's limit of 1024 bytes",
    ]);
    expect(await client.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
  });

  test('answers malformed JSON after the handshake with BAD_MESSAGE and keeps the connection', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    await peer.handshake();
    peer.send('{nope');
    const error = await peer.next();
    expect(error.type).toBe('error');
    expect(error.code).toBe('BAD_MESSAGE');
    expect(error.message).toMatch(/^malformed JSON: /);
    peer.send({ type: 'call', id: 'x', command: 'math.add', input: { a: 2, b: 2 } });
    expect(await peer.next()).toEqual({ type: 'result', id: 'x', output: { sum: 4 } });
  });

  test('answers wrong field types with BAD_MESSAGE, correlated when the id is readable', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 3, command: 42, input: {} });
    expect(await peer.next()).toEqual({
      type: 'error',
      id: 3,
      code: 'BAD_MESSAGE',
      message: 'call: field "command" must be a string',
    });
    peer.send({ type: 'result', id: 3, output: 1 });
    expect(await peer.next()).toEqual({
      type: 'error',
      code: 'BAD_MESSAGE',
      message: 'a client may not send "result"',
    });
  });

  test('closes with 1003 on a binary frame', async () => {
    harness = await startHarness();
    const peer = harness.raw();
    await peer.handshake();
    peer.send(new Uint8Array([1, 2, 3]));
    expect(await peer.closed).toEqual({ code: 1003, reason: 'binary frame on the JSON wire' });
  });

  test('answers the first call past the rate limit with RATE_LIMITED, drops the rest unanswered, then closes abusers with 4202', async () => {
    harness = await startHarness({ limits: { ratePerSecond: 1, rateBurst: 3 } });
    const bystander = harness.client();
    await bystander.ready();
    const peer = harness.raw();
    await peer.handshake(); // the hello took one token
    for (let id = 1; id <= 4; id++)
      peer.send({ type: 'call', id, command: 'math.add', input: { a: id, b: 0 } });
    const replies = [await peer.next(), await peer.next(), await peer.next()];
    expect(replies.filter((m) => m.type === 'result').map((m) => m.id)).toEqual([1, 2]);
    const limited = replies.filter((m) => m.type === 'error');
    // One RATE_LIMITED for the debt period: call 4 came after it and was dropped unread.
    expect(limited.map((m) => [m.id, m.code])).toEqual([[3, 'RATE_LIMITED']]);
    expect(limited[0]!.data.retryAfterMs).toBeGreaterThan(0);
    for (let id = 5; id <= 10; id++)
      peer.send({ type: 'call', id, command: 'math.add', input: { a: 0, b: 0 } });
    expect(await peer.closed).toEqual({ code: 4202, reason: 'kept sending past the rate limit' });
    expect(await bystander.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
  });

  test('closes a connection that stops reading with 4201 once its buffer passes maxBufferedBytes', async () => {
    harness = await startHarness({ limits: { maxBufferedBytes: 64 * 1024 } });
    const reader = harness.client();
    const slow = harness.client();
    await Promise.all([reader.ready(), slow.ready()]);
    const closes: number[] = [];
    harness.server.list();
    harness.transport.clientSockets[1]!.pause();
    const received: string[] = [];
    reader.on('logs.appended', (p) => received.push(p.line));
    const line = 'y'.repeat(1000);
    for (let i = 0; i < 100; i++) harness.server.broadcast('logs.appended', { line });
    await new Promise<void>((resolve) =>
      slow.onStateChange((state, detail) => {
        closes.push(detail?.code ?? 0);
        if (state !== 'open') resolve();
      }),
    );
    expect(closes[0]).toBe(4201);
    expect(harness.server.list()).toHaveLength(1);
    await expect.poll(() => received.length).toBe(100);
  });
});
