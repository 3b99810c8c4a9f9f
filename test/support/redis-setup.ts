import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { RedisCluster } from './redis-cluster.js';
import { RedisProcess } from './redis-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A `redis://` URL of a real Redis for integration tests, or '' when none can run here. */
    redisUrl: string;
    /** `redis://` URLs of nodes of a real Redis Cluster (three shards), or [] when none can run here. */
    redisClusterUrls: string[];
  }
}

let redis: RedisProcess | undefined;
let cluster: RedisCluster | undefined;

/**
 * Uses REDIS_URL and REDIS_CLUSTER_URLS (comma-separated) when set; else starts Debian's
 * redis-server on a free port, and a cluster of three primaries and three replicas, without
 * persistence.
 */
export async function setup(project: TestProject): Promise<void> {
  let installed = true;
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    installed = false;
  }
  const startSingle = async () => {
    redis = await RedisProcess.start();
    return redis.url;
  };
  const startCluster = async () => {
    cluster = await RedisCluster.start();
    return cluster.urls;
  };
  const clusterUrls = process.env.REDIS_CLUSTER_URLS?.split(',').filter(Boolean);
  const [single, nodes] = await Promise.all([
    process.env.REDIS_URL ?? (installed ? startSingle() : ''),
    clusterUrls ?? (installed ? startCluster() : []),
  ]);
  project.provide('redisUrl', single);
  project.provide('redisClusterUrls', nodes);
}

export async function teardown(): Promise<void> {
  await Promise.all([redis?.kill(), cluster?.stop()]);
}
