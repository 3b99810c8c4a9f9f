import { createHash } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  type ClusterEntry,
  clusterConfigJson,
  MemoryClusterStore,
  MemoryKeyStore,
  MemoryTemplateStore,
  type ProxyEvent,
  SyncProxy,
  type SyncProxyOptions,
  syncUrl,
} from '../../../src/adapters/sandbox-sync/index.js';
import { encodeFrame, type Frame } from '../../../src/wire/sandbox-sync/index.js';
import { fakeWorker, recordingLogger, waitFor } from './support.js';

const TOKEN = 'shared-secret';
const HASH = 'ab'.repeat(32);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

type FakeWorker = Awaited<ReturnType<typeof fakeWorker>>;

async function setup(options: Partial<SyncProxyOptions> & { autoPong?: boolean; path?: string } = {}) {
  const worker = await fakeWorker({ autoPong: options.autoPong ?? true });
  const clusters =
    options.clusters ??
    new MemoryClusterStore({
      clusters: [{ id: 'w1', url: `http://127.0.0.1:${worker.port}${options.path ?? ''}` }],
    });
  const proxy = new SyncProxy({ token: TOKEN, ...options, clusters });
  cleanups.push(async () => {
    await proxy.stop();
    await worker.close();
  });
  return { worker, proxy, clusters };
}

const events = (proxy: SyncProxy) => (listener: (event: ProxyEvent) => void) => proxy.onEvent(listener);

/** Starts the proxy and resolves with the three (or two) snapshot messages the fake Worker got. */
async function startAndSnapshot(proxy: SyncProxy, worker: FakeWorker, count: number) {
  proxy.start();
  return worker.messages(count);
}

/** Sends a request from the fake Worker and resolves with every message up to its response. */
async function request(worker: FakeWorker, frame: Frame): Promise<string[]> {
  const connection = worker.connections.at(-1)!;
  const before = connection.received.length;
  const responseType = `${frame.type}_resp`;
  const done = waitFor(
    worker.on,
    (event) => event.text !== undefined && JSON.parse(event.text).type === responseType,
  );
  connection.ws.send(encodeFrame(frame));
  await done;
  return connection.received.slice(before);
}

describe('dialling', () => {
  test('the dial URL maps http to ws and https to wss and joins /v1/ws/sync to the path', () => {
    expect(syncUrl('http://worker-a:8080')).toBe('ws://worker-a:8080/v1/ws/sync');
    expect(syncUrl('https://worker-a.internal/agentbox/')).toBe(
      'wss://worker-a.internal/agentbox/v1/ws/sync',
    );
    expect(syncUrl('wss://w/x?region=eu')).toBe('wss://w/x/v1/ws/sync?region=eu');
    expect(syncUrl('ws://w')).toBe('ws://w/v1/ws/sync');
    expect(() => syncUrl('not a url')).toThrow(TypeError);
  });

  test('dials with the token header and the cluster headers, which may override it', async () => {
    const worker = await fakeWorker();
    const clusters = new MemoryClusterStore({
      clusters: [{ id: 'w1', url: `http://127.0.0.1:${worker.port}/base/`, headers: { 'X-Env': 'prod' } }],
    });
    const proxy = new SyncProxy({ token: TOKEN, clusters });
    cleanups.push(async () => {
      await proxy.stop();
      await worker.close();
    });
    const connected = waitFor(events(proxy), (event) => event.kind === 'connect');
    proxy.start();
    expect(await connected).toEqual({ kind: 'connect', clusterId: 'w1' });
    const upgrade = worker.requests[0]!;
    expect(upgrade.url).toBe('/base/v1/ws/sync');
    expect(upgrade.headers['agentbox-sync-token']).toBe(TOKEN);
    expect(upgrade.headers['x-env']).toBe('prod');
    expect(proxy.connectedClusters()).toEqual(['w1']);

    clusters.set({
      clusters: [
        { id: 'w2', url: `http://127.0.0.1:${worker.port}`, headers: { 'agentbox-sync-token': 'other' } },
      ],
    });
    const second = waitFor(events(proxy), (event) => event.kind === 'connect' && event.clusterId === 'w2');
    proxy.dialAll();
    await second;
    expect(worker.requests[1]!.headers['agentbox-sync-token']).toBe('other');
  });

  test('an unreachable cluster is reported and dialled again on every tick', async () => {
    const clusters = new MemoryClusterStore({ clusters: [{ id: 'dead', url: 'http://127.0.0.1:1' }] });
    const proxy = new SyncProxy({ token: TOKEN, clusters, redialIntervalMs: 20 });
    cleanups.push(() => proxy.stop());
    let failures = 0;
    proxy.onEvent((event) => event.kind === 'dial-failed' && failures++);
    proxy.start();
    await waitFor(events(proxy), () => failures >= 2);
    expect(proxy.connectedClusters()).toEqual([]);
  });

  test('an invalid cluster URL is reported and skipped', async () => {
    const proxy = new SyncProxy({
      token: TOKEN,
      clusters: new MemoryClusterStore({ clusters: [{ id: 'x', url: '::' }] }),
    });
    cleanups.push(() => proxy.stop());
    const failed = waitFor(events(proxy), (event) => event.kind === 'dial-failed');
    proxy.start();
    expect(await failed).toEqual({ kind: 'dial-failed', clusterId: 'x', reason: 'invalid cluster URL "::"' });
  });
});

