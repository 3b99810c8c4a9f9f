import { afterEach, describe, expect, test } from 'vitest';
import {
  MemoryClusterStore,
  MemoryTemplateStore,
  type ProxyEvent,
  SyncProxy,
  SyncWorker,
  type WorkerEvent,
} from '../../../src/adapters/sandbox-sync/index.js';
import type { Logger } from '../../../src/server/logger.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { encodeFrame, type Frame } from '../../../src/wire/sandbox-sync/index.js';
import { nestedJson } from '../../support/hostile.js';
import { fakeProxy, fakeWorker, waitFor } from './support.js';

const TOKEN = 'shared-secret';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

type FakeWorker = Awaited<ReturnType<typeof fakeWorker>>;

/** A frame of `type` whose templateFull holds `depth` levels of arrays under `spec`. */
const deepTemplate = (type: string, depth: number) =>
  `{"id":"deep","type":"${type}","templateFull":{"metadata":{"name":"deep"},"spec":${nestedJson(depth)}}}`;

const TOO_DEEP = `nested deeper than ${DEFAULT_MAX_DEPTH} levels`;

/** A logger whose every method throws, as a JSON logger fed a value it cannot serialise does. */
const throwingLogger: Logger = {
  error: () => {
    throw new Error('logger broke');
  },
  warn: () => {
    throw new Error('logger broke');
  },
  info: () => {
    throw new Error('logger broke');
  },
};

/** Sends a request from a fake Worker and resolves with every message up to its response. */
async function request(worker: FakeWorker, frame: Frame): Promise<string[]> {
  const connection = worker.connections.at(-1)!;
  const before = connection.received.length;
  const done = waitFor(
    worker.on,
    (event) =>
      event.ws === connection.ws &&
      event.text !== undefined &&
      JSON.parse(event.text).type === `${frame.type}_resp`,
  );
  connection.ws.send(encodeFrame(frame));
  await done;
  return connection.received.slice(before);
}

async function proxyWithTwoWorkers(options: { logger?: Logger } = {}) {
  const hostile = await fakeWorker();
  const witness = await fakeWorker();
  const templates = new MemoryTemplateStore();
  const proxy = new SyncProxy({
    token: TOKEN,
    templates,
    clusters: new MemoryClusterStore({
      clusters: [
        { id: 'hostile', url: `http://127.0.0.1:${hostile.port}` },
        { id: 'witness', url: `http://127.0.0.1:${witness.port}` },
      ],
    }),
    ...options,
  });
  cleanups.push(async () => {
    await proxy.stop();
    await hostile.close();
    await witness.close();
  });
  proxy.start();
  await hostile.messages(2);
  await witness.messages(2);
  return { proxy, templates, hostile, witness };
}

const proxyEvents = (proxy: SyncProxy) => (listener: (event: ProxyEvent) => void) => proxy.onEvent(listener);

/** The witness creates a template and must get exactly the broadcast, then its answer. */
async function witnessServed(witness: FakeWorker, name: string): Promise<void> {
  expect(
    await request(witness, { id: name, type: 'template_create', templateFull: { metadata: { name } } }),
  ).toEqual([
    `{"type":"template_sync","templateFull":{"metadata":{"name":"${name}","labels":{"agentbox.io/sync-source":"global"}}}}\n`,
    `{"id":"${name}","type":"template_create_resp","name":"${name}","ok":true}\n`,
  ]);
}

