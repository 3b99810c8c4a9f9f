import { command, defineProtocol } from 'switchboard/protocol';
import { anonymous, createServer, type Server, silentLogger } from 'switchboard/server';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { type FetchmlJobQueueApp, startFetchmlJobQueue } from '../../../examples/job-queue/fetchml/app.js';
import { FetchmlClient } from '../../../src/adapters/fetchml/index.js';
import { CLOSE_CODES } from '../../../src/protocol/close-codes.js';
import { type WebSocketConstructor, webSocketConnector } from '../../../src/transport/websocket.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { dataPacket } from '../../../src/wire/fetchml/binding.js';
import { ERROR_CODES } from '../../../src/wire/fetchml/error-codes.js';
import { apiKeyHash } from '../../../src/wire/fetchml/key-hash.js';
import { OPCODES } from '../../../src/wire/fetchml/opcodes.js';
import type { Packet } from '../../../src/wire/fetchml/packets.js';
import { encodeRequest } from '../../../src/wire/fetchml/request.js';
import { fetchmlWire } from '../../../src/wire/fetchml/wire.js';
import { nestedJson } from '../../support/hostile.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
let app: FetchmlJobQueueApp | undefined;
let server: Server<typeof echo> | undefined;
const clients: FetchmlClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await app?.stop();
  app = undefined;
  await server?.close({ graceMs: 0 });
  server = undefined;
});

const echo = defineProtocol({
  name: 'echo',
  version: '1.0.0',
  resources: {
    echo: {
      commands: {
        say: command({ input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) }),
      },
    },
  },
});

async function connect(apiKey: string, url = app!.url): Promise<FetchmlClient> {
  const client = await FetchmlClient.connect({
    url,
    apiKey,
    connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
  });
  clients.push(client);
  return client;
}

/** The witness: a well-behaved client whose every request must keep getting its exact answer. */
async function witness(): Promise<() => Promise<void>> {
  const client = await connect(app!.keys.admin);
  return async () => {
    expect(await client.call('dataset_list', {})).toEqual([]);
  };
}

/** What an error packet says, without its timestamp. */
function invalid(packet: Packet): unknown {
  return packet.type === 'error' ? [packet.error_code, packet.message, JSON.parse(packet.details)] : packet;
}

const withTracking = (tracking: string) =>
  encodeRequest('queue_job_with_tracking', {
    api_key_hash: apiKeyHash(app!.keys.admin),
    commit_id: COMMIT,
    priority: 1,
    job_name: 'deep',
    tracking,
  });

describe('a hostile fetch_ml peer costs its own frames only', () => {
  test('garbage, truncated, lying lengths and deep JSON get INVALID_REQUEST; the witness is served', async () => {
    app = await startFetchmlJobQueue({ port: 0, timings: { lineMs: 5_000, lines: 1 }, logger: silentLogger });
    const served = await witness();
    await served();
    const hostile = await connect(app.keys.admin);
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0xee, 1, 2, 3]), 'unknown opcode 0xee'],
      [
        withTracking('{}').subarray(0, 20),
        `queue_job_with_tracking (0x${OPCODES.queue_job_with_tracking.toString(16).padStart(2, '0')}): `,
      ],
      [
        // A 2-byte length that announces 65,535 bytes the frame does not have: refused before any allocation.
        (() => {
          const frame = withTracking('{}');
          frame[frame.length - 4] = 0xff;
          frame[frame.length - 3] = 0xff;
          return frame;
        })(),
        'tracking announces 65535 bytes',
      ],
      [
        withTracking(`{"a":${nestedJson(30_000)}}`),
        'queue_job_with_tracking: tracking nested deeper than 64 levels',
      ],
      [
        withTracking(`{"a":${nestedJson(DEFAULT_MAX_DEPTH)}}`),
        `queue_job_with_tracking: tracking nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
      ],
    ];
    for (const [frame, message] of cases) {
      const answer = await hostile.raw(frame);
      expect(answer.type).toBe('error');
      const [code, text, details] = invalid(answer) as [number, string, unknown];
      expect(code).toBe(ERROR_CODES.INVALID_REQUEST);
      expect(text).toContain(message);
      expect(details).toEqual({ code: 'BAD_MESSAGE' });
      await served();
    }
    // The hostile connection itself is still served: one bad frame costs that frame.
    expect(await hostile.call('dataset_list', {})).toEqual([]);
    // Nothing deep was queued.
    expect(app.jobs.list().map((job) => job.name)).toEqual([]);
  });

  test('prototype keys in a JSON field stay plain data', async () => {
    app = await startFetchmlJobQueue({ port: 0, timings: { lineMs: 5_000, lines: 1 }, logger: silentLogger });
    const client = await connect(app.keys.admin);
    const answer = await client.raw(
      withTracking('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
    );
    expect(answer.type).toBe('data');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a text frame closes that connection with 1003; the witness is served', async () => {
    app = await startFetchmlJobQueue({ port: 0, timings: { lineMs: 5_000, lines: 1 }, logger: silentLogger });
    const served = await witness();
    const raw = new WebSocket(app.url);
    await new Promise((resolve, reject) => {
      raw.once('open', resolve);
      raw.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.send('{"not":"binary"}');
    expect(await closed).toBe(CLOSE_CODES.UNSUPPORTED_DATA.code);
    await served();
  });
});

test('a per-frame key lookup that throws or rejects answers that call with an internal error; the witness is served', async () => {
  const good = 'good-key';
  const goodHash = Buffer.from(apiKeyHash(good)).toString('hex');
  const records: { message: string; fields?: Record<string, unknown> }[] = [];
  server = await createServer({
    protocol: echo,
    handlers: { echo: { say: ({ text }) => ({ text }) } },
    port: 0,
    host: '127.0.0.1',
    wire: fetchmlWire({
      binding: {
        operations: { dataset_search: { command: 'echo.say', input: (f) => ({ text: f.term }) } },
        replies: { 'echo.say': { result: (out) => dataPacket('echo', out) } },
      },
    }),
    auth: {
      ...anonymous(),
      authenticateCall(credential) {
        const hash = Buffer.from(credential as Uint8Array).toString('hex');
        if (hash === goodHash) return { ok: true, principal: { id: 'u', permissions: [] } };
        if (hash === Buffer.from(apiKeyHash('throws')).toString('hex')) throw new Error('key store exploded');
        return Promise.reject(new Error('key store unreachable'));
      },
    },
    logger: { ...silentLogger, error: (message, fields) => records.push({ message, fields }) },
  });
  const witnessClient = await connect(good, server.url);
  const hostile = await connect('bad', server.url);
  // The key 'throws' makes the lookup throw synchronously; any other unknown key makes it reject.
  for (const key of ['throws', 'rejects', 'throws', 'rejects']) {
    const frame = encodeRequest('dataset_search', { api_key_hash: apiKeyHash(key), term: 'hi' });
    const answer = await hostile.raw(frame);
    expect(answer.type).toBe('error');
    if (answer.type !== 'error') return;
    expect(answer.error_code).toBe(ERROR_CODES.SERVER_OVERLOADED);
    expect(JSON.parse(answer.details)).toEqual({
      code: 'INTERNAL',
      traceId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(await witnessClient.call('dataset_search', { term: 'still here' })).toEqual({
      text: 'still here',
    });
  }
  expect(records.length).toBeGreaterThanOrEqual(4);
});
