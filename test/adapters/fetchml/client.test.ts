import { createHash } from 'node:crypto';
import { command, defineProtocol, stream } from 'switchboard/protocol';
import { ApiKeyStore, createServer, type Server, silentLogger } from 'switchboard/server';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { fetchmlAuth } from '../../../examples/job-queue/fetchml/auth.js';
import { FetchmlClient, FetchmlError, unwrap } from '../../../src/adapters/fetchml/index.js';
import { type WebSocketConstructor, webSocketConnector } from '../../../src/transport/websocket.js';
import {
  apiKeyHash,
  dataPacket,
  type FetchmlBinding,
  fetchmlWire,
  logPacket,
  successPacket,
} from '../../../src/wire/fetchml/index.js';

/** A protocol that is not the job queue: any protocol can be bound to the fetch_ml opcodes. */
const echo = defineProtocol({
  name: 'echo',
  version: '1.0.0',
  resources: {
    echo: {
      commands: {
        say: command({ input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) }),
        slow: command({
          input: z.object({ ms: z.number() }),
          output: z.object({ waited: z.number() }),
          permission: 'echo:slow',
        }),
        count: stream({ input: z.object({ to: z.number() }), item: z.number() }),
      },
    },
  },
});

const binding: FetchmlBinding = {
  operations: {
    dataset_search: { command: 'echo.say', input: (f) => ({ text: f.term }) },
    prune: { command: 'echo.slow', input: (f) => ({ ms: f.value }) },
    stream_logs: { command: 'echo.count', input: (f) => ({ to: Number(f.target_id) }) },
  },
  replies: {
    'echo.say': { result: (out) => dataPacket('echo', out) },
    'echo.slow': { result: (out) => successPacket(`waited ${(out as { waited: number }).waited} ms`) },
    'echo.count': { item: (n) => logPacket('info', `n=${n}`), end: () => successPacket('counted') },
  },
};

let server: Server<typeof echo> | undefined;
/** Called when a slow call starts on the server, so a test can act while it runs. */
let slowStarted: (() => void) | undefined;
const clients: FetchmlClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
  server = undefined;
});

async function serve() {
  const store = new ApiKeyStore();
  const key = store.issue({ id: 'u1', permissions: ['echo:slow'] });
  const plain = store.issue({ id: 'u2', permissions: [] });
  server = await createServer({
    protocol: echo,
    handlers: {
      echo: {
        say: ({ text }) => ({ text }),
        slow: ({ ms }) => {
          slowStarted?.();
          return new Promise((resolve) => setTimeout(() => resolve({ waited: ms }), ms).unref());
        },
        *count({ to }) {
          for (let i = 1; i <= to; i++) yield i;
        },
      },
    },
    port: 0,
    host: '127.0.0.1',
    wire: fetchmlWire({ binding }),
    auth: fetchmlAuth(store),
    logger: silentLogger,
  });
  return { url: server.url, key, plain };
}

async function connect(url: string, apiKey: string) {
  const client = await FetchmlClient.connect({
    url,
    apiKey,
    connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
  });
  clients.push(client);
  return client;
}

describe('FetchmlClient', () => {
  test('sends the first 16 bytes of SHA-256 of the key, the prefix ApiKeyStore looks keys up by', () => {
    const hash = apiKeyHash('sb_example');
    expect(Buffer.from(hash).toString('hex')).toBe(
      createHash('sha256').update('sb_example').digest().subarray(0, 16).toString('hex'),
    );
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'u', permissions: [] });
    expect(store.findByHashPrefix(apiKeyHash(key))?.id).toBe('u');
  });

  test('serves any protocol the binding names; answers come back to the call that asked', async () => {
    const { url, key } = await serve();
    const client = await connect(url, key);
    // Sent together: the client keeps one on the wire at a time, so the slow one cannot take another's answer.
    const answers = await Promise.all([
      client.call('prune', { prune_type: 0, value: 30 }),
      client.call('dataset_search', { term: 'hello' }),
      client.call('prune', { prune_type: 0, value: 1 }),
    ]);
    expect(answers).toEqual(['waited 30 ms', { text: 'hello' }, 'waited 1 ms']);
  });

  test('packets are stamped with the server clock in milliseconds', async () => {
    const { url, key } = await serve();
    const client = await connect(url, key);
    const before = Date.now();
    const packet = await client.request('dataset_search', { term: 'x' });
    expect(packet.timestamp).toBeGreaterThanOrEqual(before);
    expect(packet.timestamp).toBeLessThanOrEqual(Date.now());
  });

  test('a stream yields its log packets, then ends with the success packet', async () => {
    const { url, key } = await serve();
    const client = await connect(url, key);
    const counted = client.streamLogs('3');
    const lines: string[] = [];
    for await (const packet of counted) lines.push(packet.message);
    expect(lines).toEqual(['n=1', 'n=2', 'n=3']);
    expect(await counted.done).toMatchObject({ type: 'success', message: 'counted' });
  });

  test('an error packet is thrown as a FetchmlError with the byte, its name and the details', async () => {
    const { url, plain } = await serve();
    const client = await connect(url, plain);
    const error = await client.call('prune', { prune_type: 0, value: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchmlError);
    const { code, codeName, message, details } = error as FetchmlError;
    expect([code, codeName, message, details]).toEqual([
      0x03,
      'PERMISSION_DENIED',
      'echo.slow requires permission "echo:slow"',
      { code: 'PERMISSION_DENIED', data: { required: 'echo:slow' } },
    ]);
    const unserved = await client.call('dataset_list', {}).catch((e: FetchmlError) => e);
    expect([(unserved as FetchmlError).code, (unserved as FetchmlError).message]).toEqual([
      0x01,
      'dataset_list (0x06) is not served here',
    ]);
  });

  test('unwrap reads data as JSON, success as its message, and throws on error packets', () => {
    expect(
      unwrap({ type: 'data', timestamp: 0, data_type: 'x', payload: new TextEncoder().encode('[1]') }),
    ).toEqual([1]);
    expect(unwrap({ type: 'success', timestamp: 0, message: 'ok' })).toBe('ok');
    expect(() =>
      unwrap({ type: 'error', timestamp: 0, error_code: 0x33, message: 'down', details: 'not json' }),
    ).toThrow(FetchmlError);
    const error = new FetchmlError({
      type: 'error',
      timestamp: 0,
      error_code: 0x99,
      message: 'm',
      details: 'free text',
    });
    expect([error.codeName, error.details]).toEqual([undefined, {}]);
  });

  test('a call running at shutdown gets the unavailable code; later calls are rejected with the close code', async () => {
    const { url, key } = await serve();
    const client = await connect(url, key);
    const started = new Promise<void>((resolve) => {
      slowStarted = resolve;
    });
    const pending = client.call('prune', { prune_type: 0, value: 5_000 }).catch((e: unknown) => e);
    await started;
    await server!.close({ graceMs: 0 });
    const error = (await pending) as FetchmlError;
    expect([error.code, error.message]).toEqual([
      0x33,
      'server shut down before the call finished (0 ms grace)',
    ]);
    await expect(client.call('dataset_search', { term: 'x' })).rejects.toThrow(/^connection closed: 1012/);
  });

  test('connecting to a port nobody listens on rejects', async () => {
    const { url, key } = await serve();
    await server!.close({ graceMs: 0 });
    server = undefined;
    await expect(connect(url, key)).rejects.toThrow(/^could not connect/);
  });
});