describe('on connect', () => {
  test('sends key_snapshot, template_snapshot, then cluster_config_snapshot, exactly', async () => {
    const keys = new MemoryKeyStore();
    keys.createFromHash(
      { namespace: 'ns', role: 'tenant', user: 'ada', team: 'a', issuedAt: '2026-11-25T20:00:00Z' },
      HASH,
      'abababababababab',
    );
    const templates = new MemoryTemplateStore();
    templates.create({
      metadata: { name: 't1', labels: { 'agentbox.io/sync-source': 'global' } },
      spec: { cpu: 1 },
    });
    const { worker, proxy } = await setup({ keys, templates });
    const [first, second, third] = await startAndSnapshot(proxy, worker, 3);
    expect(first).toBe(
      `{"type":"key_snapshot","items":[{"type":"","tokenHash":"${HASH}","hashPrefix":"abababababababab","name":"agentbox-apikey-abababababababab","namespace":"ns","role":"tenant","user":"ada","team":"a","issuedAt":"2026-11-25T20:00:00Z"}]}\n`,
    );
    expect(second).toBe(
      '{"type":"template_snapshot","items":[{"type":"template_sync","templateFull":{"metadata":{"name":"t1","labels":{"agentbox.io/sync-source":"global"}},"spec":{"cpu":1}}}]}\n',
    );
    expect(third).toBe(
      `{"type":"cluster_config_snapshot","configSnapshot":{"clusters":[{"id":"w1","name":"","url":"http://127.0.0.1:${worker.port}"}]}}\n`,
    );
  });

  test('sends key_snapshot even when there are no keys', async () => {
    const { worker, proxy } = await setup();
    expect(await startAndSnapshot(proxy, worker, 3)).toEqual([
      '{"type":"key_snapshot"}\n',
      '{"type":"template_snapshot"}\n',
      `{"type":"cluster_config_snapshot","configSnapshot":{"clusters":[{"id":"w1","name":"","url":"http://127.0.0.1:${worker.port}"}]}}\n`,
    ]);
  });

  test('skips cluster_config_snapshot when there are no clusters and no host aliases', async () => {
    const worker = await fakeWorker();
    const entry: ClusterEntry = { id: 'w1', url: `http://127.0.0.1:${worker.port}` };
    let dialled = false;
    // Lists the cluster for the dial, then nothing: the config at connect time is empty.
    const clusters = {
      all: () => {
        const listed = dialled ? [] : [entry];
        dialled = true;
        return listed;
      },
      hostAliases: () => [],
    };
    const proxy = new SyncProxy({ token: TOKEN, clusters });
    cleanups.push(async () => {
      await proxy.stop();
      await worker.close();
    });
    proxy.start();
    await worker.messages(2);
    const followUp = await request(worker, { id: 'r1', type: 'key_delete' });
    expect(worker.connections[0]!.received.slice(0, 2)).toEqual([
      '{"type":"key_snapshot"}\n',
      '{"type":"template_snapshot"}\n',
    ]);
    expect(followUp).toEqual([
      '{"id":"r1","type":"key_delete_resp","error":"name is required","httpStatus":400}\n',
    ]);
  });

  test('the cluster config carries host aliases, and pushClusterConfig broadcasts cluster_config_sync', async () => {
    const worker = await fakeWorker();
    const clusters = new MemoryClusterStore({
      clusters: [{ id: 'w1', url: `http://127.0.0.1:${worker.port}` }],
      hostAliases: [{ ip: '10.0.0.9', hostnames: ['w1.internal'] }],
    });
    const { proxy } = { proxy: new SyncProxy({ token: TOKEN, clusters }) };
    cleanups.push(async () => {
      await proxy.stop();
      await worker.close();
    });
    const [, , config] = await startAndSnapshot(proxy, worker, 3);
    const expected = `{"clusters":[{"id":"w1","name":"","url":"http://127.0.0.1:${worker.port}"}],"hostAliases":[{"ip":"10.0.0.9","hostnames":["w1.internal"]}]}`;
    expect(config).toBe(`{"type":"cluster_config_snapshot","configSnapshot":${expected}}\n`);
    proxy.pushClusterConfig();
    const [, , , sync] = await worker.messages(4);
    expect(sync).toBe(`{"type":"cluster_config_sync","configSnapshot":${expected}}\n`);
  });
});