describe('the ws-proxy against a hostile Worker', () => {
  test('a template nested 100,000 deep is refused as too deep and never reaches the store or a snapshot', async () => {
    const { proxy, templates, hostile, witness } = await proxyWithTwoWorkers();
    const rejected = waitFor(proxyEvents(proxy), (event) => event.kind === 'rejected');
    hostile.connections[0]!.ws.send(deepTemplate('template_create', 100_000));
    expect(await rejected).toEqual({
      kind: 'rejected',
      clusterId: 'hostile',
      error: { code: 'BAD_FRAME', message: TOO_DEEP },
    });
    await witnessServed(witness, 'ok');
    expect(templates.list().map((t) => t.metadata?.name)).toEqual(['ok']);

    // A Worker that connects afterwards gets the exact snapshots: nothing poisoned them.
    witness.connections[0]!.ws.terminate();
    await waitFor(
      proxyEvents(proxy),
      (event) => event.kind === 'disconnect' && event.clusterId === 'witness',
    );
    proxy.dialAll();
    await waitFor(witness.on, () => (witness.connections[1]?.received.length ?? 0) >= 3);
    expect(witness.connections[1]!.received.slice(0, 2)).toEqual([
      '{"type":"key_snapshot"}\n',
      '{"type":"template_snapshot","items":[{"type":"template_sync","templateFull":{"metadata":{"name":"ok","labels":{"agentbox.io/sync-source":"global"}}}}]}\n',
    ]);
    expect(JSON.parse(witness.connections[1]!.received[2]!)).toMatchObject({
      type: 'cluster_config_snapshot',
    });
  });

  test.each([
    ['garbage', '\u0000{{ not json', 'BAD_FRAME'],
    ['a truncated frame', deepTemplate('template_create', 3).slice(0, 30), 'BAD_FRAME'],
    [
      'deep items',
      `{"type":"key_create","items":${nestedJson(DEFAULT_MAX_DEPTH + 1, 'object')}}`,
      'BAD_FRAME',
    ],
    [
      'a prototype key',
      '{"type":"key_create","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
      'none',
    ],
  ])('%s costs that frame only; the witness is served', async (_name, frame, code) => {
    const { proxy, hostile, witness } = await proxyWithTwoWorkers();
    if (code !== 'none') {
      const rejected = waitFor(proxyEvents(proxy), (event) => event.kind === 'rejected');
      hostile.connections[0]!.ws.send(frame);
      expect(await rejected).toMatchObject({ clusterId: 'hostile', error: { code } });
    } else {
      const answered = waitFor(
        hostile.on,
        (event) => event.text !== undefined && JSON.parse(event.text).type === 'key_create_resp',
      );
      hostile.connections[0]!.ws.send(frame);
      const answer = JSON.parse((await answered).text!) as Record<string, unknown>;
      expect(Object.keys(answer).sort()).toEqual([
        'hashPrefix',
        'issuedAt',
        'keyId',
        'ok',
        'rawToken',
        'type',
      ]);
      expect(answer).toMatchObject({ type: 'key_create_resp', ok: true });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      // The key_sync broadcast reaches the witness too; let it land before the witness's own request.
      const synced = () => witness.connections[0]!.received.some((text) => text.includes('"key_sync"'));
      if (!synced()) await waitFor(witness.on, synced);
    }
    await witnessServed(witness, 'w');
  });

  test('a logger that throws while a bad frame is handled costs that frame, not the process', async () => {
    const { hostile, witness } = await proxyWithTwoWorkers({ logger: throwingLogger });
    hostile.connections[0]!.ws.send('not json');
    await witnessServed(witness, 'after');
    expect(await request(hostile, { id: 'h', type: 'key_delete' })).toEqual([
      '{"id":"h","type":"key_delete_resp","error":"name is required","httpStatus":400}\n',
    ]);
  });
});

describe('the Worker against a hostile ws-proxy connection', () => {
  async function startWorker(logger?: Logger) {
    const worker = new SyncWorker({ token: TOKEN, ...(logger ? { logger } : {}) });
    cleanups.push(() => worker.close());
    const port = await worker.listen();
    return { worker, port };
  }
  const workerEvents = (worker: SyncWorker) => (listener: (event: WorkerEvent) => void) =>
    worker.onEvent(listener);

  test.each([
    ['a template nested 100,000 deep', deepTemplate('template_sync', 100_000), TOO_DEEP],
    [
      'a cluster config nested past maxDepth',
      `{"type":"cluster_config_sync","configSnapshot":{"clusters":${nestedJson(DEFAULT_MAX_DEPTH)}}}`,
      TOO_DEEP,
    ],
    ['garbage', '{"type":', undefined],
  ])('%s is rejected; the witness connection keeps its requests answered', async (_name, frame, message) => {
    const { worker, port } = await startWorker();
    const first = waitFor(workerEvents(worker), (event) => event.kind === 'connect' && event.connId === 1);
    const hostile = await fakeProxy(port, TOKEN);
    await first;
    const second = waitFor(workerEvents(worker), (event) => event.kind === 'connect' && event.connId === 2);
    const witness = await fakeProxy(port, TOKEN);
    await second;

    const rejected = waitFor(workerEvents(worker), (event) => event.kind === 'rejected');
    hostile.send(frame);
    const event = await rejected;
    expect(event).toMatchObject({ kind: 'rejected', connId: 1, error: { code: 'BAD_FRAME' } });
    if (message !== undefined) expect(event).toMatchObject({ error: { message } });
    expect((worker.templates as MemoryTemplateStore).list()).toEqual([]);

    // The witness is the active link: the Worker's request reaches it and its answer resolves the call.
    witness.onMessage((text) => {
      const frame = JSON.parse(text) as { id: string };
      witness.send(encodeFrame({ id: frame.id, type: 'key_delete_resp', ok: true }));
    });
    await expect(worker.deleteKey('agentbox-apikey-00')).resolves.toBeUndefined();
  });

  test('a logger that throws while a bad frame is handled costs that frame, not the process', async () => {
    const { worker, port } = await startWorker(throwingLogger);
    const connected = waitFor(workerEvents(worker), (event) => event.kind === 'connect');
    const proxy = await fakeProxy(port, TOKEN);
    await connected;
    proxy.send('not json');
    proxy.send(encodeFrame({ type: 'template_sync', templateFull: { metadata: { name: 't' } } }));
    await waitFor(workerEvents(worker), (event) => event.kind === 'frame');
    expect((worker.templates as MemoryTemplateStore).list().map((t) => t.metadata?.name)).toEqual(['t']);
  });
});
