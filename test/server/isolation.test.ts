import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, defineProtocol, topic } from '../../src/protocol/index.js';
import type { Authenticator, Principal } from '../../src/server/index.js';
import type { WireFormat } from '../../src/wire/format.js';
import { jsonWire } from '../../src/wire/json.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, type RawPeer, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const bug = () => {
  throw new Error('bug in application code');
};

/** The test protocol's name and math.add (so the harness's client is the witness), plus members that throw. */
const faultyProtocol = defineProtocol({
  name: 'test',
  version: '1.2.0',
  resources: {
    math: { commands: { add: testProtocol.definition.resources.math.commands.add } },
    faulty: {
      commands: {
        validator: command({ input: z.object({}).refine(bug), output: z.null() }),
        handler: command({ input: z.object({}), output: z.null() }),
      },
      topics: {
        rule: topic({ pattern: 'faulty.rule', payload: z.number(), subscribe: bug }),
        payload: topic({ pattern: 'faulty.payload', payload: z.number().transform(bug), publish: '*' }),
      },
    },
  },
});

/** Who a peer is comes from its credentials, so one peer can be the one whose principal misbehaves. */
const auth: Authenticator = {
  authenticate({ credentials }) {
    if (credentials === 'poisoned-principal') {
      const principal = { id: 'someone' } as Principal;
      Object.defineProperty(principal, 'permissions', { get: bug });
      return { ok: true, principal };
    }
    return { ok: true, principal: { id: String(credentials ?? 'anonymous'), permissions: ['*'] } };
  },
};

/** A custom wire with a bug: `bug.sync` calls decode to a call without a command. */
const buggyWire: WireFormat = {
  ...jsonWire,
  decode(frame) {
    const decoded = jsonWire.decode(frame);
    if (decoded.ok && decoded.message.type === 'call' && decoded.message.command === 'bug.sync')
      return { ok: true, message: { type: 'call', id: decoded.message.id } as never };
    return decoded;
  },
};

async function start(kind: (typeof TRANSPORTS)[number]) {
  harness = await startHarness(
    {
      protocol: faultyProtocol as never,
      handlers: {
        math: { add: ({ a, b }: { a: number; b: number }) => ({ sum: a + b }) },
        faulty: { validator: () => null, handler: bug },
      } as never,
      auth,
      wire: buggyWire,
      onConnect: (connection) => {
        if (connection.principal.id === 'connect-bomb') bug();
      },
      onDisconnect: (connection) => {
        if (connection.principal.id === 'disconnect-bomb') bug();
      },
    },
    {},
    kind,
  );
  const witness = harness.client();
  expect(await witness.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
  return { harness, witness };
}

/** The peer was closed 1011 with a trace id, and the log holds that trace id with the cause. */
async function expectFaulted(h: Harness, peer: RawPeer, doing: string) {
  const closed = await peer.closed;
  expect(closed.code).toBe(1011);
  const traceId = /^internal error \(trace ([0-9a-f]{16})\)$/.exec(closed.reason)?.[1];
  expect(traceId).toBeDefined();
  const record = h.records.find((r) => r.fields.traceId === traceId);
  expect([record?.level, record?.message, (record?.fields.error as Error | undefined)?.message]).toEqual([
    'error',
    `connection fault while ${doing}`,
    expect.any(String),
  ]);
}

describe.each(TRANSPORTS)('over %s, a throw ends at most its own connection', (kind) => {
  test('a synchronous throw while a frame is handled (a buggy wire): close 1011, the witness is served', async () => {
    const { harness: h, witness } = await start(kind);
    const peer = h.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: 'bug.sync', input: {} });
    await expectFaulted(h, peer, 'handling a frame');
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await h.raw().handshake()).toMatchObject({ type: 'welcome' });
  });

  test('onConnect throwing after the welcome: close 1011, the witness is served', async () => {
    const { harness: h, witness } = await start(kind);
    const peer = h.raw();
    expect(await peer.handshake('connect-bomb')).toMatchObject({ type: 'welcome' });
    await expectFaulted(h, peer, 'completing the handshake');
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
  });

  test('a refreshed principal that throws when read: close 1011, the witness is served', async () => {
    const { harness: h, witness } = await start(kind);
    const peer = h.raw();
    await peer.handshake();
    peer.send({ type: 'reauth', id: 1, credentials: 'poisoned-principal' });
    await expectFaulted(h, peer, 'refreshing credentials');
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
  });

  test('onDisconnect throwing is logged; the witness is served and new peers are welcomed', async () => {
    const { harness: h, witness } = await start(kind);
    const peer = h.raw();
    await peer.handshake('disconnect-bomb');
    peer.socket.close(1000);
    await peer.closed;
    await expect.poll(() => h.records.map((r) => r.message)).toContain('a close listener threw');
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await h.raw().handshake()).toMatchObject({ type: 'welcome' });
  });

  test.each([
    ['a validator', { type: 'call', id: 1, command: 'faulty.validator', input: {} }],
    ['a handler', { type: 'call', id: 1, command: 'faulty.handler', input: {} }],
    ['a subscribe rule', { type: 'subscribe', id: 1, topic: 'faulty.rule', params: {} }],
    ['a payload schema', { type: 'publish', id: 1, topic: 'faulty.payload', params: {}, payload: 1 }],
  ])(
    '%s that throws fails that request with INTERNAL; the connection and the witness go on',
    async (_, request) => {
      const { harness: h, witness } = await start(kind);
      const peer = h.raw();
      await peer.handshake();
      peer.send(request);
      const error = await peer.next((m) => m.id === 1);
      expect([error.type, error.code, error.message, typeof error.traceId]).toEqual([
        'error',
        'INTERNAL',
        'Internal error',
        'string',
      ]);
      peer.send({ type: 'call', id: 2, command: 'math.add', input: { a: 1, b: 1 } });
      expect(await peer.next((m) => m.id === 2)).toEqual({ type: 'result', id: 2, output: { sum: 2 } });
      expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    },
  );
});
