import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { silentLogger } from 'switchboard/server';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { type FetchmlJobQueueApp, startFetchmlJobQueue } from '../../examples/job-queue/fetchml/app.js';
import { FetchmlClient, FetchmlError, unwrap } from '../../src/adapters/fetchml/index.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import { ERROR_CODES } from '../../src/wire/fetchml/error-codes.js';
import { apiKeyHash } from '../../src/wire/fetchml/key-hash.js';
import { OPCODES } from '../../src/wire/fetchml/opcodes.js';
import type { Packet, PacketOf } from '../../src/wire/fetchml/packets.js';
import { encodeRequest } from '../../src/wire/fetchml/request.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const OTHER_COMMIT = 'ffffffffffffffffffffffffffffffffffffffff';
let app: FetchmlJobQueueApp | undefined;
const clients: FetchmlClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await app?.stop();
  app = undefined;
});

async function start(timings = { lineMs: 20, lines: 3 }) {
  app = await startFetchmlJobQueue({ port: 0, timings, logger: silentLogger });
  return app;
}

async function connect(apiKey: string, headers?: Record<string, string>) {
  const WithHeaders = class extends WebSocket {
    constructor(url: string) {
      super(url, headers ? { headers } : {});
    }
  };
  const client = await FetchmlClient.connect({
    url: app!.url,
    apiKey,
    connect: webSocketConnector(WithHeaders as unknown as WebSocketConstructor),
  });
  clients.push(client);
  return client;
}

/** The error packet a call was answered with, as a FetchmlError. */
async function failure(answer: Promise<unknown>): Promise<FetchmlError> {
  const error = await answer.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof FetchmlError)) throw new Error(`expected an error packet, got ${String(error)}`);
  return error;
}

