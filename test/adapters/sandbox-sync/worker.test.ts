import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  MemoryClusterConfigSink,
  MemoryKeyStore,
  MemoryTemplateStore,
  SYNC_PATH,
  SyncHttpError,
  SyncNotConnectedError,
  SyncRequestError,
  SyncTimeoutError,
  SyncWorker,
  type SyncWorkerOptions,
  verifySyncToken,
  type WorkerEvent,
} from '../../../src/adapters/sandbox-sync/index.js';
import { wsServerTransport } from '../../../src/transport/ws-server.js';
import { encodeFrame, type Frame } from '../../../src/wire/sandbox-sync/index.js';
import { fakeProxy, recordingLogger, upgradeRequest, waitFor } from './support.js';

const TOKEN = 'shared-secret';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HASH = 'aa'.repeat(32);

const workers: SyncWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
});

async function startWorker(options: Partial<SyncWorkerOptions> = {}) {
  const worker = new SyncWorker({ token: TOKEN, ...options });
  workers.push(worker);
  const port = await worker.listen();
  return { worker, port };
}

const events = (worker: SyncWorker) => (listener: (event: WorkerEvent) => void) => worker.onEvent(listener);

/** Connects a fake ws-proxy and resolves once the Worker has registered it. */
async function connect(worker: SyncWorker, port: number) {
  const registered = waitFor(events(worker), (event) => event.kind === 'connect');
  const proxy = await fakeProxy(port, TOKEN);
  await registered;
  return proxy;
}

/** Sends frames from a fake proxy and resolves once the Worker handled all of them. */
async function push(worker: SyncWorker, proxy: Awaited<ReturnType<typeof fakeProxy>>, ...frames: Frame[]) {
  let handled = 0;
  const all = waitFor(events(worker), (event) => event.kind === 'frame' && ++handled === frames.length);
  for (const frame of frames) proxy.send(encodeFrame(frame));
  await all;
}

