// `npm start`: the job-queue demo on the embedded in-memory default, nothing else to install.
import { startJobQueue } from './app.js';

const port = Number(process.env.PORT ?? 8080);
const app = await startJobQueue({ port, host: process.env.HOST ?? '127.0.0.1' });

console.log(`Switchboard job-queue demo listening on ${app.url}`);
console.log(`  admin key     (jobs:*, datasets:*):         ${app.keys.admin}`);
console.log(`  read-only key (jobs:read, datasets:read):   ${app.keys.readOnly}`);
console.log(`Try it: npm run demo:client -- ${app.url} ${app.keys.admin}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    console.log(`${signal}: saying goodbye to clients and letting running calls finish...`);
    await app.stop();
    process.exit(0);
  });
}
