import { afterEach, describe, expect, test } from 'vitest';
import { type Client, createClient } from '../../../src/client/index.js';
import { CallError } from '../../../src/protocol/errors.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { connectOtClient, crc32, type OtClient, ot, otService } from '../../../src/services/ot/index.js';
import { type MemoryTransport, memoryTransport } from '../../../src/transport/memory.js';
import { until } from '../../support/harness.js';

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
