// Type-level proofs. `tsc --noEmit` checks them (every @ts-expect-error line must be an error, or
// the unused directive is itself an error); vitest only runs the parts that are safe at runtime.
import { describe, expect, expectTypeOf, test } from 'vitest';
import { type Client, createClient } from '../../src/client/index.js';
import type { BuiltinErrorCode } from '../../src/protocol/error-codes.js';
import type { CallError } from '../../src/protocol/errors.js';
import type { Context, Handlers } from '../../src/server/index.js';
import { memoryTransport } from '../../src/transport/memory.js';
import { testProtocol } from '../support/fixtures.js';

type P = typeof testProtocol;

/** Type-checks `body` without running it: the calls inside would go to a server that is not there. */
const typecheckOnly = (body: () => unknown) => expectTypeOf(body).toBeFunction();

describe('Client<typeof testProtocol>', () => {
  const client = createClient({
    protocol: testProtocol,
    url: 'ws://127.0.0.1:1',
    connect: memoryTransport().connect,
    reconnect: false,
  });

  test('is a Client of the test protocol, and closes', () => {
    expectTypeOf(client).toEqualTypeOf<Client<P>>();
    client.close();
    expect(client.state).toBe('closed');
  });

  test('call resolves to the output type of the command', () => {
    typecheckOnly(() => {
      expectTypeOf(client.call('math.add', { a: 1, b: 2 })).toEqualTypeOf<Promise<{ sum: number }>>();
      expectTypeOf(client.call('math.divide', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
      expectTypeOf(client.call('slow.crash', {})).toEqualTypeOf<Promise<null>>();
    });
  });

  test('call takes the input type of the command', () => {
    expectTypeOf(client.call<'math.add'>)
      .parameter(1)
      .toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf(client.call<'slow.wait'>)
      .parameter(1)
      .toEqualTypeOf<{ ms: number }>();
  });

  test('a misspelled command does not compile', () => {
    typecheckOnly(() => {
      // @ts-expect-error: 'math.ad' is not a command of the protocol
      client.call('math.ad', { a: 1, b: 2 });
      // @ts-expect-error: the resource alone is not a command
      client.call('math', { a: 1, b: 2 });
    });
  });

  test('a wrong argument type does not compile', () => {
    typecheckOnly(() => {
      // @ts-expect-error: a is a number
      client.call('math.add', { a: '1', b: 2 });
      // @ts-expect-error: the input is an object
      client.call('math.add', 3);
    });
  });

  test('a missing field does not compile', () => {
    typecheckOnly(() => {
      // @ts-expect-error: b is missing
      client.call('math.add', { a: 1 });
      // @ts-expect-error: the input is required
      client.call('math.add');
    });
  });

  test('stream yields the item type of a streamed command', () => {
    typecheckOnly(() => {
      expectTypeOf(client.stream('logs.tail', { count: 1 })).toEqualTypeOf<
        AsyncIterableIterator<{ line: string }>
      >();
      expectTypeOf(client.stream('logs.forever', {})).toEqualTypeOf<AsyncIterableIterator<number>>();
    });
  });

  test('call on a stream, and stream on a plain command, do not compile', () => {
    typecheckOnly(() => {
      // @ts-expect-error: logs.tail is a stream
      client.call('logs.tail', { count: 1 });
      // @ts-expect-error: math.add is not a stream
      client.stream('math.add', { a: 1, b: 2 });
      // @ts-expect-error: count is a number
      client.stream('logs.tail', { count: 'all' });
    });
  });

  test('on types the payload of the event', () => {
    typecheckOnly(() => {
      client.on('logs.appended', (payload) => {
        expectTypeOf(payload).toEqualTypeOf<{ line: string }>();
      });
      // @ts-expect-error: not an event of the protocol
      client.on('logs.nope', () => {});
      // @ts-expect-error: a command is not an event
      client.on('math.add', () => {});
      // @ts-expect-error: the payload has no field count
      client.on('logs.appended', (payload) => payload.count);
    });
  });

  test('a failed call carries the protocol error codes and the built-in ones', () => {
    expectTypeOf<CallError<'DIVIDE_BY_ZERO'>['code']>().toEqualTypeOf<'DIVIDE_BY_ZERO' | BuiltinErrorCode>();
  });
});

describe('Handlers<typeof testProtocol>', () => {
  const handlers = {
    math: {
      add: ({ a, b }) => ({ sum: a + b }),
      divide: ({ a, b }, ctx) => (b === 0 ? ctx.fail('DIVIDE_BY_ZERO', 'no', { a }) : a / b),
    },
    slow: {
      wait: async () => ({ aborted: false }),
      crash: () => null,
      lie: () => ({ n: 1 }),
    },
    logs: {
      async *tail({ count }) {
        for (let i = 0; i < count; i++) yield { line: `l${i}` };
      },
      *forever() {
        yield 1;
      },
    },
  } satisfies Handlers<P>;

  test('gives each handler the validated input of its command', () => {
    expectTypeOf(handlers.math.add).parameter(0).toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf(handlers.logs.tail).parameter(0).toEqualTypeOf<{ count: number }>();
    expectTypeOf(handlers.math.divide).parameter(1).toEqualTypeOf<Context<P>>();
  });

  test('a handlers object missing a command does not compile', () => {
    const missing = {
      math: { add: () => ({ sum: 1 }) },
      slow: handlers.slow,
      logs: handlers.logs,
    };
    // @ts-expect-error: math.divide is missing
    missing satisfies Handlers<P>;

    const missingResource = { math: handlers.math, slow: handlers.slow };
    // @ts-expect-error: the logs resource is missing
    missingResource satisfies Handlers<P>;
  });

  test('a handler returning the wrong output type does not compile', () => {
    const wrongShape = { ...handlers, math: { ...handlers.math, add: () => ({ total: 3 }) } };
    // @ts-expect-error: add returns {sum: number}
    wrongShape satisfies Handlers<P>;

    const wrongType = { ...handlers, math: { ...handlers.math, divide: () => 'half' } };
    // @ts-expect-error: divide returns a number
    wrongType satisfies Handlers<P>;

    const wrongItem = {
      ...handlers,
      logs: {
        ...handlers.logs,
        *tail() {
          yield 'not a line';
        },
      },
    };
    // @ts-expect-error: tail yields {line: string}
    wrongItem satisfies Handlers<P>;
  });

  test('ctx.fail takes the protocol error codes and the built-in ones, nothing else', () => {
    const handler = (ctx: Context<P>) => {
      ctx.fail('DIVIDE_BY_ZERO');
      ctx.fail('DIVIDE_BY_ZERO', 'no', { a: 1 });
      ctx.fail('TIMEOUT');
      // @ts-expect-error: not an error code of this protocol
      ctx.fail('NOT_A_CODE');
      // @ts-expect-error: codes are case-sensitive
      ctx.fail('divide_by_zero');
    };
    expectTypeOf(handler).toBeFunction();
    expectTypeOf<Context<P>['fail']>().parameter(0).toEqualTypeOf<'DIVIDE_BY_ZERO' | BuiltinErrorCode>();
    expectTypeOf<Context<P>['fail']>().returns.toBeNever();
  });
});

describe('channel types', () => {
  test('a channel call is typed from its service definition', async () => {
    const { command, defineProtocol, event, service } = await import('../../src/protocol/index.js');
    const { z } = await import('zod');
    const counter = service({
      commands: { add: command({ input: z.object({ by: z.number() }), output: z.number() }) },
      events: { bumped: event(z.object({ total: z.number() })) },
    });
    const api = defineProtocol({ name: 'c', version: '1.0.0', resources: {}, services: { counter } });
    type Open = import('../../src/client/index.js').ChannelOf<typeof api, 'counter'>;
    expectTypeOf<Parameters<Open['call']>[0]>().toEqualTypeOf<'add'>();
    expectTypeOf<Parameters<Open['call']>[1]>().toEqualTypeOf<{ by: number }>();
    const call = (channel: Open) => channel.call('add', { by: 1 });
    expectTypeOf<ReturnType<typeof call>>().toEqualTypeOf<Promise<number>>();
    // @ts-expect-error: the service has no such command
    const wrong = (channel: Open) => channel.call('remove', { by: 1 });
    void wrong;
    expectTypeOf<Parameters<Open['on']>[0]>().toEqualTypeOf<'bumped'>();
  });
});
