// A Buster flood against a server in its own process: RSS before, after the flood, and after a GC;
// a witness client served throughout. Not a test: numbers for docs/wire-buster.md.
// node --import tsx bench/buster-flood.ts [requests=20000] [rounds=1]
import { FloodNode, flood, Witness } from '../test/adapters/buster/flood.js';

const requests = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 1);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const node = await FloodNode.start();
const witness = await Witness.open(node);
for (let i = 0; i < 20; i++) await witness.call(i + 1);
const before = await node.memory();
console.log(`before: RSS ${mb(before.rss)}, heap ${mb(before.heapUsed)}`);
let peak = before.rss;
const sampler = setInterval(() => {
  void node.memory().then(
    (m) => {
      peak = Math.max(peak, m.rss);
    },
    () => {},
  );
}, 250);
witness.start();
for (let round = 1; round <= rounds; round++) {
  const started = Date.now();
  const outcome = await flood(node, requests);
  const codes = new Map<string, number>();
  for (const reply of outcome.replies) {
    const key = reply.error ? reply.error.message.split(':')[0] : 'result';
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  console.log(
    `round ${round}: ${Date.now() - started} ms, close ${outcome.close?.code ?? 'none'}, flooder got ${JSON.stringify(Object.fromEntries(codes))}`,
  );
}
// The witness goes on a little after the flood, so work the flood left behind gets done.
await witness.stop();
for (let i = 0; i < 20; i++) await witness.call(i + 1);
clearInterval(sampler);
const after = await node.memory();
console.log(`peak RSS seen: ${mb(peak)}`);
console.log(`after (GC): RSS ${mb(after.rss)}, heap ${mb(after.heapUsed)}`);
console.log(`witness: ${witness.sent} sent, ${witness.lost} lost, ${witness.wrong.length} wrong`);
witness.close();
node.stop();
