import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { type Client, createClient } from '../../../src/client/index.js';
import { CallError } from '../../../src/protocol/errors.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { connectOtClient, crc32, type OtClient, ot, otService } from '../../../src/services/ot/index.js';
import { type MemoryTransport, memoryTransport } from '../../../src/transport/memory.js';
import { until } from '../../support/harness.js';
import { build, pieces } from './arbitraries.js';

const api = defineProtocol({ name: 'ot-e2e', version: '1.0.0', resources: {}, services: { ot: otService } });

let server: Server<typeof api> | undefined;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
  server = undefined;
});

async function start(files: Map<string, string> = new Map()) {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: {
      ot: ot({
        load: (path) => files.get(path) ?? '',
        save: (path, contents) => void files.set(path, contents),
      }),
    },
    transport: transport.server,
    auth: {
      authenticate: ({ credentials }) => {
        const { name, userId } = credentials as { name: string; userId: number };
        return { ok: true, principal: { id: name, permissions: ['*'], attributes: { name, userId } } };
      },
    },
    logger: silentLogger,
  });
}

async function editor(name: string, userId: number, doc = 'notes.txt') {
  const client = createClient({
    protocol: api,
    url: 'memory://ot',
    connect: transport.connect,
    credentials: { name, userId },
  });
  clients.push(client);
  const channel = await client.openChannel('ot', { name: doc, action: 'attachOrCreate' });
  return { client, channel };
}

/** Waits until every document reached `version` with nothing unconfirmed. */
async function settled(docs: OtClient[], version: number) {
  await until(
    () => docs.every((d) => d.version === version && d.state === 'synchronized'),
    2000,
    `version ${version}`,
  );
}

describe('ot over the in-memory transport', () => {
  test('two editors typing at once converge on one text, version and crc32', async () => {
    const files = new Map([['notes.txt', 'hello']]);
    await start(files);
    const ada = await editor('Ada', 1);
    const bob = await editor('Bob', 2);
    const errors: unknown[] = [];
    const a = await connectOtClient(ada.channel, { path: 'notes.txt', onError: (e) => errors.push(e) });
    const b = await connectOtClient(bob.channel, { path: 'notes.txt', onError: (e) => errors.push(e) });
    expect([a.text, a.version, b.text]).toEqual(['hello', 0, 'hello']);
    // Both type without waiting: each sends one packet and buffers the rest.
    a.edit([{ skip: 5 }, { insert: ' 😀' }]);
    b.edit([{ insert: '> ' }]);
    a.edit([{ skip: 7 }, { insert: '!' }]);
    b.edit([{ skip: 2 }, { delete: 1 }, { insert: 'H' }]);
    await settled([a, b], 4);
    expect(errors).toEqual([]);
    expect(a.text).toBe('> Hello 😀!');
    expect(b.text).toBe('> Hello 😀!');
    const status = await ada.channel.call('status', {});
    expect([status.contents, status.version, status.crc32]).toEqual(['> Hello 😀!', 4, crc32('> Hello 😀!')]);
    await until(() => files.get('notes.txt') === '> Hello 😀!', 2000, 'the save');
  });

  test('a cursor reaches the other editor with the placing user', async () => {
    await start();
    const ada = await editor('Ada', 1);
    const bob = await editor('Bob', 2);
    const seen: unknown[] = [];
    bob.channel.on('cursor', (cursor) => seen.push(cursor));
    bob.channel.on('cursorDeleted', (deleted) => seen.push(deleted));
    const { id } = await ada.channel.call('cursor', { position: 0, selectionStart: 0, selectionEnd: 0 });
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual({
      id,
      position: 0,
      selectionStart: 0,
      selectionEnd: 0,
      user: { id: 1, name: 'Ada', roles: [], session: ada.channel.session },
    });
    await ada.channel.close('disconnect');
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual({ id });
  });

  test('a refused packet comes back with its code', async () => {
    await start();
    const { channel } = await editor('Ada', 1);
    const error = await channel
      .call('apply', { version: 5, ops: [{ insert: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallError);
    expect([(error as CallError).code, (error as CallError).message]).toEqual([
      'OT_VERSION_AHEAD',
      'version 5 is ahead of the document (0)',
    ]);
    const invalid = await channel.call('apply', { version: 0, ops: [{ skip: -1 }] }).catch((e: unknown) => e);
    expect((invalid as CallError).code).toBe('INVALID_INPUT');
  });
});

describe('ot over the in-memory transport (property)', () => {
  test('three editors typing random edits with random pauses converge on the server’s text', async () => {
    await start();
    const people = await Promise.all([
      editor('Ada', 1, 'shared'),
      editor('Bob', 2, 'shared'),
      editor('Cy', 3, 'shared'),
    ]);
    let run = 0;
    let crossed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(2), pieces, fc.nat(3)), { minLength: 1, maxLength: 30 }),
        async (steps) => {
          // A fresh document per run: every run opens its own channel name on the same connections.
          const name = `doc-${run++}`;
          const channels = await Promise.all(people.map(({ client }) => client.openChannel('ot', { name })));
          const errors: unknown[] = [];
          const docs: OtClient[] = [];
          for (const channel of channels) {
            const doc: OtClient = await connectOtClient(channel, {
              onError: (e) => errors.push(e),
              // A remote edit reaching an editor with its own edit in flight: the edits crossed.
              onRemote: () => {
                if (doc.state !== 'synchronized') crossed++;
              },
            });
            docs.push(doc);
          }
          for (const [who, recipe, pause] of steps) {
            const doc = docs[who] as OtClient;
            doc.edit(build(recipe, Array.from(doc.text).length));
            // Let 0 to 3 turns of the event loop pass, so packets, replies and events cross differently.
            for (let i = 0; i < pause; i++) await new Promise((resolve) => setImmediate(resolve));
          }
          const status = () => channels[0]?.call('status', {});
          await until(() => docs.every((d) => d.state === 'synchronized'), 2000, 'every packet confirmed');
          const final = await status();
          await until(() => docs.every((d) => d.version === final?.version), 2000, 'every packet delivered');
          expect(errors).toEqual([]);
          for (const doc of docs)
            expect([doc.text, doc.version, crc32(doc.text)]).toEqual([
              final?.contents,
              final?.version,
              final?.crc32,
            ]);
          await Promise.all(channels.map((channel) => channel.close('disconnect')));
        },
      ),
      { numRuns: 40 },
    );
    // Typically about 80: the runs did make editors transform concurrent edits.
    expect(crossed).toBeGreaterThan(10);
  });
});
