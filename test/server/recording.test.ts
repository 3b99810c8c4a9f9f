import { afterEach, describe, expect, test } from 'vitest';
import { type Client, createClient } from '../../src/client/index.js';
import { anonymous, createServer, type Server, silentLogger } from '../../src/server/index.js';
import { comparable, outbound, replay } from '../../src/testing/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';
import { testProtocol } from '../support/fixtures.js';
import { RawPeer, testHandlers, until } from '../support/harness.js';

let server: Server<typeof testProtocol>;
let transport: MemoryTransport;
const clients: Client<typeof testProtocol>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
});

async function start(inBand = false) {
  transport = memoryTransport();
  server = await createServer({
    protocol: testProtocol,
    handlers: testHandlers(),
    transport: transport.server,
    auth: anonymous(['*']),
    logger: silentLogger,
    recording: { inBand },
  });
}

describe('traffic recording (VCR)', () => {
  test('records a connection with time and direction, and a replay against a fresh server gives the same answers', async () => {
    await start();
    const client = createClient({ protocol: testProtocol, url: 'memory://x', connect: transport.connect });
    clients.push(client);
    await client.ready();
    expect(server.startRecording(client.connectionId!)).toBe(true);
    const before = Date.now();
    expect(await client.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    const lines: string[] = [];
    for await (const { line } of client.stream('logs.tail', { count: 2 })) lines.push(line);
    await client.call('math.divide', { a: 1, b: 0 }).catch(() => {});
    const recorded = server.readRecording(client.connectionId!, true)!;
    expect(recorded.map((entry) => [entry.direction, entry.message.type])).toEqual([
      ['in', 'call'],
      ['out', 'result'],
      ['in', 'call'],
      ['out', 'event'],
      ['out', 'item'],
      ['out', 'event'],
      ['out', 'item'],
      ['out', 'end'],
      ['in', 'call'],
      ['out', 'error'],
    ]);
    expect(recorded.every((entry) => entry.timestamp >= before && entry.timestamp <= Date.now())).toBe(true);
    expect(server.readRecording(client.connectionId!)).toBeUndefined();

    // The same traffic against another server; the recording began after the handshake, so the
    // replay opens with a hello of its own.
    await server.close({ graceMs: 10 });
    await start();
    const replayed = await replay(recorded, {
      connect: transport.connect,
      url: 'memory://x',
      hello: { protocol: 'test', version: '1.2.0' },
    });
    expect(replayed.map(comparable)).toEqual(outbound(recorded).map(comparable));
  });

  test('in band, a client starts, reads and stops a recording of one channel only', async () => {
    await start(true);
    const peer = new RawPeer(transport.connect('memory://x'));
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: '$vcr.start', input: {} });
    expect(await peer.next((m) => m.id === 1)).toEqual({ type: 'result', id: 1, output: null });
    peer.send({ type: 'call', id: 2, command: 'math.add', input: { a: 2, b: 2 } });
    await peer.next((m) => m.id === 2);
    peer.send({ type: 'call', id: 3, command: '$vcr.read', input: {} });
    const read = await peer.next((m) => m.id === 3);
    expect(read.output.dropped).toBe(0);
    expect(
      read.output.entries.map((e: { direction: string; message: { type: string; id?: number } }) => [
        e.direction,
        e.message.type,
        e.message.id,
      ]),
    ).toEqual([
      ['out', 'result', 1],
      ['in', 'call', 2],
      ['out', 'result', 2],
      ['in', 'call', 3],
    ]);
    peer.send({ type: 'call', id: 4, command: '$vcr.start', input: { channel: 5 } });
    await peer.next((m) => m.id === 4);
    peer.send({ type: 'call', id: 5, command: 'math.add', input: { a: 1, b: 1 } });
    await peer.next((m) => m.id === 5);
    peer.send({ type: 'call', id: 6, command: '$vcr.read', input: {} });
    expect((await peer.next((m) => m.id === 6)).output).toEqual({ entries: [], dropped: 0 });
    peer.socket.close(1000);
  });

  test('without inBand, the $vcr commands are unknown', async () => {
    await start(false);
    const peer = new RawPeer(transport.connect('memory://x'));
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: '$vcr.start', input: {} });
    expect(await peer.next((m) => m.id === 1)).toMatchObject({ type: 'error', code: 'UNKNOWN_COMMAND' });
    peer.socket.close(1000);
    await until(() => server.list().length === 0);
  });
});
