// `npm start`: the job-queue demo on a WebSocket port; everything is in memory, nothing else to install.
import { startJobQueue } from './app.js';

const port = Number(process.env.PORT ?? 8080);
const app = await startJobQueue({ port, host: process.env.HOST ?? '127.0.0.1' }).catch((error: Error) => {
  // A port in use is the usual newcomer's problem: say what to do instead of printing a stack.
  console.error(`could not listen on port ${port}: ${error.message}`);
  console.error('set PORT to another port, e.g. PORT=8081 npm start');
  process.exit(1);
});

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
