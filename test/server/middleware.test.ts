import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { type Client, createClient } from '../../src/client/index.js';
import { RequestError } from '../../src/protocol/errors.js';
import { command, defineProtocol, error, service, stream } from '../../src/protocol/index.js';
import {
  type Authenticator,
  type CallInfo,
  createServer,
  type Handlers,
  type Middleware,
  type Server,
  type ServiceImplementation,
} from '../../src/server/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import { docTable } from '../support/docs.js';
import { RawPeer, recordingLogger, until } from '../support/harness.js';

declare module '../../src/server/middleware.js' {
  interface CallLocals {
    tenant?: string;
  }
}

const vaultService = service({
  commands: { peek: command({ input: z.object({}), output: z.string() }) },
});

const api = defineProtocol({
  name: 'middleware-test',
  version: '1.0.0',
  resources: {
    calls: {
      commands: {
        echo: command({ input: z.object({ text: z.string() }), output: z.string() }),
        whoami: command({ input: z.object({}), output: z.string() }),
        decline: command({ input: z.object({}), output: z.string() }),
        boom: command({ input: z.object({}), output: z.string() }),
        admin: command({ input: z.object({}), output: z.string(), permission: 'admin' }),
        pay: command({ input: z.object({ cents: z.number() }), output: z.number(), idempotent: true }),
        count: stream({ input: z.object({ to: z.number() }), item: z.number() }),
        broken: stream({ input: z.object({}), item: z.number() }),
      },
    },
  },
  services: { vault: vaultService },
  errors: { DECLINED: error('Declined') },
});

const runs = { echo: 0, pay: 0 };
const handlers: Handlers<typeof api> = {
  calls: {
    echo: ({ text }) => {
      runs.echo++;
      return text;
    },
    whoami: (_input, ctx) => `${ctx.principal.id}@${ctx.locals.tenant ?? 'none'}`,
    decline: (_input, ctx) => ctx.fail('DECLINED', 'no'),
    boom: () => {
      throw new Error('kaput');
    },
    admin: () => 'root',
    pay: ({ cents }) => {
      runs.pay++;
      return cents;
    },
    async *count({ to }) {
      for (let i = 1; i <= to; i++) yield i;
    },
    async *broken() {
      yield 1;
      throw new Error('stream broke');
    },
  },
};

const vault: ServiceImplementation<typeof vaultService, null> = {
  create: () => null,
  handlers: { peek: (_input, ctx) => `secret for ${ctx.locals.tenant ?? 'none'}` },
};

const byId: Authenticator = {
  authenticate: ({ credentials }) => {
    const { id, permissions } = (credentials ?? { id: 'anon', permissions: [] }) as {
      id: string;
      permissions: string[];
    };
    return { ok: true, principal: { id, permissions } };
  },
};

let server: Server<typeof api> | undefined;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const peer of peers.splice(0)) peer.socket.close(1000, 'done');
  await server?.close({ graceMs: 10 });
  server = undefined;
  runs.echo = 0;
  runs.pay = 0;
});

async function start(middleware: Middleware[], logger = recordingLogger()) {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers,
    services: { vault },
    transport: transport.server,
    auth: byId,
    logger: logger.logger,
    middleware,
  });
  return logger;
}

function client(id = 'ada', permissions: string[] = []) {
  const made = createClient({
    protocol: api,
    url: 'memory://x',
    connect: transport.connect,
    credentials: { id, permissions },
  });
  clients.push(made);
  return made;
}

/** A middleware that keeps what it saw of each call once it ended. */
function observer() {
  const seen: CallInfo[] = [];
  const middleware: Middleware = async (call, next) => {
    try {
      await next();
    } finally {
      seen.push(call);
    }
  };
  return { seen, middleware };
}

/** The fields of a finished call a test can assert exactly (the duration checked for its type only). */
function summary(call: CallInfo) {
  expect(typeof call.durationMs).toBe('number');
  expect(call.durationMs).toBeGreaterThanOrEqual(0);
  expect(call.startedAt).toBeLessThanOrEqual(Date.now());
  return {
    command: call.command,
    kind: call.kind,
    principal: call.principal.id,
    input: call.input,
    channel: call.channel,
    service: call.service,
    replay: call.replay,
    outcome: call.outcome,
  };
}

