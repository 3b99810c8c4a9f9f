// Wires the demo together: stores, keys, server. Used by `npm start` and by the tests.
import { ApiKeyStore, apiKeys, createServer, type Logger, type Server } from 'switchboard/server';
import { DatasetCatalog } from './datasets.js';
import { jobQueueHandlers } from './handlers.js';
import { JobQueue, type JobTimings } from './jobs.js';
import { MetricLog } from './metrics.js';
import { jobQueue } from './protocol.js';

export interface JobQueueApp {
  readonly server: Server<typeof jobQueue>;
  readonly url: string;
  /** Demo keys, shown once: the store keeps only their SHA-256 hashes. */
  readonly keys: { readonly admin: string; readonly readOnly: string };
  readonly jobs: JobQueue;
  stop(): Promise<void>;
}

export async function startJobQueue(
  options: { port?: number; host?: string; timings?: JobTimings; logger?: Logger } = {},
): Promise<JobQueueApp> {
  const store = new ApiKeyStore();
  const keys = {
    admin: store.issue({ id: 'admin', permissions: ['jobs:*', 'datasets:*'] }),
    readOnly: store.issue({ id: 'viewer', permissions: ['jobs:read', 'datasets:read'] }),
  };
  const jobs = new JobQueue(options.timings);
  const server = await createServer({
    protocol: jobQueue,
    handlers: jobQueueHandlers(jobs, new DatasetCatalog(), new MetricLog()),
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    auth: apiKeys(store),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // Every state change reaches all connections of the job's owner.
  jobs.on('updated', (job) => server.pushToUser(job.owner, 'jobs.updated', job));
  return {
    server,
    url: server.url,
    keys,
    jobs,
    async stop() {
      // Server first: jobs keep running through the grace period, so open log streams can end.
      await server.close({ graceMs: 2000 });
      jobs.stop();
    },
  };
}
