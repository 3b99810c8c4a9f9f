import { type Client, createClient } from 'switchboard/client';
import { silentLogger } from 'switchboard/server';
import { afterEach, expect, test } from 'vitest';
import { type JobQueueApp, startJobQueue } from '../../examples/job-queue/app.js';
import { type Job, jobQueue } from '../../examples/job-queue/protocol.js';

let app: JobQueueApp | undefined;
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await app?.stop();
});

const commitId = '0123456789abcdef0123456789abcdef01234567';

async function connect(apiKey: string) {
  const client = createClient({
    protocol: jobQueue,
    url: app!.url,
    credentials: { apiKey },
    reconnect: false,
  });
  clients.push(client);
  await client.ready();
  return client;
}

/** The first `jobs.updated` that matches, or a failure after `timeoutMs`: wait on the event, never sleep. */
function nextUpdate(client: Client<typeof jobQueue>, match: (job: Job) => boolean, timeoutMs = 1000) {
  return new Promise<Job>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching jobs.updated within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = client.on('jobs.updated', (job) => {
      if (!match(job)) return;
      clearTimeout(timer);
      stop();
      resolve(job);
    });
  });
}

test('the job-queue demo queues by priority, cancels, streams logs, and enforces permissions', async () => {
  app = await startJobQueue({ port: 0, timings: { lineMs: 40, lines: 3 }, logger: silentLogger });
  const admin = await connect(app.keys.admin);
  const viewer = await connect(app.keys.readOnly);
  const updates: string[] = [];
  admin.on('jobs.updated', (job) => updates.push(`${job.name}:${job.state}`));
  const viewerUpdates: string[] = [];
  viewer.on('jobs.updated', (job) => viewerUpdates.push(job.id));
  const highCompleted = nextUpdate(admin, (job) => job.name === 'high' && job.state === 'completed');

  const first = await admin.call('jobs.queue', { name: 'first', commitId, priority: 1 });
  const low = await admin.call('jobs.queue', { name: 'low', commitId, priority: 2 });
  const high = await admin.call('jobs.queue', { name: 'high', commitId, priority: 9, note: 'urgent' });
  expect([first.id, first.owner, first.state]).toEqual(['job-1', 'admin', 'queued']);
  const order = (await viewer.call('jobs.status', {})).jobs.map((job) => `${job.name}:${job.state}`);
  expect(order).toEqual(['first:running', 'high:queued', 'low:queued']);

  expect((await admin.call('jobs.cancel', { id: low.id })).state).toBe('cancelled');
  const again = await admin.call('jobs.cancel', { id: low.id }).catch((e) => e);
  expect([again.code, again.data]).toEqual(['JOB_FINISHED', { id: low.id, state: 'cancelled' }]);
  const missing = await admin.call('jobs.status', { id: 'job-99' }).catch((e) => e);
  expect([missing.code, missing.message, missing.data]).toEqual([
    'JOB_NOT_FOUND',
    'no job job-99',
    { id: 'job-99' },
  ]);

  const lines: string[] = [];
  for await (const line of viewer.stream('jobs.logs', { id: first.id })) lines.push(line.text);
  expect(lines).toEqual(['step 1/3', 'step 2/3', 'done']);

  const denied = await viewer.call('jobs.queue', { name: 'nope', commitId, priority: 0 }).catch((e) => e);
  expect([denied.code, denied.data]).toEqual(['PERMISSION_DENIED', { required: 'jobs:create' }]);

  expect((await highCompleted).id).toBe(high.id);
  expect(updates).toEqual([
    'first:queued',
    'first:running',
    'low:queued',
    'high:queued',
    'low:cancelled',
    'first:completed',
    'high:running',
    'high:completed',
  ]);
  expect(viewerUpdates).toEqual([]);
  expect(await admin.call('jobs.prune', { keepLast: 1 })).toEqual({ pruned: 2 });
  expect((await admin.call('jobs.status', {})).jobs.map((job) => job.id)).toEqual([high.id]);
});

test('the demo catalogs datasets and logs metrics', async () => {
  app = await startJobQueue({ port: 0, logger: silentLogger });
  const admin = await connect(app.keys.admin);
  const mnist = await admin.call('datasets.register', {
    name: 'mnist',
    url: 'https://data.example/mnist.tgz',
  });
  expect([mnist.name, mnist.registeredBy]).toEqual(['mnist', 'admin']);
  await admin.call('datasets.register', { name: 'cifar', url: 'https://data.example/cifar.tgz' });
  const taken = await admin
    .call('datasets.register', { name: 'mnist', url: 'https://x.example/' })
    .catch((e) => e);
  expect([taken.code, taken.data]).toEqual(['DATASET_EXISTS', { name: 'mnist' }]);
  expect((await admin.call('datasets.list', {})).map((d) => d.name)).toEqual(['cifar', 'mnist']);
  expect((await admin.call('datasets.search', { term: 'MNI' })).map((d) => d.name)).toEqual(['mnist']);
  const unknown = await admin.call('datasets.info', { name: 'imagenet' }).catch((e) => e);
  expect([unknown.code, unknown.data]).toEqual(['DATASET_NOT_FOUND', { name: 'imagenet' }]);
  const badUrl = await admin.call('datasets.register', { name: 'x', url: 'not a url' }).catch((e) => e);
  expect(badUrl.code).toBe('INVALID_INPUT');
  expect(await admin.call('metrics.log', { commitId, step: 1, value: 0.5, name: 'loss' })).toEqual({
    recorded: 1,
  });
  expect(await admin.call('metrics.log', { commitId, step: 2, value: 0.4, name: 'loss' })).toEqual({
    recorded: 2,
  });
});

test('stopping the demo lets an open log stream run to the end of its job', async () => {
  app = await startJobQueue({ port: 0, timings: { lineMs: 40, lines: 3 }, logger: silentLogger });
  const admin = await connect(app.keys.admin);
  const job = await admin.call('jobs.queue', { name: 'last words', commitId, priority: 5 });
  const lines: string[] = [];
  let stopped: Promise<void> | undefined;
  for await (const line of admin.stream('jobs.logs', { id: job.id })) {
    lines.push(line.text);
    stopped ??= app.stop();
  }
  expect(lines).toEqual(['step 1/3', 'step 2/3', 'done']);
  await stopped;
});
