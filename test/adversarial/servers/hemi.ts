/**
 * The Hemi wire under attack: the BFG-like protocol of test/adapters/hemi with the secp256k1
 * handshake, any key admitted (an attacker can always make a key), two servers in one process as
 * servers/json.ts: `main` with a rate and an in-flight cap out of reach (a probe follows each batch of 200 frames), `tight` with the default rate and 4 new
 * connections per second per address. Small limits keep the cases quick: handshake 2 s (signing takes time on a busy machine), frames
 * up to 256 KiB, heartbeat 250 ms with a 2 s timeout, at most 50 pending handshakes.
 */
import { secp256k1Auth } from '../../../src/adapters/hemi/authenticator.js';
import { createServer, type Limits, silentLogger } from '../../../src/server/index.js';
import { hemiWire } from '../../../src/wire/hemi/wire.js';
import { bfgHandlers } from '../../adapters/hemi/support.js';
import { bfgProtocol } from '../../wire/hemi/fixtures.js';
import { serveAdversarial } from '../support/child.js';
import { ADVERSARIAL_LIMITS, MAIN_LIMITS, TIGHT_LIMITS } from '../support/limits.js';

/** Peer limits (docs/limits.md) for these cases; per principal out of reach (every peer may be one principal). */
/**
 * The test handlers, with the work they do bounded: the protocol's schemas put no maximum on
 * `numL2Keystones` or `count`, and a handler that builds 2^31 items stalls any server. That is the
 * handler's doing, not the wire's, so here it is capped at 100.
 */
const handlers: typeof bfgHandlers = {
  ...bfgHandlers,
  l2: {
    ...bfgHandlers.l2,
    keystones: (input, ctx) =>
      bfgHandlers.l2.keystones({ numL2Keystones: Math.min(input.numL2Keystones, 99) }, ctx),
  },
  logs: {
    tail: (input, ctx) => bfgHandlers.logs.tail({ count: Math.min(input.count, 100) }, ctx),
  },
};

async function start(limits: Partial<Limits>) {
  const server = await createServer({
    protocol: bfgProtocol,
    handlers,
    port: 0,
    host: '127.0.0.1',
    wire: hemiWire({ api: 'bfgapi', protocol: bfgProtocol }),
    auth: secp256k1Auth({ permissions: ['btc:read'] }),
    logger: silentLogger,
    limits: {
      handshakeTimeoutMs: 2000,
      ...ADVERSARIAL_LIMITS,
      ...limits,
    },
  });
  return server.port as number;
}

serveAdversarial({
  main: await start(MAIN_LIMITS),
  tight: await start(TIGHT_LIMITS),
});
