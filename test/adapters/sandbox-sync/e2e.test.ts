import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, test } from 'vitest';
import {
  MemoryClusterConfigSink,
  MemoryClusterStore,
  MemoryKeyStore,
  type ProxyEvent,
  SyncHttpError,
  SyncProxy,
  SyncWorker,
  type WorkerEvent,
} from '../../../src/adapters/sandbox-sync/index.js';
import { waitFor } from './support.js';

const TOKEN = 'shared-secret';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startWorker(token = TOKEN, port = 0) {
  const keys = new MemoryKeyStore();
  const clusterConfig = new MemoryClusterConfigSink();
  const worker = new SyncWorker({ token, keys, clusterConfig });
  const listening = await worker.listen(port);
  cleanups.push(() => worker.close());
  return { worker, keys, clusterConfig, port: listening };
}

function startProxy(
  ports: Record<string, number>,
  options: { redialIntervalMs?: number; keys?: MemoryKeyStore } = {},
) {
  const clusters = new MemoryClusterStore({
    clusters: Object.entries(ports).map(([id, port]) => ({ id, url: `http://127.0.0.1:${port}` })),
  });
  const proxy = new SyncProxy({ token: TOKEN, clusters, ...options });
  cleanups.push(() => proxy.stop());
  return { proxy, clusters };
}

const workerEvents = (worker: SyncWorker) => (listener: (event: WorkerEvent) => void) =>
  worker.onEvent(listener);
const proxyEvents = (proxy: SyncProxy) => (listener: (event: ProxyEvent) => void) => proxy.onEvent(listener);

/** Resolves once the Worker handled a frame of this type. */
const handled = (worker: SyncWorker, type: string) =>
  waitFor(workerEvents(worker), (event) => event.kind === 'frame' && event.frame.type === type);

describe('one ws-proxy, two Workers, in one process over real sockets', () => {
  test('key_create: key_sync reaches both Workers, the requester before it gets its response', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const { proxy } = startProxy({ a: a.port, b: b.port });
    const tx: string[] = [];
    proxy.onEvent((event) => {
      if (event.kind === 'frame' && event.direction === 'tx')
        tx.push(`${event.clusterId}:${event.frame.type}`);
    });
    const ready = Promise.all([
      handled(a.worker, 'cluster_config_snapshot'),
      handled(b.worker, 'cluster_config_snapshot'),
    ]);
    proxy.start();
    await ready;
    tx.length = 0;

    const bGotIt = handled(b.worker, 'key_sync');
    let appliedAtResponse = false;
    const created = await a.worker
      .createKey({ namespace: 'ns', user: 'ada', team: 'a', role: '', description: 'ci' })
      .then((response) => {
        appliedAtResponse = a.keys.keys.items.has(response.keyId);
        return response;
      });
    expect(appliedAtResponse).toBe(true);
    await bGotIt;
    expect(b.keys.keys.items.get(created.keyId)).toEqual(a.keys.keys.items.get(created.keyId));
    expect(b.keys.keys.items.get(created.keyId)?.rawToken).toBe(created.rawToken);
    // Broadcast to every Worker (in connection order), then the answer to the requester.
    expect(tx).toHaveLength(3);
    expect(tx.slice(0, 2).sort()).toEqual(['a:key_sync', 'b:key_sync']);
    expect(tx[2]).toBe('a:key_create_resp');

    // Deletes travel the same way.
    const bDeleted = handled(b.worker, 'key_delete_sync');
    await a.worker.deleteKey(created.keyId);
    await bDeleted;
    expect(a.keys.keys.items.size).toBe(0);
    expect(b.keys.keys.items.size).toBe(0);
  });

  test('a Worker with the wrong token refuses the dial with 401, one without a token with 503', async () => {
    const wrong = await startWorker('another-secret');
    const off = await startWorker('');
    const { proxy } = startProxy({ wrong: wrong.port, off: off.port });
    const failures = new Map<string, ProxyEvent>();
    const both = waitFor(proxyEvents(proxy), (event) => {
      if (event.kind === 'dial-failed') failures.set(event.clusterId, event);
      return failures.size === 2;
    });
    proxy.start();
    await both;
    expect(failures.get('wrong')).toEqual({
      kind: 'dial-failed',
      clusterId: 'wrong',
      reason: 'unexpected response 401',
      status: 401,
      body: '{"error":"invalid sync token"}',
    });
    expect(failures.get('off')).toEqual({
      kind: 'dial-failed',
      clusterId: 'off',
      reason: 'unexpected response 503',
      status: 503,
      body: '{"error":"sync not configured"}',
    });
    expect(wrong.worker.connected).toBe(false);
  });

  test('an empty cluster config push leaves the Worker config as it was', async () => {
    const a = await startWorker();
    const { proxy, clusters } = startProxy({ a: a.port });
    const snapshot = handled(a.worker, 'cluster_config_snapshot');
    proxy.start();
    await snapshot;
    const before = { clusters: [{ id: 'a', name: '', url: `http://127.0.0.1:${a.port}` }] };
    expect(a.clusterConfig.config).toEqual(before);

    let applied = 0;
    a.clusterConfig.onChange(() => applied++);
    const done = handled(a.worker, 'key_snapshot');
    proxy.broadcast({ type: 'cluster_config_sync' });
    proxy.broadcast({
      type: 'cluster_config_sync',
      configSnapshot: { clusters: [{ id: '', url: 'http://x' }] },
    });
    clusters.set({ clusters: [] });
    proxy.pushClusterConfig(); // no clusters, no aliases: nothing is sent at all
    proxy.broadcast({ type: 'key_snapshot' });
    await done;
    expect(applied).toBe(0);
    expect(a.clusterConfig.config).toEqual(before);
  });

  test('a restarted Worker is dialled again and receives the snapshots, keys included', async () => {
    const first = await startWorker();
    const keys = new MemoryKeyStore();
    keys.createFromHash(
      { namespace: 'ns', role: 'tenant', user: 'u', team: 't' },
      'ef'.repeat(32),
      'efefefefefefefef',
    );
    const { proxy } = startProxy({ a: first.port }, { redialIntervalMs: 30, keys });
    const connected = handled(first.worker, 'cluster_config_snapshot');
    proxy.start();
    await connected;
    const gone = waitFor(proxyEvents(proxy), (event) => event.kind === 'disconnect');
    await first.worker.close();
    await gone;

    const second = await startWorker(TOKEN, first.port);
    const order: string[] = [];
    second.worker.onEvent((event) => event.kind === 'frame' && order.push(event.frame.type));
    await handled(second.worker, 'cluster_config_snapshot');
    expect(order).toEqual(['key_snapshot', 'template_snapshot', 'cluster_config_snapshot']);
    expect([...second.keys.keys.items.keys()]).toEqual(['agentbox-apikey-efefefefefefefef']);
  });
});

