/**
 * The Buster wire under attack: the Buster-shaped protocol of test/adapters/buster on the memory
 * stream bus, JWTs signed with the fixtures' secret, path /api/v1/ws. `main` has a rate and an
 * in-flight cap out of reach (a probe follows each batch of 200 frames); `tight` the defaults, for
 * the flood. Small settings keep the cases quick: frames up to 256 KiB, a ping every 250 ms
 * answered within 1.5 s (a raw peer that never pongs is closed then).
 */
import {
  type BusterSettings,
  createBusterServer,
  MemoryStreamBus,
} from '../../../src/adapters/buster/index.js';
import { silentLogger } from '../../../src/server/index.js';
import { busterHandlers, busterProtocol, SECRET } from '../../adapters/buster/fixtures.js';
import { serveAdversarial } from '../support/child.js';

async function start(limits: Partial<BusterSettings>) {
  const server = await createBusterServer({
    protocol: busterProtocol,
    handlers: busterHandlers,
    auth: { secret: SECRET },
    bus: new MemoryStreamBus(),
    port: 0,
    host: '127.0.0.1',
    path: '/api/v1/ws',
    logger: silentLogger,
    settings: {
      maxBlockMs: 200,
      maxMessageBytes: 256 * 1024,
      pingIntervalMs: 250,
      pongTimeoutMs: 1500,
      ...limits,
    },
  });
  return server.port as number;
}

serveAdversarial({
  main: await start({ ratePerSecond: 1_000_000, rateBurst: 1_000_000, maxInFlight: 10_000 }),
  tight: await start({}),
});
