import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { RedisProcess } from './redis-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A `redis://` URL of a real Redis for integration tests, or '' when none can run here. */
    redisUrl: string;
  }
}

let redis: RedisProcess | undefined;

/** Uses REDIS_URL when set; else starts Debian's redis-server on a free port, without persistence. */
export async function setup(project: TestProject): Promise<void> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    project.provide('redisUrl', '');
    return;
  }
  redis = await RedisProcess.start();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.kill();
}
