// Server memory per idle connection for one contender, without the full run:
// node --import tsx --conditions=source bench/profile-memory.ts switchboard
import { fork } from 'node:child_process';
import { connect, type LoadClient } from './load.js';
import type { Contender } from './servers.js';

const contender = (process.argv[2] ?? 'switchboard') as Contender;
const count = 2000;
const child = fork(new URL('./servers.ts', import.meta.url).pathname, [contender], {
  execArgv: ['--import', 'tsx', '--conditions=source', '--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', resolve));
const memory = () =>
  new Promise<{ rss: number; heapUsed: number }>((resolve) => {
    child.once('message', resolve);
    child.send({ type: 'memory' });
  });
const before = await memory();
const clients: LoadClient[] = [];
for (let i = 0; i < count; i += 100) {
  clients.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(contender, port)))));
}
// One round trip each, as every contender's clients do in the full run: an idle connection that has
// been used, not one that never exchanged a message (Switchboard's handshake is already one).
await Promise.all(clients.map((client) => client.call(0)));
await new Promise((resolve) => setTimeout(resolve, 500));
const after = await memory();
const per = (field: 'rss' | 'heapUsed') => Math.round((after[field] - before[field]) / count);
console.log(`${contender}: RSS ${per('rss')} B/connection, heap ${per('heapUsed')} B/connection`);
for (const client of clients) client.close();
child.kill('SIGKILL');
