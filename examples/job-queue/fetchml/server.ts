// The job-queue demo on the fetch_ml binary wire: `npx tsx --conditions=source examples/job-queue/fetchml/server.ts`.
import { startFetchmlJobQueue } from './app.js';

const port = Number(process.env.PORT ?? 9100);
const app = await startFetchmlJobQueue({ port, host: process.env.HOST ?? '127.0.0.1' }).catch(
  (error: Error) => {
    console.error(`could not listen on port ${port}: ${error.message}`);
    console.error('set PORT to another port, e.g. PORT=9101');
    process.exit(1);
  },
);

console.log(`fetch_ml binary wire (job-queue demo) listening on ${app.url}`);
console.log(`  admin key     (jobs:*, datasets:*):         ${app.keys.admin}`);
console.log(`  read-only key (jobs:read, datasets:read):   ${app.keys.readOnly}`);
console.log('Every frame is [opcode:1][first 16 bytes of sha256(key)][fields…]; see docs/wire-fetchml.md.');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await app.stop();
    process.exit(0);
  });
}