describe('before the upgrade', () => {
  test('an empty configured token answers 503 {"error":"sync not configured"}', async () => {
    const { port } = await startWorker({ token: '' });
    const answer = await upgradeRequest(port, '/v1/ws/sync', { 'AGENTBOX-SYNC-TOKEN': '' });
    expect(answer.status).toBe(503);
    expect(answer.body).toBe('{"error":"sync not configured"}');
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('a wrong token answers 401 {"error":"invalid sync token"}', async () => {
    const { port } = await startWorker();
    const answer = await upgradeRequest(port, '/v1/ws/sync', { 'AGENTBOX-SYNC-TOKEN': 'guess' });
    expect(answer.status).toBe(401);
    expect(answer.body).toBe('{"error":"invalid sync token"}');
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('a missing token answers 401', async () => {
    const { port } = await startWorker();
    const answer = await upgradeRequest(port, '/v1/ws/sync');
    expect(answer).toMatchObject({ status: 401, body: '{"error":"invalid sync token"}' });
  });

  test('another path answers 404 and never upgrades', async () => {
    const { port } = await startWorker();
    const answer = await upgradeRequest(port, '/v1/ws/other', { 'AGENTBOX-SYNC-TOKEN': TOKEN });
    expect(answer).toMatchObject({ status: 404, body: '404 page not found' });
  });

  test('a plain GET with the right token gets the 400 an upgrader answers', async () => {
    const { port } = await startWorker();
    const response = await fetch(`http://127.0.0.1:${port}/v1/ws/sync`, {
      headers: { 'AGENTBOX-SYNC-TOKEN': TOKEN },
    });
    expect(response.status).toBe(400);
    const refused = await fetch(`http://127.0.0.1:${port}/v1/ws/sync`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe('{"error":"invalid sync token"}');
  });
});

describe('requests', () => {
  test('without a ws-proxy connection fail at once with SyncNotConnectedError', async () => {
    const { worker } = await startWorker();
    const error = await worker
      .createKey({ namespace: 'n', user: 'u', team: 't', role: '', description: '' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(SyncNotConnectedError);
    expect(error).toMatchObject({ code: 'SYNC_NOT_CONNECTED', message: 'ws-proxy sync not connected' });
  });

  test('key_create goes out with a UUID v4 id and resolves with the response that echoes it', async () => {
    const { worker, port } = await startWorker();
    const proxy = await connect(worker, port);
    const result = worker.createKey({
      namespace: 'team-a',
      user: 'ada',
      team: 'a',
      role: '',
      description: 'ci',
      expiresAt: '2027-01-01T00:00:00Z',
    });
    const request = await proxy.next();
    expect(request.id).toMatch(UUID_V4);
    expect(proxy.received[0]).toBe(
      `{"id":"${request.id}","type":"key_create","namespace":"team-a","user":"ada","team":"a","description":"ci","expiresAt":"2027-01-01T00:00:00Z"}\n`,
    );
    proxy.send(
      encodeFrame({
        id: request.id as string,
        type: 'key_create_resp',
        ok: true,
        rawToken: 'agbx_ff',
        keyId: 'agentbox-apikey-0123456789abcdef',
        hashPrefix: '0123456789abcdef',
        issuedAt: '2026-11-25T20:00:00Z',
      }),
    );
    expect(await result).toEqual({
      rawToken: 'agbx_ff',
      keyId: 'agentbox-apikey-0123456789abcdef',
      tokenHash: '',
      hashPrefix: '0123456789abcdef',
      issuedAt: '2026-11-25T20:00:00Z',
    });
  });

  test('ok:false with httpStatus rejects with SyncHttpError, without it with SyncRequestError', async () => {
    const { worker, port } = await startWorker();
    const proxy = await connect(worker, port);
    const first = worker.deleteKey('agentbox-apikey-0000').catch((e) => e);
    const one = await proxy.next();
    proxy.send(
      encodeFrame({
        id: one.id as string,
        type: 'key_delete_resp',
        error: 'api key not found',
        httpStatus: 404,
      }),
    );
    const error = await first;
    expect(error).toBeInstanceOf(SyncHttpError);
    expect(error).toMatchObject({ status: 404, message: 'api key not found' });

    const second = worker.deleteTemplate('t').catch((e) => e);
    const two = await proxy.next();
    expect(two).toEqual({ id: two.id, type: 'template_delete', name: 't' });
    proxy.send(encodeFrame({ id: two.id as string, type: 'template_delete_resp', error: 'odd' }));
    const plain = await second;
    expect(plain).toBeInstanceOf(SyncRequestError);
    expect(plain.message).toBe('odd');
  });

  test('a pending request fails with 503 "ws-proxy disconnected" when the link drops', async () => {
    const { worker, port } = await startWorker();
    const proxy = await connect(worker, port);
    const key = worker
      .createKey({ namespace: 'n', user: 'u', team: 't', role: '', description: '' })
      .catch((e) => e);
    const template = worker.updateTemplate({ metadata: { name: 'x' } }).catch((e) => e);
    await waitFor(proxy.onMessage, () => proxy.received.length === 2);
    proxy.ws.terminate();
    for (const error of [await key, await template]) {
      expect(error).toBeInstanceOf(SyncHttpError);
      expect(error).toMatchObject({ status: 503, message: 'ws-proxy disconnected' });
    }
    expect(worker.connected).toBe(false);
  });

  test('a new ws-proxy connection replaces the old; the old one closing later is ignored as stale', async () => {
    const { worker, port } = await startWorker();
    const first = await connect(worker, port);
    const second = await connect(worker, port);
    expect(worker.connected).toBe(true);
    const pending = worker.deleteKey('agentbox-apikey-1');
    const request = await second.next();
    const stale = waitFor(events(worker), (event) => event.kind === 'disconnect');
    first.ws.close();
    expect(await stale).toEqual({ kind: 'disconnect', connId: 1, stale: true });
    expect(worker.connected).toBe(true);
    expect(first.received).toEqual([]);
    second.send(encodeFrame({ id: request.id as string, type: 'key_delete_resp', ok: true }));
    await expect(pending).resolves.toBeUndefined();
  });

  test('a request with no answer before its deadline rejects with SyncTimeoutError', async () => {
    const { worker, port } = await startWorker({ requestTimeoutMs: 50 });
    await connect(worker, port);
    const error = await worker.createTemplate({ metadata: { name: 'x' } }).catch((e) => e);
    expect(error).toBeInstanceOf(SyncTimeoutError);
    expect(error.message).toBe('no template_create_resp within 50 ms');
  });

  test('no ping from the ws-proxy within the read timeout closes the link', async () => {
    const { worker, port } = await startWorker({ readTimeoutMs: 100 });
    const proxy = await fakeProxy(port, TOKEN);
    const closed = new Promise<number>((resolve) => proxy.ws.once('close', (code) => resolve(code)));
    expect(await waitFor(events(worker), (event) => event.kind === 'disconnect', 2000)).toEqual({
      kind: 'disconnect',
      connId: 1,
      stale: false,
    });
    expect(await closed).toBe(1006);
  });
});

describe('pushes', () => {
  async function connected(options: Partial<SyncWorkerOptions> = {}) {
    const keys = new MemoryKeyStore();
    const templates = new MemoryTemplateStore();
    const clusterConfig = new MemoryClusterConfigSink();
    const { worker, port } = await startWorker({ keys, templates, clusterConfig, ...options });
    const proxy = await connect(worker, port);
    return { worker, proxy, keys, templates, clusterConfig };
  }

  const key = (prefix: string) => ({
    tokenHash: HASH,
    hashPrefix: prefix,
    name: `agentbox-apikey-${prefix}`,
    namespace: 'ns',
    role: 'tenant',
    user: 'ada',
    team: 'a',
    issuedAt: '2026-11-25T21:00:00+01:00',
  });

  test('key_sync is skipped unless it has both tokenHash and hashPrefix, and is idempotent', async () => {
    const { worker, proxy, keys } = await connected();
    let changes = 0;
    keys.keys.onChange(() => changes++);
    await push(
      worker,
      proxy,
      { type: 'key_sync', hashPrefix: 'p1', name: 'agentbox-apikey-p1' },
      { type: 'key_sync', tokenHash: HASH, name: 'agentbox-apikey-p2' },
      { type: 'key_sync', ...key('p3') },
      { type: 'key_sync', ...key('p3') },
    );
    expect([...keys.keys.items.keys()]).toEqual(['agentbox-apikey-p3']);
    expect(keys.keys.items.get('agentbox-apikey-p3')).toEqual({
      keyId: 'agentbox-apikey-p3',
      tokenHash: HASH,
      namespace: 'ns',
      role: 'tenant',
      user: 'ada',
      team: 'a',
      quotaURL: undefined,
      description: undefined,
      issuedAt: '2026-11-25T20:00:00Z',
      expiresAt: undefined,
      rawToken: undefined,
    });
    expect(changes).toBe(1);
  });

  test('key_snapshot is additive: keys it does not list stay', async () => {
    const { worker, proxy, keys } = await connected();
    await push(worker, proxy, { type: 'key_sync', ...key('old') });
    await push(worker, proxy, { type: 'key_snapshot', items: [{ type: '', ...key('new') }] });
    await push(worker, proxy, { type: 'key_snapshot' });
    expect([...keys.keys.items.keys()].sort()).toEqual(['agentbox-apikey-new', 'agentbox-apikey-old']);
  });

  test('key_delete_sync deletes, and a key this Worker never had is no error', async () => {
    const { logger, records } = recordingLogger();
    const { worker, proxy, keys } = await connected({ logger });
    await push(
      worker,
      proxy,
      { type: 'key_sync', ...key('k1') },
      { type: 'key_delete_sync', name: 'agentbox-apikey-never' },
      { type: 'key_delete_sync', name: 'agentbox-apikey-k1' },
    );
    expect(keys.keys.items.size).toBe(0);
    expect(records.filter((record) => record.level === 'error')).toEqual([]);
  });

  test('template_sync upserts, template_delete_sync deletes ignoring not-found, empty templateFull is skipped', async () => {
    const { worker, proxy, templates } = await connected();
    const t1 = { metadata: { name: 't1', labels: { 'agentbox.io/sync-source': 'global' } }, spec: { v: 1 } };
    await push(
      worker,
      proxy,
      { type: 'template_sync', templateFull: t1 },
      { type: 'template_sync' },
      { type: 'template_delete_sync', name: 'nope' },
    );
    expect(templates.list()).toEqual([t1]);
    await push(worker, proxy, { type: 'template_delete_sync', name: 't1' });
    expect(templates.list()).toEqual([]);
  });

  test('template_snapshot applies every item, then strips the global label from templates it no longer lists', async () => {
    const { worker, proxy, templates } = await connected();
    const global = (name: string) => ({
      metadata: { name, labels: { 'agentbox.io/sync-source': 'global' } },
      spec: {},
    });
    templates.createOrUpdate(global('stale'));
    templates.createOrUpdate({ metadata: { name: 'local', labels: { team: 'a' } }, spec: {} });
    await push(worker, proxy, {
      type: 'template_snapshot',
      items: [{ type: 'template_sync', templateFull: global('kept') }],
    });
    expect(templates.list()).toEqual([
      global('kept'),
      { metadata: { name: 'local', labels: { team: 'a' } }, spec: {} },
      { metadata: { name: 'stale', labels: {} }, spec: {} },
    ]);
  });

  test('an empty configSnapshot, one with only empty-id clusters, or one with nothing never wipes the config', async () => {
    const { worker, proxy, clusterConfig } = await connected();
    const config = {
      clusters: [{ id: 'a', name: 'A', url: 'http://a' }],
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
    };
    await push(worker, proxy, { type: 'cluster_config_snapshot', configSnapshot: config });
    expect(clusterConfig.config).toEqual(config);
    let applied = 0;
    clusterConfig.onChange(() => applied++);
    await push(
      worker,
      proxy,
      { type: 'cluster_config_sync' },
      { type: 'cluster_config_sync', configSnapshot: { clusters: [{ id: '', url: 'http://x' }] } },
      { type: 'cluster_config_sync', configSnapshot: { clusters: [] } },
      { type: 'cluster_config_snapshot', configSnapshot: { clusters: null } },
      { type: 'cluster_config_sync', configSnapshot: 'not a config' },
    );
    expect(applied).toBe(0);
    expect(clusterConfig.config).toEqual(config);
  });

  test('empty-id entries are dropped from a config that is applied', async () => {
    const { worker, proxy, clusterConfig } = await connected();
    await push(worker, proxy, {
      type: 'cluster_config_sync',
      configSnapshot: {
        clusters: [
          { id: '', url: 'http://x' },
          { id: 'b', url: 'http://b' },
        ],
      },
    });
    expect(clusterConfig.config).toEqual({ clusters: [{ id: 'b', url: 'http://b' }] });
  });

  test('with no template store or config sink, those pushes are handled as no-ops', async () => {
    const { logger, records } = recordingLogger();
    const { worker, port } = await startWorker({ templates: null, clusterConfig: null, logger });
    const proxy = await connect(worker, port);
    await push(
      worker,
      proxy,
      { type: 'template_sync', templateFull: { metadata: { name: 't' } } },
      {
        type: 'template_snapshot',
        items: [{ type: 'template_sync', templateFull: { metadata: { name: 't' } } }],
      },
      { type: 'template_delete_sync', name: 't' },
      { type: 'cluster_config_sync', configSnapshot: { clusters: [{ id: 'a', url: 'http://a' }] } },
    );
    expect(worker.templates).toBeNull();
    expect(records.filter((record) => record.level === 'error')).toEqual([]);
  });

  test('a listener that throws is logged and the frames after it are still applied', async () => {
    const { logger, records } = recordingLogger();
    const { worker, proxy, keys } = await connected({ logger });
    worker.onEvent(() => {
      throw new Error('listener bug');
    });
    await push(worker, proxy, { type: 'key_sync', ...key('k1') }, { type: 'key_sync', ...key('k2') });
    expect(keys.keys.items.size).toBe(2);
    expect(records.filter((record) => record.message === 'sync event listener failed')).toHaveLength(2);
  });

  test('a malformed message is reported and dropped; the link and state stay', async () => {
    const { worker, proxy, keys } = await connected();
    await push(worker, proxy, { type: 'key_sync', ...key('k') });
    const rejected = waitFor(events(worker), (event) => event.kind === 'rejected');
    proxy.send('{"type":"key_sync","tokenHash":5}');
    expect(await rejected).toEqual({
      kind: 'rejected',
      connId: 1,
      error: { code: 'BAD_FRAME', message: 'field "tokenHash" must be a string' },
    });
    await push(worker, proxy, { type: 'key_sync', ...key('k2') });
    expect(keys.keys.items.size).toBe(2);
    expect(worker.connected).toBe(true);
  });
});

describe('verifySyncToken on the core ws transport', () => {
  test('the same check refuses through the core verifyUpgrade seam with the same status and body', async () => {
    const transport = wsServerTransport({ port: 0, host: '127.0.0.1', path: SYNC_PATH, maxPayload: 1 << 20 });
    await transport.start(() => {}, verifySyncToken(TOKEN));
    try {
      const wrong = await upgradeRequest(transport.port(), SYNC_PATH, { 'AGENTBOX-SYNC-TOKEN': 'nope' });
      expect(wrong).toMatchObject({ status: 401, body: '{"error":"invalid sync token"}' });
      expect(wrong.headers['content-type']).toBe('application/json; charset=utf-8');
    } finally {
      await transport.stop();
    }
    const off = verifySyncToken('');
    expect(await off({ url: SYNC_PATH, headers: { 'agentbox-sync-token': '' } })).toEqual({
      status: 503,
      body: '{"error":"sync not configured"}',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(
      await verifySyncToken(TOKEN)({ url: SYNC_PATH, headers: { 'agentbox-sync-token': TOKEN } }),
    ).toBeUndefined();
  });
});

describe('hosting', () => {
  test('attach serves the sync route on an existing http server', async () => {
    const server = createServer((_request, response) => response.end('app'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const worker = new SyncWorker({ token: TOKEN });
    worker.attach(server);
    const port = (server.address() as AddressInfo).port;
    try {
      const refused = await upgradeRequest(port, '/v1/ws/sync?x=1', { 'AGENTBOX-SYNC-TOKEN': 'bad' });
      expect(refused).toMatchObject({ status: 401, body: '{"error":"invalid sync token"}' });
      const registered = waitFor(events(worker), (event) => event.kind === 'connect');
      const proxy = await fakeProxy(port, TOKEN);
      await registered;
      expect(worker.connected).toBe(true);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('app');
      proxy.ws.terminate();
    } finally {
      await worker.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('an aborted request rejects with the signal reason and leaves nothing pending', async () => {
    const { worker, port } = await startWorker();
    const proxy = await connect(worker, port);
    const controller = new AbortController();
    const pending = worker.deleteKey('agentbox-apikey-1', { signal: controller.signal }).catch((e) => e);
    const request = await proxy.next();
    controller.abort(new Error('caller gave up'));
    expect((await pending).message).toBe('caller gave up');
    // A late answer for it is dropped without effect.
    const handled = waitFor(events(worker), (event) => event.kind === 'frame');
    proxy.send(encodeFrame({ id: request.id as string, type: 'key_delete_resp', ok: true }));
    expect(await handled).toMatchObject({ kind: 'frame', frame: { type: 'key_delete_resp' } });
  });
});