describe('requests', () => {
  test('key_create makes a token, broadcasts key_sync, then answers with rawToken, keyId, hashPrefix, issuedAt', async () => {
    const keys = new MemoryKeyStore();
    const { worker, proxy } = await setup({ keys });
    await startAndSnapshot(proxy, worker, 3);
    const before = Date.now();
    const [sync, response] = await request(worker, {
      id: 'req-1',
      type: 'key_create',
      namespace: 'ns',
      user: 'ada',
      team: 'a',
      description: 'ci',
      expiresAt: '2027-01-01T01:00:00+01:00',
    });
    const answer = JSON.parse(response!) as Record<string, string>;
    expect(Object.keys(answer)).toEqual(['id', 'type', 'hashPrefix', 'issuedAt', 'ok', 'rawToken', 'keyId']);
    expect(answer).toMatchObject({ id: 'req-1', type: 'key_create_resp', ok: true });
    expect(answer.rawToken).toMatch(/^agbx_[0-9a-f]{64}$/);
    const hash = createHash('sha256').update(answer.rawToken!).digest('hex');
    expect(answer.hashPrefix).toBe(hash.slice(0, 16));
    expect(answer.keyId).toBe(`agentbox-apikey-${hash.slice(0, 16)}`);
    expect(answer.issuedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(answer.issuedAt!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(sync).toBe(
      encodeFrame({
        type: 'key_sync',
        tokenHash: hash,
        hashPrefix: answer.hashPrefix,
        name: answer.keyId,
        namespace: 'ns',
        role: 'tenant',
        user: 'ada',
        team: 'a',
        description: 'ci',
        issuedAt: answer.issuedAt,
        expiresAt: '2027-01-01T00:00:00Z',
        rawToken: answer.rawToken,
      }),
    );
    expect(keys.get(answer.keyId!)?.tokenHash).toBe(hash);
  });

  test('key_create with tokenHash and hashPrefix imports the hash and answers without rawToken', async () => {
    const keys = new MemoryKeyStore();
    const { worker, proxy } = await setup({ keys });
    await startAndSnapshot(proxy, worker, 3);
    const messages = await request(worker, {
      id: 'imp',
      type: 'key_create',
      namespace: 'ns',
      user: 'bob',
      team: 'b',
      role: 'admin',
      tokenHash: HASH,
      hashPrefix: 'abababababababab',
      issuedAt: '2026-01-02T03:04:05Z',
      rawToken: 'agbx_promoted',
    });
    expect(messages).toEqual([
      `{"type":"key_sync","tokenHash":"${HASH}","hashPrefix":"abababababababab","name":"agentbox-apikey-abababababababab","namespace":"ns","role":"admin","user":"bob","team":"b","issuedAt":"2026-01-02T03:04:05Z","rawToken":"agbx_promoted"}\n`,
      '{"id":"imp","type":"key_create_resp","hashPrefix":"abababababababab","issuedAt":"2026-01-02T03:04:05Z","ok":true,"keyId":"agentbox-apikey-abababababababab"}\n',
    ]);
  });

  test('key_create over the per-user limit answers 409', async () => {
    const { worker, proxy } = await setup({ maxKeysPerUser: 1 });
    await startAndSnapshot(proxy, worker, 3);
    await request(worker, { id: 'a', type: 'key_create', namespace: 'ns', user: 'ada' });
    expect(await request(worker, { id: 'b', type: 'key_create', namespace: 'ns', user: 'ada' })).toEqual([
      '{"id":"b","type":"key_create_resp","error":"exceeded max keys per user (1)","httpStatus":409}\n',
    ]);
  });

  test('without a key store, key requests answer 503 "key store not configured"', async () => {
    const { worker, proxy } = await setup({ keys: null });
    const snapshots = await startAndSnapshot(proxy, worker, 2);
    // No key store, no key_snapshot at all (as in the origin).
    expect(snapshots.map((text) => JSON.parse(text).type)).toEqual([
      'template_snapshot',
      'cluster_config_snapshot',
    ]);
    expect(await request(worker, { id: 'a', type: 'key_create' })).toEqual([
      '{"id":"a","type":"key_create_resp","error":"key store not configured","httpStatus":503}\n',
    ]);
    expect(await request(worker, { id: 'b', type: 'key_delete', name: 'x' })).toEqual([
      '{"id":"b","type":"key_delete_resp","error":"key store not configured","httpStatus":503}\n',
    ]);
  });

  test('without a template store, template requests answer 503 and no template_snapshot is sent', async () => {
    const { worker, proxy } = await setup({ templates: null });
    const snapshots = await startAndSnapshot(proxy, worker, 2);
    expect(snapshots.map((text) => JSON.parse(text).type)).toEqual([
      'key_snapshot',
      'cluster_config_snapshot',
    ]);
    for (const type of ['template_create', 'template_update', 'template_delete'] as const) {
      expect(await request(worker, { id: type, type, name: 'x' })).toEqual([
        `{"id":"${type}","type":"${type}_resp","error":"template sync not configured","httpStatus":503}\n`,
      ]);
    }
  });

  test('key_delete: 400 without a name, 404 for an unknown key, key_delete_sync then ok otherwise', async () => {
    const keys = new MemoryKeyStore();
    keys.createFromHash({ namespace: 'ns', role: 'tenant', user: 'u', team: 't' }, HASH, 'abababababababab');
    const { worker, proxy } = await setup({ keys });
    await startAndSnapshot(proxy, worker, 3);
    expect(await request(worker, { id: '1', type: 'key_delete' })).toEqual([
      '{"id":"1","type":"key_delete_resp","error":"name is required","httpStatus":400}\n',
    ]);
    expect(await request(worker, { id: '2', type: 'key_delete', name: 'agentbox-apikey-none' })).toEqual([
      '{"id":"2","type":"key_delete_resp","error":"api key not found","httpStatus":404}\n',
    ]);
    expect(
      await request(worker, { id: '3', type: 'key_delete', name: 'agentbox-apikey-abababababababab' }),
    ).toEqual([
      '{"type":"key_delete_sync","name":"agentbox-apikey-abababababababab"}\n',
      '{"id":"3","type":"key_delete_resp","ok":true}\n',
    ]);
    expect(keys.list()).toEqual([]);
  });

  test('template_create labels the template global, broadcasts template_sync, answers with its name', async () => {
    const templates = new MemoryTemplateStore();
    const { worker, proxy } = await setup({ templates });
    await startAndSnapshot(proxy, worker, 3);
    expect(await request(worker, { id: '0', type: 'template_create' })).toEqual([
      '{"id":"0","type":"template_create_resp","error":"templateFull is required","httpStatus":400}\n',
    ]);
    expect(
      await request(worker, {
        id: '1',
        type: 'template_create',
        templateFull: { metadata: { name: 't' }, spec: { a: 1 } },
      }),
    ).toEqual([
      '{"type":"template_sync","templateFull":{"metadata":{"name":"t","labels":{"agentbox.io/sync-source":"global"}},"spec":{"a":1}}}\n',
      '{"id":"1","type":"template_create_resp","name":"t","ok":true}\n',
    ]);
    expect(
      await request(worker, { id: '2', type: 'template_create', templateFull: { metadata: { name: 't' } } }),
    ).toEqual([
      '{"id":"2","type":"template_create_resp","error":"failed to create template","httpStatus":500}\n',
    ]);
  });

  test('template_update: 404 for an unknown template; otherwise spec, labels and annotations replaced', async () => {
    const templates = new MemoryTemplateStore();
    templates.create({
      metadata: { name: 't', uid: 'u-1', annotations: { old: '1' } },
      spec: { a: 1 },
      status: { ready: true },
    });
    const { worker, proxy } = await setup({ templates });
    await startAndSnapshot(proxy, worker, 3);
    expect(
      await request(worker, { id: '1', type: 'template_update', templateFull: { metadata: { name: 'x' } } }),
    ).toEqual(['{"id":"1","type":"template_update_resp","error":"template not found","httpStatus":404}\n']);
    const messages = await request(worker, {
      id: '2',
      type: 'template_update',
      templateFull: { metadata: { name: 't', labels: { team: 'a' } }, spec: { a: 2 } },
    });
    const updated = {
      metadata: { name: 't', uid: 'u-1', labels: { team: 'a', 'agentbox.io/sync-source': 'global' } },
      spec: { a: 2 },
      status: { ready: true },
    };
    expect(messages).toEqual([
      encodeFrame({ type: 'template_sync', templateFull: updated }),
      '{"id":"2","type":"template_update_resp","name":"t","ok":true}\n',
    ]);
    expect(templates.get('t')).toEqual(updated);
  });

  test('template_delete: 400 without a name, 404 unknown, template_delete_sync then ok', async () => {
    const templates = new MemoryTemplateStore();
    templates.create({ metadata: { name: 't' } });
    const { worker, proxy } = await setup({ templates });
    await startAndSnapshot(proxy, worker, 3);
    expect(await request(worker, { id: '1', type: 'template_delete' })).toEqual([
      '{"id":"1","type":"template_delete_resp","error":"name is required","httpStatus":400}\n',
    ]);
    expect(await request(worker, { id: '2', type: 'template_delete', name: 'x' })).toEqual([
      '{"id":"2","type":"template_delete_resp","error":"template not found","httpStatus":404}\n',
    ]);
    expect(await request(worker, { id: '3', type: 'template_delete', name: 't' })).toEqual([
      '{"type":"template_delete_sync","name":"t"}\n',
      '{"id":"3","type":"template_delete_resp","name":"t","ok":true}\n',
    ]);
  });

  test('unknown and malformed frames are logged and ignored; the link keeps serving', async () => {
    const { logger, records } = recordingLogger();
    const { worker, proxy } = await setup({ logger });
    await startAndSnapshot(proxy, worker, 3);
    const connection = worker.connections[0]!;
    connection.ws.send('{"type":"key_rotate","id":"q"}');
    connection.ws.send('{"type":"key_sync","name":"pushed by a worker"}');
    connection.ws.send('not json');
    expect(await request(worker, { id: 'after', type: 'key_delete' })).toEqual([
      '{"id":"after","type":"key_delete_resp","error":"name is required","httpStatus":400}\n',
    ]);
    const warnings = records.filter((record) => record.level === 'warn');
    expect(warnings.map((record) => record.message)).toEqual([
      'unknown frame type',
      'unknown frame type',
      'malformed frame',
    ]);
    expect(warnings[0]!.fields.error).toEqual({
      code: 'UNKNOWN_TYPE',
      message: 'unknown frame type "key_rotate"',
      type: 'key_rotate',
      id: 'q',
    });
    expect(warnings[1]!.fields.type).toBe('key_sync');
  });
});

describe('liveness and re-dial', () => {
  test('pings every pingIntervalMs', async () => {
    const { worker, proxy } = await setup({ pingIntervalMs: 20 });
    proxy.start();
    let pings = 0;
    await waitFor(worker.on, (event) => event.ping === true && ++pings === 3);
    expect(pings).toBe(3);
  });

  test('a Worker that never answers pings is dropped after readTimeoutMs', async () => {
    const { worker, proxy } = await setup({ autoPong: false, pingIntervalMs: 20, readTimeoutMs: 100 });
    const dropped = waitFor(events(proxy), (event) => event.kind === 'disconnect');
    proxy.start();
    expect(await dropped).toEqual({ kind: 'disconnect', clusterId: 'w1', code: 1006 });
    expect(worker.connections).toHaveLength(1);
  });

  test('a dropped link is dialled again on the next tick and gets the snapshots again', async () => {
    const { worker, proxy } = await setup({ redialIntervalMs: 30 });
    await startAndSnapshot(proxy, worker, 3);
    const again = waitFor(events(proxy), (event) => event.kind === 'connect');
    worker.connections[0]!.ws.close(1001, 'restart');
    await again;
    const messages = await worker.messages(3);
    expect(worker.connections).toHaveLength(2);
    expect(messages.map((text) => JSON.parse(text).type)).toEqual([
      'key_snapshot',
      'template_snapshot',
      'cluster_config_snapshot',
    ]);
  });
});

test('the cluster config is written in Go field order with sorted header keys', () => {
  const json = clusterConfigJson({
    clusters: [
      {
        url: 'https://a',
        headers: { 'X-b': '2', 'X-a': '1' },
        id: 'a',
        extra: true,
        selector: 'cluster="a"',
      },
      { id: 'b', url: 'http://b', headers: {}, registries: [] },
    ],
    hostAliases: [{ ip: '10.0.0.1', hostnames: [] }],
  });
  expect(JSON.stringify(json)).toBe(
    '{"clusters":[{"id":"a","name":"","url":"https://a","selector":"cluster=\\"a\\"","headers":{"X-a":"1","X-b":"2"},"extra":true},{"id":"b","name":"","url":"http://b"}],"hostAliases":[{"ip":"10.0.0.1"}]}',
  );
});

test('a Worker that accepts TCP but never answers the handshake fails the dial after handshakeTimeoutMs', async () => {
  const sockets: Socket[] = [];
  const silent = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const port = (silent.address() as AddressInfo).port;
  const proxy = new SyncProxy({
    token: TOKEN,
    clusters: new MemoryClusterStore({ clusters: [{ id: 'mute', url: `http://127.0.0.1:${port}` }] }),
    handshakeTimeoutMs: 100,
  });
  cleanups.push(async () => {
    await proxy.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const failed = waitFor(events(proxy), (event) => event.kind === 'dial-failed');
  const started = Date.now();
  proxy.start();
  expect(await failed).toEqual({
    kind: 'dial-failed',
    clusterId: 'mute',
    reason: 'Opening handshake has timed out',
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);
});

test('a cluster header ws cannot send fails that dial only, without throwing', async () => {
  const proxy = new SyncProxy({
    token: TOKEN,
    clusters: new MemoryClusterStore({
      clusters: [{ id: 'bad', url: 'http://127.0.0.1:1', headers: { 'X-Bad': 'line\nbreak' } }],
    }),
  });
  cleanups.push(() => proxy.stop());
  const failed = waitFor(events(proxy), (event) => event.kind === 'dial-failed');
  expect(() => proxy.start()).not.toThrow();
  expect(await failed).toEqual({
    kind: 'dial-failed',
    clusterId: 'bad',
    reason: 'Invalid character in header content ["X-Bad"]',
  });
  expect(proxy.connectedClusters()).toEqual([]);
});
