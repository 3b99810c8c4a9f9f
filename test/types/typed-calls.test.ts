// Type-level proofs, checked by `tsc --noEmit` (each @ts-expect-error must be an error) and by vitest.
import { describe, expectTypeOf, test } from 'vitest';
import { createClient } from '../../src/client/index.js';
import type { CallError } from '../../src/protocol/errors.js';
import type { Handlers } from '../../src/server/index.js';
import { memoryTransport } from '../../src/transport/memory.js';
import { testProtocol } from '../support/fixtures.js';

type P = typeof testProtocol;

describe('types inferred from the protocol definition', () => {
  test('calls, streams and events are typed, and wrong ones do not compile', () => {
    const client = createClient({
      protocol: testProtocol,
      url: 'memory://types',
      connect: memoryTransport().connect,
      reconnect: false,
    });
    const typecheckOnly = (run: () => unknown) => expectTypeOf(run).toBeFunction();

    typecheckOnly(() => {
      expectTypeOf(client.call('math.add', { a: 1, b: 2 })).toEqualTypeOf<Promise<{ sum: number }>>();
      expectTypeOf(client.call('math.divide', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
      expectTypeOf(client.stream('logs.tail', { count: 1 })).toEqualTypeOf<
        AsyncIterableIterator<{ line: string }>
      >();
      client.on('logs.appended', (payload) => expectTypeOf(payload).toEqualTypeOf<{ line: string }>());

      // @ts-expect-error: misspelled command
      client.call('math.ad', { a: 1, b: 2 });
      // @ts-expect-error: wrong argument type
      client.call('math.add', { a: '1', b: 2 });
      // @ts-expect-error: missing field
      client.call('math.add', { a: 1 });
      // @ts-expect-error: a stream is not called with call()
      client.call('logs.tail', { count: 1 });
      // @ts-expect-error: a command is not streamed
      client.stream('math.add', { a: 1, b: 2 });
      // @ts-expect-error: unknown event
      client.on('logs.nope', () => {});
    });
    client.close();
  });

  test('handlers must cover every command with the right types', () => {
    const handlers = {
      math: {
        add: ({ a, b }) => ({ sum: a + b }),
        divide: ({ a, b }, ctx) => {
          // @ts-expect-error: not an error code of this protocol
          if (a < 0) ctx.fail('NOT_A_CODE');
          return b === 0 ? ctx.fail('DIVIDE_BY_ZERO', 'no', { a }) : a / b;
        },
      },
      slow: {
        wait: async () => ({ aborted: false }),
        crash: () => null,
        lie: () => ({ n: 1 }),
      },
      logs: {
        async *tail() {
          yield { line: 'x' };
        },
        *forever() {
          yield 1;
        },
      },
    } satisfies Handlers<P>;
    expectTypeOf(handlers.math.add).parameter(0).toEqualTypeOf<{ a: number; b: number }>();

    const missing = {
      math: { add: () => ({ sum: 1 }) },
      slow: { wait: async () => ({ aborted: false }), crash: () => null, lie: () => ({ n: 1 }) },
      logs: { tail: async function* () {}, forever: function* () {} },
    };
    // @ts-expect-error: math.divide is missing
    missing satisfies Handlers<P>;

    const wrongOutput = { ...handlers, math: { ...handlers.math, add: () => ({ total: 3 }) } };
    // @ts-expect-error: add returns the wrong shape
    wrongOutput satisfies Handlers<P>;
  });

  test('call errors carry the protocol error codes', () => {
    expectTypeOf<CallError<'DIVIDE_BY_ZERO'>['code']>().toExtend<string>();
    expectTypeOf<'DIVIDE_BY_ZERO'>().toExtend<CallError<'DIVIDE_BY_ZERO'>['code']>();
    expectTypeOf<'TIMEOUT'>().toExtend<CallError<'DIVIDE_BY_ZERO'>['code']>();
  });
});
