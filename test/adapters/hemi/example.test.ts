import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { expect, test } from 'vitest';
import { z } from 'zod';
import { HemiClient, secp256k1Auth } from '../../../src/adapters/hemi/index.js';
import { command, defineProtocol, event } from '../../../src/protocol/index.js';
import { createServer, silentLogger } from '../../../src/server/index.js';
import { HEMI_TIMEOUTS, type HemiMessage, hemiWire } from '../../../src/wire/hemi/index.js';
import { within } from './support.js';

/** The example of docs/wire-hemi.md, run: port 0 and a generated key instead of 8383 and a fixed one. */
test('the docs example serves a protocol over Hemi and a HemiClient calls it', async () => {
  const privateKey = secp256k1.utils.randomSecretKey();
  const publicKey = bytesToHex(secp256k1.getPublicKey(privateKey, true));

  const bfg = defineProtocol({
    name: 'bfg',
    version: '1.0.0',
    resources: {
      l2: {
        commands: {
          keystones: command({
            input: z.object({ numL2Keystones: z.number().int().min(0) }),
            output: z.object({ l2Keystones: z.array(z.object({ hash: z.string() })) }),
          }),
        },
      },
      btc: {
        events: { newBlock: event(z.object({ height: z.number() })) },
      },
    },
  });

  const server = await createServer({
    protocol: bfg,
    handlers: {
      l2: {
        keystones: ({ numL2Keystones }) => ({
          l2Keystones: Array.from({ length: numL2Keystones }, (_, i) => ({ hash: `keystone ${i}` })),
        }),
      },
    },
    port: 0,
    host: '127.0.0.1',
    wire: hemiWire({ api: 'bfgapi', protocol: bfg }),
    auth: secp256k1Auth({ allow: [publicKey], permissions: ['bfg:*'] }),
    limits: { handshakeTimeoutMs: HEMI_TIMEOUTS.handshakeMs },
    logger: silentLogger,
  });

  let notified: (message: HemiMessage) => void = () => {};
  const notification = new Promise<HemiMessage>((resolve) => {
    notified = resolve;
  });
  const client = new HemiClient({ url: server.url, privateKey, onMessage: (message) => notified(message) });
  try {
    const reply = await within(client.call('bfgapi-l2-keystones-request', { numL2Keystones: 3 }));
    expect(reply).toEqual({
      command: 'bfgapi-l2-keystones-response',
      id: '1',
      payload: { l2Keystones: [{ hash: 'keystone 0' }, { hash: 'keystone 1' }, { hash: 'keystone 2' }] },
    });
    expect(server.broadcast('btc.newBlock', { height: 840000 })).toBe(1);
    expect(await within(notification)).toEqual({
      command: 'bfgapi-btc-new-block-notification',
      id: '',
      payload: { height: 840000 },
    });
  } finally {
    client.close();
    await server.close({ graceMs: 0 });
  }
});
