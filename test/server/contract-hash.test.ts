import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, contractHash, contractOf, defineProtocol } from '../../src/protocol/index.js';
import { refuse } from '../../src/server/index.js';
import type { Socket } from '../../src/transport/socket.js';
import type { Frame } from '../../src/wire/format.js';
import { jsonWire, jsonWireFormat } from '../../src/wire/json.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

const SERVER_HASH = contractHash(contractOf(testProtocol));
const { math, ...otherResources } = testProtocol.definition.resources;

/** An older client: it lacks `math.divide`, which the server added since (a safe addition). */
const withoutDivide = defineProtocol({
  ...testProtocol.definition,
  resources: { ...otherResources, math: { commands: { add: math.commands.add } } },
});

/** A newer client: it relies on `math.legacy`, which this server does not have (breaking). */
const withLegacy = defineProtocol({
  ...testProtocol.definition,
  resources: {
    ...otherResources,
    math: { commands: { ...math.commands, legacy: command({ input: z.object({}), output: z.null() }) } },
  },
});

/** Every frame a client's sockets send (→) and receive (←), in order, and how many sockets it opened. */
function tap(harness: Harness) {
  const frames: { dir: '→' | '←'; frame: Frame; message: Record<string, any> }[] = [];
  const record = (dir: '→' | '←', frame: Frame) =>
    frames.push({ dir, frame, message: JSON.parse(String(frame)) });
  let connects = 0;
  const connect = (url: string): Socket => {
    connects++;
    const socket = harness.connect(url);
    return {
      send(frame) {
        record('→', frame);
        socket.send(frame);
      },
      close: (code, reason) => socket.close(code, reason),
      terminate: () => socket.terminate(),
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      listen: (listener) =>
        socket.listen({
          ...listener,
          message(frame) {
            record('←', frame);
            listener.message(frame);
          },
        }),
    };
  };
  return {
    connect,
    frames,
    get connects() {
      return connects;
    },
    /** The exchange as `→hello`, `←welcome`...: direction and message type. */
    types: () => frames.map(({ dir, message }) => `${dir}${message.type}`),
  };
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each(TRANSPORTS)('contract hash over %s', (kind) => {
  test('same contract: the hello carries the hash, the welcome follows, no contract is sent', async () => {
    harness = await startHarness({}, {}, kind);
    const wire = tap(harness);
    const client = harness.client({ connect: wire.connect });
    expect(await client.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    expect(wire.types()).toEqual(['→hello', '←welcome', '→call', '←result']);
    expect(wire.frames[0]!.message).toEqual({
      type: 'hello',
      wire: 1,
      protocol: 'test',
      version: '1.2.0',
      contractHash: SERVER_HASH,
    });
  });

  test('the hello grows by exactly the hash field: 34 bytes', async () => {
    harness = await startHarness({}, {}, kind);
    const wire = tap(harness);
    await harness.client({ connect: wire.connect }).ready();
    const hello = String(wire.frames[0]!.frame);
    const before = String(jsonWire.encode({ type: 'hello', protocol: 'test', version: '1.2.0' }));
    expect(hello).toBe(`${before.slice(0, -1)},"contractHash":"${SERVER_HASH}"}`);
    expect(Buffer.byteLength(hello) - Buffer.byteLength(before)).toBe(34);
  });

  test('a compatible change: the server asks for the contract, compares, and welcomes', async () => {
    harness = await startHarness({}, {}, kind);
    const wire = tap(harness);
    const client = harness.client({ protocol: withoutDivide as never, connect: wire.connect });
    await client.ready();
    expect(wire.types()).toEqual(['→hello', '←contractRequest', '→contract', '←welcome']);
    expect(wire.frames[0]!.message.contractHash).toBe(contractHash(contractOf(withoutDivide)));
    expect(wire.frames[2]!.message).toEqual({ type: 'contract', contract: contractOf(withoutDivide) });
    expect(await client.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
  });

  test('a breaking change: refused with 4102 naming it, and the client does not retry', async () => {
    harness = await startHarness({}, {}, kind);
    const wire = tap(harness);
    const client = harness.client({ protocol: withLegacy as never, connect: wire.connect });
    const error = await client.ready().catch((e) => e);
    expect([error.name, error.closeCode, error.message]).toEqual([
      'ConnectError',
      4102,
      'incompatible contract: command math.legacy was removed',
    ]);
    expect(wire.types()).toEqual(['→hello', '←contractRequest', '→contract']);
    expect([client.state, wire.connects]).toEqual(['closed', 1]);
  });

  test('sendContract: true still sends the full contract in the hello, and no hash', async () => {
    harness = await startHarness({}, {}, kind);
    const wire = tap(harness);
    await harness
      .client({ protocol: withoutDivide as never, sendContract: true, connect: wire.connect })
      .ready();
    expect(wire.types()).toEqual(['→hello', '←welcome']);
    expect(wire.frames[0]!.message.contract).toEqual(contractOf(withoutDivide));
    expect(wire.frames[0]!.message.contractHash).toBeUndefined();
  });

  test('an old client without a hash connects as today: hello, welcome', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
    expect((await peer.next()).type).toBe('welcome');
    expect(peer.frames).toEqual([]);
  });

  test.each([
    ['a number', 12345],
    ['an object', { sha: 1 }],
    ['upper-case hex', '0123456789ABCDEF'],
    ['17 digits', '0123456789abcdef0'],
    ['an oversize string', 'a'.repeat(60_000)],
  ])('a hostile hash (%s) is refused with 1002 before authentication', async (_, contractHash) => {
    let authenticated = 0;
    harness = await startHarness(
      {
        auth: {
          authenticate: () => {
            authenticated++;
            return { ok: true, principal: { id: 'u', permissions: [] } };
          },
        },
      },
      {},
      kind,
    );
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash });
    expect(await peer.closed).toEqual({
      code: 1002,
      reason: 'hello: field "contractHash" must be 16 lowercase hex digits',
    });
    expect(authenticated).toBe(0);
  });

  test('a hash in a hello over maxHandshakeBytes is refused with 1009 unread', async () => {
    harness = await startHarness({ limits: { maxHandshakeBytes: 1024 } }, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: 'a'.repeat(2000) });
    expect((await peer.closed).code).toBe(1009);
  });

  test('an unauthenticated peer with another hash is refused by the authenticator, never asked for a contract', async () => {
    harness = await startHarness({ auth: { authenticate: () => refuse('no entry') } }, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: '0'.repeat(16) });
    expect(await peer.closed).toEqual({ code: 4100, reason: 'no entry' });
    expect(peer.frames).toEqual([]);
  });

  test('a malformed contract in the answer is refused with 4102', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: '0'.repeat(16) });
    expect(await peer.next()).toEqual({ type: 'contractRequest' });
    peer.send({ type: 'contract', contract: { commands: 1 } });
    expect(await peer.closed).toEqual({ code: 4102, reason: 'malformed contract in the answer' });
  });

  test('a contract answer deeper than the bound is refused with 4102 even on a wire that lets it through', async () => {
    harness = await startHarness({ wire: jsonWireFormat({ maxDepth: 100_000 }) }, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: '0'.repeat(16) });
    expect(await peer.next()).toEqual({ type: 'contractRequest' });
    const contract = contractOf(testProtocol);
    const deep = {
      ...contract,
      events: { ...contract.events, 'logs.appended': { payload: { description: 0 } } },
    };
    const depth = 5000;
    peer.send(
      JSON.stringify({ type: 'contract', contract: deep }).replace(
        '"description":0',
        `"description":${'['.repeat(depth)}${']'.repeat(depth)}`,
      ),
    );
    expect(await peer.closed).toEqual({
      code: 4102,
      reason: 'incompatible contract: event logs.appended payload: schema nested deeper than 64 levels',
    });
  });

  test('any other message in place of the contract closes with 1002', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: '0'.repeat(16) });
    await peer.next((message) => message.type === 'contractRequest');
    peer.send({ type: 'call', id: 1, command: 'math.add', input: { a: 1, b: 1 } });
    expect(await peer.closed).toEqual({
      code: 1002,
      reason: 'expected contract during the handshake, got call',
    });
  });

  test('a contract not asked for closes with 1002', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'contract', contract: contractOf(testProtocol) });
    expect(await peer.closed).toEqual({
      code: 1002,
      reason: 'expected hello during the handshake, got contract',
    });
  });

  test('a peer that never answers the request is closed by the handshake timeout (4101)', async () => {
    harness = await startHarness({ limits: { handshakeTimeoutMs: 100 } }, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contractHash: '0'.repeat(16) });
    expect(await peer.next()).toEqual({ type: 'contractRequest' });
    expect(await peer.closed).toEqual({ code: 4101, reason: 'no contract within 100 ms' });
  });

  test('the hash does not replace the version check: another major is refused before authentication', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '2.0.0', contractHash: SERVER_HASH });
    expect(await peer.closed).toEqual({
      code: 4102,
      reason: 'incompatible versions: server test@1.2.0, client test@2.0.0',
    });
  });
});
