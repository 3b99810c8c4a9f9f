// One server node of a multi-node test: the test protocol on a Redis broker, port chosen by the OS.
// Prints `{"port":N}` once listening. Run: node --import tsx server-node.ts <redis-url> <history-size>
import { RedisBroker } from '../../../src/broker/redis.js';
import { anonymous, createServer, silentLogger } from '../../../src/server/index.js';
import { testProtocol } from '../../support/fixtures.js';
import { testHandlers } from '../../support/harness.js';

// `cluster:<url>,<url>…` names nodes of a Redis Cluster instead of one Redis.
const [redisUrl = 'redis://127.0.0.1:6379', historySize = '20000'] = process.argv.slice(2);
const backend = redisUrl.startsWith('cluster:')
  ? { cluster: { nodes: redisUrl.slice('cluster:'.length).split(',') } }
  : { redis: redisUrl };
const broker = new RedisBroker({ ...backend, historySize: Number(historySize) });
await broker.ready();
const server = await createServer({
  protocol: testProtocol,
  handlers: testHandlers(),
  port: 0,
  host: '127.0.0.1',
  broker,
  auth: anonymous(['*']),
  logger: silentLogger,
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on('SIGTERM', async () => {
  await server.close({ graceMs: 100 });
  await broker.close();
  process.exit(0);
});
