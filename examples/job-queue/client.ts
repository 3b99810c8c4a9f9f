// `npm run demo:client -- <url> <key>`: a tour of the job-queue demo from the client side.
import { createClient } from 'switchboard/client';
import { CallError } from 'switchboard/protocol';
import { jobQueue } from './protocol.js';

const [url = process.env.SWITCHBOARD_URL ?? 'ws://127.0.0.1:8080', apiKey = process.env.SWITCHBOARD_KEY] =
  process.argv.slice(2);
if (!apiKey) {
  console.error('usage: npm run demo:client -- <url> <api key>   (npm start prints both)');
  process.exit(2);
}

const client = createClient({ protocol: jobQueue, url, credentials: { apiKey }, reconnect: false });
await client.ready().catch((error: Error) => {
  console.error(`could not connect to ${url}: ${error.message}`);
  console.error('is `npm start` running, and is the key one it printed?');
  process.exit(1);
});
console.log(`connected as ${client.principal?.id} with ${client.principal?.permissions.join(', ')}`);

client.on('jobs.updated', (job) => console.log(`  event jobs.updated: ${job.id} ${job.name} → ${job.state}`));

try {
  const name = `mnist-${Date.now()}`;
  const dataset = await client.call('datasets.register', { name, url: 'https://example.com/mnist.tar.gz' });
  console.log(`registered dataset ${dataset.name}`);
  console.log(
    `datasets matching "mnist": ${(await client.call('datasets.search', { term: 'mnist' })).length}`,
  );

  const commitId = 'a'.repeat(40);
  const low = await client.call('jobs.queue', { name: 'baseline', commitId, priority: 1 });
  const high = await client.call('jobs.queue', {
    name: 'sweep',
    commitId,
    priority: 9,
    args: ['--lr', '0.1'],
  });
  console.log(`queued ${low.id} (priority 1) and ${high.id} (priority 9)`);

  console.log(`logs of ${low.id}:`);
  for await (const line of client.stream('jobs.logs', { id: low.id })) {
    console.log(`  [${line.level}] ${line.text}`);
  }
  await client.call('metrics.log', { commitId, step: 1, value: 0.93, name: 'accuracy' });

  const { jobs } = await client.call('jobs.status', {});
  console.log('status:', jobs.map((job) => `${job.id}=${job.state}`).join(' '));

  try {
    await client.call('jobs.cancel', { id: 'job-404' });
  } catch (error) {
    if (error instanceof CallError)
      console.log(`cancel job-404 failed as expected: ${error.code} ${JSON.stringify(error.data)}`);
    else throw error;
  }
} catch (error) {
  // The read-only key gets this far: show the typed error instead of a stack trace.
  if (!(error instanceof CallError)) throw error;
  console.error(`${error.code}: ${error.message}${error.data ? ` ${JSON.stringify(error.data)}` : ''}`);
  if (error.code === 'PERMISSION_DENIED') console.error('run again with the admin key to queue jobs');
  process.exitCode = 1;
} finally {
  client.close();
}
