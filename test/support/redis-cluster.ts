import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './redis-process.js';

const run = promisify(execFile);

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
    for (let i = 0; i < primaries * 2; i++) ports.push(await freePort());
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
  async primaryOf(key: string): Promise<number> {
    const [port] = this.nodes.keys();
    const slot = Number(await this.cli(port!, 'cluster', 'keyslot', key));
    const shards = JSON.parse(
      (await run('redis-cli', ['-p', String(port), '--json', 'cluster', 'slots'])).stdout,
    ) as [number, number, [string, number, string]][];
    const shard = shards.find(([from, to]) => from <= slot && slot <= to);
    if (!shard) throw new Error(`no primary serves slot ${slot}`);
    return shard[2][1];
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
