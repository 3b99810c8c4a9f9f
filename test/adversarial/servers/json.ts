/**
 * The native JSON wire under attack: the test protocol with anonymous auth, two servers in one process.
 * - `main`: a rate limit (1,000,000/s) and an in-flight cap (10,000) too high to reach, so 10,000 frames on one connection are all
 *   decoded and answered; the rest of its limits are small so the cases are quick: handshake 1 s,
 *   frames up to 256 KiB, heartbeat 250 ms with a 2 s timeout (a stalled test process must not
 *   cost the witness its connection).
 * - `tight`: the default rate limit (1000/s, burst 2000), for the floods, and 4 new connections
 *   per second per address, so a reconnecting flooder meets its 429 within the case.
 * Both allow only 50 pending handshakes (so 100 stuck peers meet the 503), and per-principal limits
 * out of reach (every peer here is the same anonymous principal).
 */
import { anonymous, createServer, type Limits, silentLogger } from '../../../src/server/index.js';
import { testProtocol } from '../../support/fixtures.js';
import { testHandlers } from '../../support/harness.js';
import { serveAdversarial } from '../support/child.js';
import { ADVERSARIAL_LIMITS, MAIN_LIMITS, TIGHT_LIMITS } from '../support/limits.js';

/** Peer limits (docs/limits.md) for these cases; per principal out of reach (every peer may be one principal). */
/**
 * The test handlers, with the work a stream does bounded: the protocol's schema puts no maximum on
 * `logs.tail`'s count, and a handler that yields 2^31 items without awaiting stalls any server. That
 * is the handler's doing, not the wire's, so here it is capped at 100.
 */
const base = testHandlers();
const handlers: typeof base = {
  ...base,
  logs: { ...base.logs, tail: (input, ctx) => base.logs.tail({ count: Math.min(input.count, 100) }, ctx) },
};

async function start(limits: Partial<Limits>) {
  return createServer({
    protocol: testProtocol,
    handlers,
    port: 0,
    host: '127.0.0.1',
    auth: anonymous(['*']),
    logger: silentLogger,
    limits: { ...ADVERSARIAL_LIMITS, handshakeTimeoutMs: 1000, ...limits },
  });
}

const main = await start(MAIN_LIMITS);
const tight = await start(TIGHT_LIMITS);
serveAdversarial({ main: main.port as number, tight: tight.port as number });
