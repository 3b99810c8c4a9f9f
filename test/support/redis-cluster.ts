import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './redis-process.js';

const run = promisify(execFile);

/** A cluster node's bus port is its port plus this. */
const BUS_OFFSET = 10_000;

/**
 * A private Redis Cluster of Debian's redis-server processes (no persistence), in a temp dir on
 * free loopback ports: `primaries` shards with one replica each. A test may SIGKILL one node to
 * make its replica take over.
 */
export class RedisCluster {
  private constructor(
    private readonly dir: string,
    private readonly nodes: Map<number, ChildProcess>,
  ) {}

  /** Starts the nodes, joins them with `redis-cli --cluster create` and waits for `cluster_state:ok`. */
  static async start(primaries = 3, nodeTimeoutMs = 1000): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
    const ports: number[] = [];
    while (ports.length < primaries * 2) {
      // Each node also listens on its port + 10000 (the cluster bus): both must be free, and apart.
      const port = await freePort();
      const taken = ports.flatMap((other) => [other, other + BUS_OFFSET]);
      if (port + BUS_OFFSET > 65_535 || taken.includes(port) || taken.includes(port + BUS_OFFSET)) continue;
      if (await canListen(port + BUS_OFFSET)) ports.push(port);
    }
    const nodes = new Map<number, ChildProcess>();
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--save',
          '',
          '--appendonly',
          'no',
          // A replica's first sync would wait 5 s for more replicas to join it.
          '--repl-diskless-sync-delay',
          '0',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      nodes.set(port, child);
    }
    const cluster = new RedisCluster(dir, nodes);
    await Promise.all(ports.map((port) => waitForPort(port)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await cluster.settled();
    return cluster;
  }

  /** `redis://` URLs of every node still running. */
  get urls(): string[] {
    return [...this.nodes.keys()].map((port) => `redis://127.0.0.1:${port}`);
  }

  /**
   * Resolves once every running node reports `cluster_state:ok` and every replica's link to its
   * primary is up (a replica that never synced would not be promoted).
   */
  async settled(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        [...this.nodes.keys()].map(async (port) => {
          const [cluster, replication] = await Promise.all([
            this.cli(port, 'cluster', 'info').catch(() => ''),
            this.cli(port, 'info', 'replication').catch(() => ''),
          ]);
          return (
            cluster.includes('cluster_state:ok') &&
            (replication.includes('role:master') || replication.includes('master_link_status:up'))
          );
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the cluster did not settle');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The port of the primary that serves `key`'s slot now. */
  primaryOf(key: string): Promise<number> {
    const [port] = this.nodes.keys();
    return primaryOf(port!, key);
  }

  /** Runs one redis-cli command on a node and resolves with its output. */
  async cli(port: number, ...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-p', String(port), ...args])).stdout;
  }

  /** SIGKILLs one node and resolves once it has exited; the cluster forgets it. */
  async kill(port: number): Promise<void> {
    const child = this.nodes.get(port);
    if (!child) return;
    this.nodes.delete(port);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills every node and removes the temp dir. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((port) => this.kill(port)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The port of the primary that serves `key`'s slot now, as the node on `port` sees it. */
export async function primaryOf(port: number, key: string): Promise<number> {
  const cli = async (...args: string[]) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;
  const slot = Number(await cli('cluster', 'keyslot', key));
  const shards = JSON.parse(await cli('--json', 'cluster', 'slots')) as [
    number,
    number,
    [string, number, string],
  ][];
  const shard = shards.find(([from, to]) => from <= slot && slot <= to);
  if (!shard) throw new Error(`no primary serves slot ${slot}`);
  return shard[2][1];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
