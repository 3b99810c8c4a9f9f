/**
 * The goval wire under attack: chat, files (a temporary root holding hello.txt) and ot services, the
 * token `token-alice` in the URL path (/wsv2/token-alice), two servers in one process as
 * servers/json.ts: `main` with a rate and an in-flight cap out of reach (a probe follows each batch of 200 frames), `tight` with the default rate and 4 new
 * connections per second per address. Small limits keep the cases quick: frames up to 256 KiB,
 * heartbeat 250 ms with a 2 s timeout, at most 50 pending handshakes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Limits, silentLogger } from '../../../src/server/index.js';
import { chat, chatService } from '../../../src/services/chat/index.js';
import { files, filesService } from '../../../src/services/files/index.js';
import { ot, otService } from '../../../src/services/ot/index.js';
import { govalTokenAuth, govalWire } from '../../../src/wire/goval/index.js';
import { serveAdversarial } from '../support/child.js';
import { ADVERSARIAL_LIMITS, MAIN_LIMITS, TIGHT_LIMITS } from '../support/limits.js';

const root = mkdtempSync(join(tmpdir(), 'adversarial-goval-'));
writeFileSync(join(root, 'hello.txt'), 'hi\n');

const protocol = defineProtocol({
  name: 'goval-adversarial',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService, files: filesService, ot: otService },
});

/** Peer limits (docs/limits.md) for these cases; per principal out of reach (every peer may be one principal). */
async function start(limits: Partial<Limits>) {
  const server = await createServer({
    protocol,
    handlers: {},
    services: { chat: chat(), files: files({ root }), ot: ot() },
    wire: govalWire(),
    auth: govalTokenAuth((token) =>
      token === 'token-alice'
        ? { id: 'alice', permissions: ['*'], attributes: { name: 'alice', userId: 7 } }
        : undefined,
    ),
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    limits: {
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