describe('two processes', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  /** Starts one end in its own process; `lines` yields its JSON lines. */
  function spawnNode(...args: string[]) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./nodes/sync-node.ts', import.meta.url).pathname, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const seen: Record<string, unknown>[] = [];
    const listeners = new Set<(line: Record<string, unknown>) => void>();
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      seen.push(line);
      for (const listener of listeners) listener(line);
    });
    const line = (predicate: (line: Record<string, unknown>) => boolean) => {
      const found = seen.find(predicate);
      if (found) return Promise.resolve(found);
      return waitFor(
        (listener: (line: Record<string, unknown>) => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        predicate,
        15_000,
      );
    };
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, line, exited };
  }

  test('the ws-proxy process killed mid-request gives the caller 503; a new one sends the snapshots again', async () => {
    const { worker, keys, port } = await startWorker();
    const firstConnect = handled(worker, 'key_snapshot');
    const proxy = spawnNode('proxy', String(port), TOKEN, 'hang');
    await firstConnect;
    expect([...keys.keys.items.keys()]).toEqual(['agentbox-apikey-cdcdcdcdcdcdcdcd']);

    const pending = worker
      .createKey({ namespace: 'ns', user: 'ada', team: 'a', role: '', description: '' })
      .catch((e) => e);
    await proxy.line((line) => line.rx === 'key_create');
    proxy.child.kill('SIGKILL');
    const error = await pending;
    expect(error).toBeInstanceOf(SyncHttpError);
    expect(error).toMatchObject({ status: 503, message: 'ws-proxy disconnected' });
    expect(worker.connected).toBe(false);

    keys.delete('agentbox-apikey-cdcdcdcdcdcdcdcd');
    const again = handled(worker, 'key_snapshot');
    spawnNode('proxy', String(port), TOKEN);
    await again;
    expect([...keys.keys.items.keys()]).toEqual(['agentbox-apikey-cdcdcdcdcdcdcdcd']);
    expect(worker.connected).toBe(true);
  });

  test('the Worker process killed and restarted on its port is dialled again and gets the snapshots', async () => {
    const first = spawnNode('worker', '0', TOKEN);
    const port = (await first.line((line) => typeof line.port === 'number')).port as number;
    const { proxy } = startProxy({ w: port }, { redialIntervalMs: 50 });
    proxy.start();
    await first.line((line) => line.frame === 'cluster_config_snapshot');
    const gone = waitFor(proxyEvents(proxy), (event) => event.kind === 'disconnect', 10_000);
    first.child.kill('SIGKILL');
    await Promise.all([gone, first.exited]);

    const second = spawnNode('worker', String(port), TOKEN);
    await second.line((line) => line.port === port);
    const config = await second.line((line) => line.frame === 'cluster_config_snapshot');
    expect(config).toEqual({ frame: 'cluster_config_snapshot', keys: 0 });
    expect(await second.line((line) => line.frame === 'key_snapshot')).toEqual({
      frame: 'key_snapshot',
      keys: 0,
    });
    expect(proxy.connectedClusters()).toEqual(['w']);
  });
});
