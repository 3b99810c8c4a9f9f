// The job-queue demo served over the fetch_ml binary wire. Used by server.ts and by the tests.
import { ApiKeyStore, createServer, type Logger, type Server } from 'switchboard/server';
import { fetchmlWire } from 'switchboard/wire/fetchml';
import { DatasetCatalog } from '../datasets.js';
import { JobQueue, type JobTimings } from '../jobs.js';
import { MetricLog } from '../metrics.js';
import { fetchmlAuth } from './auth.js';
import { jobQueueBinding } from './binding.js';
import { fetchmlJobQueueHandlers } from './handlers.js';
import { fetchmlJobQueue } from './protocol.js';
import { RunBook } from './runs.js';

export interface FetchmlJobQueueApp {
  readonly server: Server<typeof fetchmlJobQueue>;
  /** `ws://host:port/ws`, fetch_ml's path. */
  readonly url: string;
  /** Demo keys, shown once: the store keeps only their SHA-256 hashes. */
  readonly keys: { readonly admin: string; readonly readOnly: string };
  readonly jobs: JobQueue;
  stop(): Promise<void>;
}

export async function startFetchmlJobQueue(
  options: { port?: number; host?: string; timings?: JobTimings; logger?: Logger; now?: () => number } = {},
): Promise<FetchmlJobQueueApp> {
  const store = new ApiKeyStore();
  const keys = {
    admin: store.issue({ id: 'admin', permissions: ['jobs:*', 'datasets:*'] }),
    readOnly: store.issue({ id: 'viewer', permissions: ['jobs:read', 'datasets:read'] }),
  };
  const jobs = new JobQueue(options.timings);
  const server = await createServer({
    protocol: fetchmlJobQueue,
    handlers: fetchmlJobQueueHandlers(jobs, new DatasetCatalog(), new MetricLog(), new RunBook()),
    port: options.port ?? 9100,
    host: options.host ?? '127.0.0.1',
    path: '/ws',
    wire: fetchmlWire({ binding: jobQueueBinding, ...(options.now ? { now: options.now } : {}) }),
    auth: fetchmlAuth(store),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // Status packets: every state change reaches the connections that named the owner at the upgrade.
  jobs.on('updated', (job) => server.pushToUser(job.owner, 'jobs.updated', job));
  return {
    server,
    url: server.url,
    keys,
    jobs,
    async stop() {
      await server.close({ graceMs: 2000 });
      jobs.stop();
    },
  };
}
