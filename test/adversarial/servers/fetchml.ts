/**
 * The fetch_ml binary wire under attack: the job-queue demo's fetch_ml binding (examples/job-queue/fetchml),
 * two servers in one process, as servers/json.ts: `main` with a rate and an in-flight cap out of reach (a probe follows each batch of 200 frames), `tight` with the
 * default rate and 4 new connections per second per address. Small limits keep the cases quick:
 * frames up to 256 KiB, heartbeat 250 ms with a 2 s timeout, at most 50 pending handshakes.
 * The admin API key is the first argument (the test makes one per run); its hash is all the store keeps.
 */

import { DatasetCatalog } from '../../../examples/job-queue/datasets.js';
import { fetchmlAuth } from '../../../examples/job-queue/fetchml/auth.js';
import { jobQueueBinding } from '../../../examples/job-queue/fetchml/binding.js';
import { fetchmlJobQueueHandlers } from '../../../examples/job-queue/fetchml/handlers.js';
import { fetchmlJobQueue } from '../../../examples/job-queue/fetchml/protocol.js';
import { RunBook } from '../../../examples/job-queue/fetchml/runs.js';
import { JobQueue } from '../../../examples/job-queue/jobs.js';
import { MetricLog } from '../../../examples/job-queue/metrics.js';
import { ApiKeyStore, createServer, type Limits, silentLogger } from '../../../src/server/index.js';
import { fetchmlWire } from '../../../src/wire/fetchml/index.js';
import { serveAdversarial } from '../support/child.js';
import { ADVERSARIAL_LIMITS, MAIN_LIMITS, TIGHT_LIMITS } from '../support/limits.js';

const store = new ApiKeyStore();
store.addHash(ApiKeyStore.hash(process.argv[2] ?? ''), {
  id: 'admin',
  permissions: ['jobs:*', 'datasets:*'],
});
const jobs = new JobQueue({ lineMs: 5, lines: 2 });

/** Peer limits (docs/limits.md) for these cases; per principal out of reach (every peer may be one principal). */
async function start(limits: Partial<Limits>) {
  const server = await createServer({
    protocol: fetchmlJobQueue,
    handlers: fetchmlJobQueueHandlers(jobs, new DatasetCatalog(), new MetricLog(), new RunBook()),
    port: 0,
    host: '127.0.0.1',
    path: '/ws',
    wire: fetchmlWire({ binding: jobQueueBinding }),
    auth: fetchmlAuth(store),
    logger: silentLogger,
    limits: {
      ...ADVERSARIAL_LIMITS,
      ...limits,
    },
  });
  return server.port as number;
}

serveAdversarial({
  main: await start(MAIN_LIMITS),
  tight: await start(TIGHT_LIMITS),
});