describe('the job-queue demo over the fetch_ml binary wire, on a real socket', () => {
  test('the URL is fetch_ml’s /ws path', async () => {
    const { url } = await start();
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
  });

  test('queues with every variant, refuses duplicates unless forced, lists, cancels and prunes', async () => {
    await start({ lineMs: 5_000, lines: 3 });
    const admin = await connect(app!.keys.admin);
    const queue = (job_name: string, priority = 1) =>
      admin.call('queue_job', { commit_id: COMMIT, priority, job_name });

    expect(await queue('train')).toMatchObject({
      id: 'job-1',
      name: 'train',
      commitId: COMMIT,
      priority: 1,
      state: 'queued',
      owner: 'admin',
    });
    expect(
      await admin.call('queue_job_with_snapshot', {
        commit_id: COMMIT,
        priority: 2,
        job_name: 'snap',
        snapshot_id: 's-7',
      }),
    ).toMatchObject({ id: 'job-2', name: 'snap' });
    expect(
      await admin.call('queue_job_with_tracking', {
        commit_id: COMMIT,
        priority: 3,
        job_name: 'tracked',
        tracking: '{"mlflow":{"experiment":"e1"}}',
      }),
    ).toMatchObject({ id: 'job-3' });
    expect(
      await admin.call('queue_job_with_note', {
        commit_id: COMMIT,
        priority: 4,
        job_name: 'noted',
        args: '--lr 0.1',
        note: 'baseline',
        force: 0,
      }),
    ).toMatchObject({ id: 'job-4', args: ['--lr', '0.1'], note: 'baseline' });

    const duplicate = await failure(queue('train'));
    expect([duplicate.code, duplicate.codeName, duplicate.message, duplicate.details]).toEqual([
      ERROR_CODES.JOB_ALREADY_RUNNING,
      'JOB_ALREADY_RUNNING',
      'job job-1 (train) is already running',
      { code: 'JOB_DUPLICATE', data: { id: 'job-1' } },
    ]);
    expect(
      await admin.call('queue_job_with_args', {
        commit_id: COMMIT,
        priority: 0,
        job_name: 'train',
        args: 'x',
        force: 1,
      }),
    ).toMatchObject({ id: 'job-5', args: ['x'] });

    const status = (await admin.call('status_request', {})) as { jobs: { id: string; state: string }[] };
    expect(status.jobs.map((job) => `${job.id}:${job.state}`)).toEqual([
      'job-1:running',
      'job-4:queued',
      'job-3:queued',
      'job-2:queued',
      'job-5:queued',
    ]);
    // A job name where the demo has ids: the newest job of that name.
    const byName = (await admin.call('status_request', { job_name: 'train' })) as { jobs: { id: string }[] };
    expect(byName.jobs.map((job) => job.id)).toEqual(['job-5']);

    expect(await admin.call('cancel_job', { job_name: 'job-5' })).toBe('job job-5 cancelled');
    const again = await failure(admin.call('cancel_job', { job_name: 'job-5' }));
    expect([again.code, again.details]).toEqual([
      ERROR_CODES.JOB_ALREADY_RUNNING,
      { code: 'JOB_FINISHED', data: { id: 'job-5', state: 'cancelled' } },
    ]);
    const missing = await failure(admin.call('cancel_job', { job_name: 'nope' }));
    expect([missing.code, missing.message]).toEqual([ERROR_CODES.JOB_NOT_FOUND, 'no job nope']);

    expect(await admin.call('prune', { prune_type: 0, value: 0 })).toBe('pruned 1 jobs');
    const badPrune = await failure(admin.call('prune', { prune_type: 9, value: 0 }));
    expect([badPrune.code, badPrune.message]).toEqual([
      ERROR_CODES.INVALID_REQUEST,
      'prune: unknown prune_type 9',
    ]);

    const info = (await admin.call('query_run_info', { run_id: 'job-3' })) as Record<string, unknown>;
    expect(info.tracking).toEqual({ mlflow: { experiment: 'e1' } });
    expect(
      ((await admin.call('query_run_info', { run_id: 'snap' })) as Record<string, unknown>).snapshotId,
    ).toBe('s-7');
  });

  test('datasets: register, list, info, search, with not-found and exists codes', async () => {
    await start();
    const admin = await connect(app!.keys.admin);
    expect(await admin.call('dataset_register', { name: 'mnist', url: 'https://data.example/mnist' })).toBe(
      'dataset mnist registered',
    );
    expect(await admin.call('dataset_register', { name: 'cifar', url: 's3://bucket/cifar' })).toBe(
      'dataset cifar registered',
    );
    const exists = await failure(admin.call('dataset_register', { name: 'mnist', url: 'https://x.example' }));
    expect([exists.code, exists.details]).toEqual([
      ERROR_CODES.RESOURCE_ALREADY_EXISTS,
      { code: 'DATASET_EXISTS', data: { name: 'mnist' } },
    ]);
    const invalid = await failure(admin.call('dataset_register', { name: 'bad', url: 'not a url' }));
    expect([invalid.code, invalid.details.code]).toEqual([ERROR_CODES.INVALID_REQUEST, 'INVALID_INPUT']);

    const list = (await admin.call('dataset_list', {})) as { name: string }[];
    expect(list.map((d) => d.name)).toEqual(['cifar', 'mnist']);
    expect(await admin.call('dataset_info', { name: 'mnist' })).toMatchObject({
      name: 'mnist',
      url: 'https://data.example/mnist',
      registeredBy: 'admin',
    });
    const missing = await failure(admin.call('dataset_info', { name: 'imagenet' }));
    expect([missing.code, missing.message]).toEqual([ERROR_CODES.RESOURCE_NOT_FOUND, 'no dataset imagenet']);
    const found = (await admin.call('dataset_search', { term: 'S3:' })) as { name: string }[];
    expect(found.map((d) => d.name)).toEqual(['cifar']);
  });

  test('metrics, experiments, annotations, narratives, and logs so far', async () => {
    await start();
    const admin = await connect(app!.keys.admin);
    await admin.call('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'train' });
    await admin.call('queue_job', { commit_id: OTHER_COMMIT, priority: 1, job_name: 'other' });

    expect(await admin.call('log_metric', { commit_id: COMMIT, step: 1, value: 0.75, name: 'loss' })).toBe(
      'metric recorded (1 points)',
    );
    expect(await admin.call('log_metric', { commit_id: COMMIT, step: 2, value: 0.5, name: 'loss' })).toBe(
      'metric recorded (2 points)',
    );
    const experiment = (await admin.call('get_experiment', { commit_id: COMMIT })) as {
      commitId: string;
      jobs: { id: string }[];
      metrics: unknown[];
    };
    expect([experiment.commitId, experiment.jobs.map((job) => job.id), experiment.metrics]).toEqual([
      COMMIT,
      ['job-1'],
      [
        { commitId: COMMIT, step: 1, value: 0.75, name: 'loss' },
        { commitId: COMMIT, step: 2, value: 0.5, name: 'loss' },
      ],
    ]);

    const annotated = (await admin.call('annotate_run', {
      job_name: 'train',
      author: 'ann',
      note: 'looks good',
    })) as {
      id: string;
      annotations: { author: string; note: string }[];
    };
    expect([annotated.id, annotated.annotations.map((a) => `${a.author}: ${a.note}`)]).toEqual([
      'job-1',
      ['ann: looks good'],
    ]);
    await admin.call('set_run_narrative', { job_name: 'job-1', patch: '{"goal":"beat 0.5","tags":{"a":1}}' });
    expect(
      await admin.call('set_run_narrative', { job_name: 'job-1', patch: '{"goal":null,"tags":{"b":2}}' }),
    ).toEqual({ id: 'job-1', narrative: { tags: { a: 1, b: 2 } } });
    const missingRun = await failure(admin.call('annotate_run', { job_name: 'nope', author: 'a', note: '' }));
    expect(missingRun.code).toBe(ERROR_CODES.JOB_NOT_FOUND);

    // Follow job-1 to its end, then its whole log comes back at once.
    const stream = admin.streamLogs('job-1');
    const streamed: string[] = [];
    for await (const line of stream) streamed.push(line.message);
    expect(streamed).toEqual(['step 1/3', 'step 2/3', 'done']);
    expect(await stream.done).toMatchObject({ type: 'success', message: 'end of logs' });
    const logs = (await admin.call('get_logs', { target_id: 'train' })) as {
      id: string;
      lines: { text: string }[];
    };
    expect([logs.id, logs.lines.map((line) => line.text)]).toEqual([
      'job-1',
      ['step 1/3', 'step 2/3', 'done'],
    ]);
  });

  test('streams log packets until cancel_stream, answers the stream with a cancelled error, and serves on', async () => {
    await start({ lineMs: 15, lines: 1_000 });
    const admin = await connect(app!.keys.admin);
    await admin.call('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'long' });
    const stream = admin.streamLogs('job-1');
    const seen: PacketOf<'log'>[] = [];
    for await (const line of stream) {
      seen.push(line);
      if (seen.length === 3) break;
    }
    expect(seen.map((line) => [line.level, line.message])).toEqual([
      [1, 'step 1/1000'],
      [1, 'step 2/1000'],
      [1, 'step 3/1000'],
    ]);
    // Each log packet is stamped with the time its line was written, in milliseconds.
    expect(seen[1]!.timestamp - seen[0]!.timestamp).toBeGreaterThanOrEqual(10);
    const ended = await stream.cancel();
    expect(ended).toMatchObject({
      type: 'error',
      error_code: ERROR_CODES.JOB_CANCELLED,
      message: 'cancelled by the caller',
      details: '{"code":"CANCELLED"}',
    });
    expect(await admin.call('status_request', { job_name: 'job-1' })).toMatchObject({
      jobs: [{ id: 'job-1', state: 'running' }],
    });
    // The stream's id is free again: the same target can be followed once more.
    const second = admin.streamLogs('job-1');
    for await (const _line of second) break;
    expect((await second.cancel()).type).toBe('error');
  });
});

describe('authentication per frame and permissions per operation', () => {
  test('an unknown key hash gets the authentication code on every frame; the connection stays open', async () => {
    await start();
    const stranger = await connect('not-a-key');
    for (let i = 0; i < 2; i++) {
      const error = await failure(stranger.call('dataset_list', {}));
      expect([error.code, error.codeName, error.message, error.details]).toEqual([
        0x02,
        'AUTHENTICATION_FAILED',
        'unknown API key hash',
        { code: 'UNAUTHENTICATED' },
      ]);
    }
  });

  test('a read-only key may read but not queue: the permission code names what is missing', async () => {
    await start();
    const viewer = await connect(app!.keys.readOnly);
    expect(await viewer.call('status_request', {})).toEqual({ jobs: [] });
    const denied = await failure(viewer.call('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'x' }));
    expect([denied.code, denied.codeName, denied.message, denied.details]).toEqual([
      0x03,
      'PERMISSION_DENIED',
      'jobs.queue requires permission "jobs:create"',
      { code: 'PERMISSION_DENIED', data: { required: 'jobs:create' } },
    ]);
    const cannotPrune = await failure(viewer.call('prune', { prune_type: 0, value: 1 }));
    expect(cannotPrune.details.data).toEqual({ required: 'jobs:update' });
  });

  test('one connection may carry frames signed by different keys', async () => {
    await start();
    const viewer = await connect(app!.keys.readOnly);
    const adminFrame = encodeRequest('dataset_register', {
      api_key_hash: apiKeyHash(app!.keys.admin),
      name: 'mnist',
      url: 'https://data.example/mnist',
    });
    expect(unwrap(await viewer.raw(adminFrame))).toBe('dataset mnist registered');
    expect(await viewer.call('dataset_info', { name: 'mnist' })).toMatchObject({ registeredBy: 'admin' });
  });

  test('a connection naming an unknown key at the upgrade is closed with 4100', async () => {
    await start();
    const socket = new WebSocket(app!.url, { headers: { authorization: 'Bearer not-a-key' } });
    const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([4100, 'unknown API key']);
  });

  test('a connection that names its key at the upgrade gets status packets for its jobs', async () => {
    await start();
    const admin = await connect(app!.keys.admin, { authorization: `Bearer ${app!.keys.admin}` });
    const updates: string[] = [];
    const completed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no completed status within 2 s: ${updates}`)), 2_000);
      admin.onStatus((packet) => {
        const job = unwrap(packet) as { id: string; state: string };
        updates.push(`${packet.status_type} ${job.id}:${job.state}`);
        if (job.state === 'completed') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await admin.call('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'watched' });
    await completed;
    expect(updates).toEqual([
      'jobs.updated job-1:queued',
      'jobs.updated job-1:running',
      'jobs.updated job-1:completed',
    ]);
  });
});

describe('broken frames get an error packet and never end the connection', () => {
  test.each<[string, number[], string]>([
    ['an unknown opcode', [0x05, ...new Array(16).fill(0)], 'unknown opcode 0x05'],
    ['an empty frame', [], 'empty frame: no opcode'],
    [
      'a short frame',
      [0x03, 0xaa],
      'cancel_job (0x03): 1 bytes, at least 17 needed: no room for api_key_hash',
    ],
    [
      'an overlong frame',
      [0x06, ...new Array(17).fill(1)],
      'dataset_list (0x06): 1 bytes left after api_key_hash',
    ],
    [
      'a truncated string',
      [0x08, ...new Array(16).fill(0), 0x09, 0x61],
      'dataset_info (0x08): name announces 9 bytes, 1 left',
    ],
  ])('%s', async (_name, bytes, message) => {
    await start();
    const admin = await connect(app!.keys.admin);
    const answer: Packet = await admin.raw(Uint8Array.from(bytes));
    expect(answer).toMatchObject({
      type: 'error',
      error_code: ERROR_CODES.INVALID_REQUEST,
      message,
      details: '{"code":"BAD_MESSAGE"}',
    });
    expect(await admin.call('dataset_list', {})).toEqual([]);
  });

  test('arbitrary frames, signed or not, each get exactly one answer and the server serves on', async () => {
    await start({ lineMs: 2, lines: 2 });
    const admin = await connect(app!.keys.admin);
    const signed = apiKeyHash(app!.keys.admin);
    // cancel_stream is left out: it has no answer of its own when no stream runs.
    const opcodes = Object.values(OPCODES).filter((code) => code !== OPCODES.cancel_stream);
    const frames = fc
      .oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc
          .tuple(fc.constantFrom(...opcodes), fc.uint8Array({ maxLength: 64 }))
          .map(([opcode, rest]) => Uint8Array.from([opcode, ...signed, ...rest])),
      )
      .filter((frame) => frame[0] !== OPCODES.cancel_stream);
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        const answer = await admin.raw(frame);
        expect(['success', 'data', 'error']).toContain(answer.type);
      }),
      { numRuns: 200 },
    );
    expect(await admin.call('status_request', {})).toEqual({ jobs: expect.any(Array) });
  });

  test('a text frame closes the connection with 1003', async () => {
    await start();
    const socket = new WebSocket(app!.url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('{"type":"call"}');
    expect(await closed).toBe(1003);
  });
});

test('server.ts runs the demo on its own: it prints the URL and keys, serves frames, and exits on SIGTERM', async () => {
  const entry = fileURLToPath(new URL('../../examples/job-queue/fetchml/server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', entry], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    const printed = new Promise<{ url: string; admin: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL and key within 10 s: ${output}`)), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const url = /listening on (ws:\/\/\S+)/.exec(output)?.[1];
        const admin = /admin key\s+\(jobs:\*, datasets:\*\):\s+(\S+)/.exec(output)?.[1];
        if (url && admin) {
          clearTimeout(timer);
          resolve({ url, admin });
        }
      });
    });
    const { url, admin } = await printed;
    expect(url).toMatch(/\/ws$/);
    const client = await FetchmlClient.connect({
      url,
      apiKey: admin,
      connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
    });
    expect(await client.call('dataset_list', {})).toEqual([]);
    client.close();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
