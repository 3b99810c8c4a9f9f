import { fork } from 'node:child_process';
import { connect } from './load.js';

const child = fork(new URL('./servers.ts', import.meta.url).pathname, ['switchboard'], {
  execArgv: ['--import', 'tsx', '--conditions=source', '--cpu-prof', '--cpu-prof-dir=/tmp/prof'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const port = await new Promise<number>((r) => child.once('message', (m: any) => r(m.port)));
const clients = await Promise.all(Array.from({ length: 50 }, () => connect('switchboard', port)));
const end = Date.now() + 4000;
let n = 0;
await Promise.all(
  clients.flatMap((c) =>
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        await c.call(n++);
      }
    }),
  ),
);
console.log('calls', n);
for (const c of clients) c.close();
child.send({ type: 'exit' });
await new Promise((r) => child.once('exit', r));
