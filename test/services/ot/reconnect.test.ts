import { afterEach, describe, expect, test } from 'vitest';
import { type Client, createClient } from '../../../src/client/index.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { connectOtClient, crc32, type OtClient, ot, otService } from '../../../src/services/ot/index.js';
import { type MemoryTransport, memoryTransport } from '../../../src/transport/memory.js';
import { until } from '../../support/harness.js';

const api = defineProtocol({
  name: 'ot-reconnect',
  version: '1.0.0',
  resources: {},
  services: { ot: otService },
});

let server: Server<typeof api> | undefined;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
  server = undefined;
});

async function start() {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: { ot: ot() },
    transport: transport.server,
    auth: {
      authenticate: ({ credentials }) => ({
        ok: true,
        principal: { id: String(credentials), permissions: ['*'], attributes: { name: String(credentials) } },
      }),
    },
    logger: silentLogger,
  });
}

/** An editor on `notes`: its client, the index of its first socket, its document, and its errors. */
async function editor(name: string) {
  const socketIndex = transport.clientSockets.length;
  const client = createClient({
    protocol: api,
    url: 'memory://ot',
    connect: transport.connect,
    credentials: name,
    reconnect: { initialDelayMs: 1, maxDelayMs: 5 },
  });
  clients.push(client);
  const channel = await client.openChannel('ot', { name: 'notes' });
  const errors: unknown[] = [];
  const doc = await connectOtClient(channel, { onError: (error) => errors.push(error) });
  return { client, socketIndex, doc, errors };
}

const insertAt = (doc: OtClient, at: number, text: string) =>
  doc.edit([{ skip: Math.min(at, [...doc.text].length) }, { insert: text }]);

describe('ot across a reconnect', () => {
  test.each([0, 1, 2, 5])(
    'an editor cut off with a packet in flight (cut after %i turns) catches up: same text, version and crc32',
    async (turns) => {
      await start();
      const ada = await editor('ada');
      const bob = await editor('bob');
      insertAt(ada.doc, 0, 'hello ');
      await until(() => bob.doc.text === 'hello ' && ada.doc.state === 'synchronized');
      // Ada types; the line drops somewhere around her packet's trip to the server.
      insertAt(ada.doc, 6, 'world');
      for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
      transport.clientSockets[ada.socketIndex]!.terminate();
      // Meanwhile Bob edits, and Ada keeps typing offline.
      insertAt(bob.doc, 0, '>> ');
      insertAt(bob.doc, 3, '# ');
      insertAt(ada.doc, [...ada.doc.text].length, '!');
      await until(
        () =>
          ada.client.state === 'open' &&
          ada.doc.state === 'synchronized' &&
          bob.doc.state === 'synchronized' &&
          ada.doc.version === bob.doc.version &&
          ada.doc.text === bob.doc.text,
        3000,
        'both editors to agree',
      );
      expect(ada.errors).toEqual([]);
      expect(bob.errors).toEqual([]);
      expect(ada.doc.text).toBe('>> # hello world!');
      expect(ada.doc.version).toBe(5);
      expect(crc32(ada.doc.text)).toBe(crc32(bob.doc.text));
    },
  );

  test('an editor whose document restarted while it was away (it was alone) is told it diverged', async () => {
    await start();
    const ada = await editor('ada');
    insertAt(ada.doc, 0, 'draft');
    await until(() => ada.doc.state === 'synchronized' && ada.doc.version === 1);
    transport.clientSockets[ada.socketIndex]!.terminate();
    await until(() => ada.errors.length === 1, 3000, 'the divergence');
    expect((ada.errors[0] as { code?: string }).code).toBe('OT_DIVERGED');
  });
});
