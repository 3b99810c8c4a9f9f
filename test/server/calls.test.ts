import { afterEach, describe, expect, test } from 'vitest';
import { anonymous } from '../../src/server/index.js';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe.each(TRANSPORTS)('over %s', (kind) => {
  describe('calls', () => {
    test('returns the handler output for valid input', async () => {
      harness = await startHarness({}, {}, kind);
      const client = harness.client();
      expect(await client.call('math.add', { a: 2, b: 40 })).toEqual({ sum: 42 });
    });

    test('rejects input that fails the schema with INVALID_INPUT and the issue paths', async () => {
      harness = await startHarness({}, {}, kind);
      const client = harness.client();
      const error = await client.call('math.add', { a: 'two', b: 2 } as never).catch((e) => e);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/^invalid input for math\.add: a: /);
      expect(error.data.issues).toHaveLength(1);
      expect(error.data.issues[0].path).toEqual(['a']);
      expect(harness.records).toEqual([]);
    });

    test('answers an unknown command with UNKNOWN_COMMAND and keeps the connection', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      peer.send({ type: 'call', id: 7, command: 'jobs.nope', input: {} });
      expect(await peer.next()).toEqual({
        type: 'error',
        id: 7,
        code: 'UNKNOWN_COMMAND',
        message: 'unknown command "jobs.nope"',
      });
      peer.send({ type: 'call', id: 8, command: 'math.add', input: { a: 1, b: 1 } });
      expect(await peer.next()).toEqual({ type: 'result', id: 8, output: { sum: 2 } });
    });

    test('denies a call without the required permission, before validating input', async () => {
      harness = await startHarness({ auth: anonymous(['math:add']) }, {}, kind);
      const client = harness.client();
      const error = await client.call('math.divide', { a: 1, b: 'x' } as never).catch((e) => e);
      expect(error.code).toBe('PERMISSION_DENIED');
      expect(error.message).toBe('math.divide requires permission "math:divide"');
      expect(error.data).toEqual({ required: 'math:divide' });
    });

    test('grants by wildcard permission', async () => {
      harness = await startHarness({ auth: anonymous(['math:*']) }, {}, kind);
      expect(await harness.client().call('math.divide', { a: 9, b: 3 })).toBe(3);
    });

    test('sends a declared domain error with its code, message and data, unlogged', async () => {
      harness = await startHarness({}, {}, kind);
      const error = await harness
        .client()
        .call('math.divide', { a: 5, b: 0 })
        .catch((e) => e);
      expect([error.name, error.code, error.message, error.data, error.traceId]).toEqual([
        'CallError',
        'DIVIDE_BY_ZERO',
        'cannot divide 5 by zero',
        { a: 5 },
        undefined,
      ]);
      expect(harness.records).toEqual([]);
    });

    test('hides an internal error behind INTERNAL and a trace id that the log has with the stack', async () => {
      harness = await startHarness({}, {}, kind);
      const error = await harness
        .client()
        .call('slow.crash', {})
        .catch((e) => e);
      expect(error.code).toBe('INTERNAL');
      expect(error.message).toBe('Internal error');
      expect(error.traceId).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(error)).not.toContain('database exploded');
      expect(harness.records).toHaveLength(1);
      const record = harness.records[0]!;
      expect(record.level).toBe('error');
      expect(record.fields.traceId).toBe(error.traceId);
      expect(record.fields.command).toBe('slow.crash');
      expect((record.fields.error as Error).stack).toContain('database exploded');
    });

    test('treats output that fails its schema as an internal error', async () => {
      harness = await startHarness({}, {}, kind);
      const error = await harness
        .client()
        .call('slow.lie', {})
        .catch((e) => e);
      expect(error.code).toBe('INTERNAL');
      expect(String((harness.records[0]!.fields.error as Error).message)).toMatch(
        /^output of slow\.lie does not match its schema: n: /,
      );
    });

    test('times out a call after the command timeout and aborts the handler signal', async () => {
      harness = await startHarness({}, {}, kind);
      const error = await harness
        .client()
        .call('slow.wait', { ms: 5000 }, { timeoutMs: 10_000 })
        .catch((e) => e);
      expect(error.code).toBe('TIMEOUT');
      expect(error.message).toBe('slow.wait timed out after 200 ms');
      expect(harness.observed.aborts).toEqual(['TIMEOUT']);
    });

    test('client-side timeout rejects with TIMEOUT and cancels on the server', async () => {
      harness = await startHarness({}, {}, kind);
      const error = await harness
        .client()
        .call('slow.wait', { ms: 5000 }, { timeoutMs: 30 })
        .catch((e) => e);
      expect([error.code, error.message]).toEqual(['TIMEOUT', 'slow.wait timed out after 30 ms']);
      await expect.poll(() => harness.observed.aborts).toEqual(['CANCELLED']);
    });

    test('an AbortSignal cancels the call on both ends', async () => {
      harness = await startHarness({}, {}, kind);
      const client = harness.client();
      await client.ready();
      const controller = new AbortController();
      const call = client.call('slow.wait', { ms: 5000 }, { signal: controller.signal });
      await expect
        .poll(() => harness.server.list()[0] && (harness.server.list()[0] as any).inFlight.size)
        .toBe(1);
      controller.abort();
      await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect.poll(() => harness.observed.aborts).toEqual(['CANCELLED']);
    });

    test('a disconnect aborts running handlers with DISCONNECTED', async () => {
      harness = await startHarness({}, {}, kind);
      const client = harness.client({ reconnect: false });
      const call = client.call('slow.wait', { ms: 5000 });
      await expect.poll(() => (harness.server.list()[0] as any)?.inFlight.size).toBe(1);
      harness.sockets[0]!.close(1000, 'bye');
      await expect(call).rejects.toMatchObject({ code: 'DISCONNECTED' });
      await expect.poll(() => harness.observed.aborts).toEqual(['DISCONNECTED']);
    });

    test('rejects a call id that is already running with DUPLICATE_ID', async () => {
      harness = await startHarness({}, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      peer.send({ type: 'call', id: 'a', command: 'slow.wait', input: { ms: 100 } });
      peer.send({ type: 'call', id: 'a', command: 'slow.wait', input: { ms: 100 } });
      expect(await peer.next()).toMatchObject({ type: 'error', id: 'a', code: 'DUPLICATE_ID' });
      expect(await peer.next()).toEqual({ type: 'result', id: 'a', output: { aborted: false } });
    });

    test('refuses calls past maxInFlight with TOO_MANY_IN_FLIGHT, others still run', async () => {
      harness = await startHarness({ limits: { maxInFlight: 2 } }, {}, kind);
      const peer = harness.raw();
      await peer.handshake();
      for (const id of [1, 2, 3]) peer.send({ type: 'call', id, command: 'slow.wait', input: { ms: 50 } });
      expect(await peer.next()).toEqual({
        type: 'error',
        id: 3,
        code: 'TOO_MANY_IN_FLIGHT',
        message: 'at most 2 calls may run at once',
        data: { limit: 2 },
      });
      const results = [await peer.next(), await peer.next()].map((m) => m.id).sort();
      expect(results).toEqual([1, 2]);
    });
  });

  describe('streams', () => {
    test('delivers every item in order, then ends', async () => {
      harness = await startHarness({}, {}, kind);
      const lines: string[] = [];
      for await (const item of harness.client().stream('logs.tail', { count: 4 })) lines.push(item.line);
      expect(lines).toEqual(['line 0', 'line 1', 'line 2', 'line 3']);
    });

    test('an empty stream ends at once', async () => {
      harness = await startHarness({}, {}, kind);
      const items = [];
      for await (const item of harness.client().stream('logs.tail', { count: 0 })) items.push(item);
      expect(items).toEqual([]);
    });

    test('leaving the loop early stops the handler on the server', async () => {
      harness = await startHarness({}, {}, kind);
      const seen: number[] = [];
      for await (const n of harness.client().stream('logs.forever', {})) {
        seen.push(n);
        if (n === 2) break;
      }
      expect(seen).toEqual([0, 1, 2]);
      await expect.poll(() => harness.observed.aborts).toEqual(['forever-stopped']);
    });

    test('invalid stream input fails the iterator with INVALID_INPUT', async () => {
      harness = await startHarness({}, {}, kind);
      const iterator = harness.client().stream('logs.tail', { count: -1 });
      await expect(iterator.next()).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    });
  });

  describe('events', () => {
    test('ctx.push reaches the calling connection, typed and in order with the stream', async () => {
      harness = await startHarness({}, {}, kind);
      const client = harness.client();
      const pushed: string[] = [];
      client.on('logs.appended', (payload) => pushed.push(payload.line));
      for await (const _ of client.stream('logs.tail', { count: 2 })) {
      }
      expect(pushed).toEqual(['pushed 0', 'pushed 1']);
    });
  });
});