describe('middleware', () => {
  test('runs in onion order around the handler: first in, last out', async () => {
    const log: string[] = [];
    const named =
      (name: string): Middleware =>
      async (_call, next) => {
        log.push(`${name} before`);
        await next();
        log.push(`${name} after`);
      };
    const traced: Middleware = async (call, next) => {
      log.push(`handler sees runs=${runs.echo}`);
      await next();
      log.push(`handler ran ${call.command} runs=${runs.echo}`);
    };
    await start([named('outer'), named('inner'), traced]);
    expect(await client().call('calls.echo', { text: 'hi' })).toBe('hi');
    expect(log).toEqual([
      'outer before',
      'inner before',
      'handler sees runs=0',
      'handler ran calls.echo runs=1',
      'inner after',
      'outer after',
    ]);
  });

  test('a refusal (a RequestError) reaches the caller exactly, and the handler never runs; outer middleware sees its code', async () => {
    const { seen, middleware } = observer();
    await start([
      middleware,
      (call) => {
        if (call.principal.id === 'mallory')
          throw new RequestError('DECLINED', 'mallory may not', { who: 'm' });
      },
    ]);
    const refused = await client('mallory')
      .call('calls.echo', { text: 'hi' })
      .catch((e) => e);
    expect([refused.code, refused.message, refused.data]).toEqual([
      'DECLINED',
      'mallory may not',
      { who: 'm' },
    ]);
    expect(runs.echo).toBe(0);
    expect(seen.map(summary)).toEqual([
      {
        command: 'calls.echo',
        kind: 'command',
        principal: 'mallory',
        input: { text: 'hi' },
        channel: undefined,
        service: undefined,
        replay: false,
        outcome: { status: 'error', code: 'DECLINED' },
      },
    ]);
  });

  test('a middleware that throws something else is INTERNAL with a logged trace id; the server keeps serving', async () => {
    const logs = await start([
      async (call, next) => {
        if (call.command === 'calls.whoami') throw new TypeError('middleware bug');
        await next();
      },
    ]);
    const c = client();
    const failed = await c.call('calls.whoami', {}).catch((e) => e);
    expect(failed.code).toBe('INTERNAL');
    expect(failed.traceId).toMatch(/^[0-9a-f]{16}$/);
    const logged = logs.records.find((line) => line.fields.traceId === failed.traceId);
    expect(logged?.message).toBe('internal error');
    expect((logged?.fields.error as Error | undefined)?.message).toBe('middleware bug');
    expect(await c.call('calls.echo', { text: 'still up' })).toBe('still up');
  });

  test('a middleware that returns without next() and without refusing is INTERNAL, not a call left unanswered', async () => {
    await start([() => {}]);
    const failed = await client()
      .call('calls.echo', { text: 'x' })
      .catch((e) => e);
    expect(failed.code).toBe('INTERNAL');
    expect(runs.echo).toBe(0);
  });

  test('decorates the handler context through ctx.locals, typed by augmenting CallLocals', async () => {
    await start([
      async (call, next) => {
        call.locals.tenant = `t-${call.principal.id}`;
        await next();
      },
    ]);
    expect(await client('ada').call('calls.whoami', {})).toBe('ada@t-ada');
  });

  test('without middleware, ctx.locals is empty', async () => {
    await start([]);
    expect(await client('ada').call('calls.whoami', {})).toBe('ada@none');
  });

  test('sees timing and the outcome: ok, a request error code, INTERNAL', async () => {
    const { seen, middleware } = observer();
    await start([middleware]);
    const c = client();
    await c.call('calls.echo', { text: 'a' });
    await c.call('calls.decline', {}).catch(() => {});
    await c.call('calls.boom', {}).catch(() => {});
    // docs/server.md lists exactly the fields a middleware gets.
    const documented = docTable('server.md', 'A middleware gets', { stripCode: true }).map(
      ([field]) => field,
    );
    expect(documented.sort()).toEqual(Object.keys(seen[0] ?? {}).sort());
    expect(seen.map((call) => [call.command, call.outcome])).toEqual([
      ['calls.echo', { status: 'ok' }],
      ['calls.decline', { status: 'error', code: 'DECLINED' }],
      ['calls.boom', { status: 'internal' }],
    ]);
    for (const call of seen) summary(call);
  });

  test('permissions and input validation run first: a refused caller never reaches middleware', async () => {
    const { seen, middleware } = observer();
    await start([middleware]);
    const denied = await client('guest')
      .call('calls.admin', {})
      .catch((e) => e);
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(seen).toEqual([]);
    expect(await client('root', ['admin']).call('calls.admin', {})).toBe('root');
    expect(seen.map((call) => call.outcome)).toEqual([{ status: 'ok' }]);
  });

  test('wraps a whole stream: it sees the stream end, or its failure, as the outcome', async () => {
    const { seen, middleware } = observer();
    await start([middleware]);
    const c = client();
    const items: number[] = [];
    for await (const item of c.stream('calls.count', { to: 3 })) {
      items.push(item);
    }
    expect(items).toEqual([1, 2, 3]);
    const broken: number[] = [];
    const failure = await (async () => {
      for await (const item of c.stream('calls.broken', {})) broken.push(item);
    })().catch((e) => e);
    expect(broken).toEqual([1]);
    expect(failure.code).toBe('INTERNAL');
    expect(seen.map(summary)).toEqual([
      {
        command: 'calls.count',
        kind: 'stream',
        principal: 'ada',
        input: { to: 3 },
        channel: undefined,
        service: undefined,
        replay: false,
        outcome: { status: 'ok' },
      },
      {
        command: 'calls.broken',
        kind: 'stream',
        principal: 'ada',
        input: {},
        channel: undefined,
        service: undefined,
        replay: false,
        outcome: { status: 'internal' },
      },
    ]);
  });

  test('a stream cancelled by the caller ends with CANCELLED as its outcome', async () => {
    const { seen, middleware } = observer();
    await start([middleware]);
    for await (const item of client().stream('calls.count', { to: 1000 })) {
      if (item === 2) break;
    }
    await until(() => seen.length === 1);
    expect(seen[0]?.outcome).toEqual({ status: 'error', code: 'CANCELLED' });
  });

  test('an idempotent retry answered from the store goes through middleware, marked as a replay', async () => {
    const { seen, middleware } = observer();
    await start([middleware]);
    const peer = new RawPeer(transport.connect('memory://x'));
    peers.push(peer);
    peer.send({ type: 'hello', wire: 1, protocol: 'middleware-test', version: '1.0.0' });
    await peer.next((m) => m.type === 'welcome');
    for (const id of [1, 2]) {
      peer.send({ type: 'call', id, command: 'calls.pay', input: { cents: 5 }, idempotencyKey: 'k' });
      expect(await peer.next((m) => m.id === id)).toEqual({
        type: 'result',
        id,
        output: 5,
      });
    }
    expect(runs.pay).toBe(1);
    expect(seen.map(summary)).toEqual([
      {
        command: 'calls.pay',
        kind: 'command',
        principal: 'anon',
        input: { cents: 5 },
        channel: undefined,
        service: undefined,
        replay: false,
        outcome: { status: 'ok' },
      },
      {
        command: 'calls.pay',
        kind: 'command',
        principal: 'anon',
        input: { cents: 5 },
        channel: undefined,
        service: undefined,
        replay: true,
        outcome: { status: 'ok' },
      },
    ]);
  });

  test('a service call on a channel goes through middleware with its channel and service, and its handler sees locals', async () => {
    const { seen, middleware } = observer();
    await start([
      middleware,
      async (call, next) => {
        call.locals.tenant = 'acme';
        await next();
      },
    ]);
    const channel = await client().openChannel('vault', { name: 'v' });
    expect(await channel.call('peek', {})).toBe('secret for acme');
    expect(seen.map(summary)).toEqual([
      {
        command: 'vault.peek',
        kind: 'command',
        principal: 'ada',
        input: {},
        channel: channel.number,
        service: 'vault',
        replay: false,
        outcome: { status: 'ok' },
      },
    ]);
  });

  test('recording keeps working: the replies middleware let through are recorded', async () => {
    await start([
      async (call, next) => {
        call.locals.tenant = 'rec';
        await next();
      },
    ]);
    const c = client('ada');
    await c.ready();
    const [info] = server?.list() ?? [];
    server?.startRecording(info?.id ?? '');
    expect(await c.call('calls.whoami', {})).toBe('ada@rec');
    const entries = server?.readRecording(info?.id ?? '', true) ?? [];
    expect(entries.map((entry) => [entry.direction, entry.message.type])).toEqual([
      ['in', 'call'],
      ['out', 'result'],
    ]);
  });

  test('over a real WebSocket: middleware runs in order and decorates', async () => {
    const log: string[] = [];
    server = await createServer({
      protocol: api,
      handlers,
      port: 0,
      auth: byId,
      logger: recordingLogger().logger,
      middleware: [
        async (call, next) => {
          log.push('outer');
          call.locals.tenant = 'ws';
          await next();
          log.push(`outer saw ${call.outcome?.status}`);
        },
        async (_call, next) => {
          log.push('inner');
          await next();
        },
      ],
    });
    const c = createClient({
      protocol: api,
      url: server.url,
      connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
      credentials: { id: 'ada', permissions: [] },
    });
    clients.push(c);
    expect(await c.call('calls.whoami', {})).toBe('ada@ws');
    expect(log).toEqual(['outer', 'inner', 'outer saw ok']);
  });
});
