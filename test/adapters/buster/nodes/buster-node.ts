// One Buster server node in its own process, on Redis, port chosen by the OS.
// Prints `{"port":N}` once listening. Run: node --import tsx buster-node.ts <redis-url>
import { createBusterServer } from '../../../../src/adapters/buster/index.js';
import { RedisStreamBus } from '../../../../src/adapters/buster/redis-bus.js';
import { silentLogger } from '../../../../src/server/index.js';
import { busterHandlers, busterProtocol, SECRET } from '../fixtures.js';

const [redisUrl = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
const bus = new RedisStreamBus({ redis: redisUrl });
const server = await createBusterServer({
  protocol: busterProtocol,
  handlers: busterHandlers,
  auth: { secret: SECRET },
  bus,
  port: 0,
  host: '127.0.0.1',
  path: '/api/v1/ws',
  logger: silentLogger,
  settings: { maxBlockMs: 200 },
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  await bus.close();
  process.exit(0);
});
