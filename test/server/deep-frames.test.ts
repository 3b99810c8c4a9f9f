import { afterEach, describe, expect, test } from 'vitest';
import { contractOf } from '../../src/protocol/contract.js';
import type { Authenticator } from '../../src/server/index.js';
import { jsonWireFormat } from '../../src/wire/json.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** `[[[…]]]` nested `depth` levels, as JSON text (built as text: the value itself is what is at stake). */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * The hello of issue 11: the test protocol's own contract, except that one event's payload schema is
 * `{"description": [[[…]]]}`, a schema that counts as "any value" and so skipped the depth check.
 */
function deepContractHello(depth: number): string {
  const contract = contractOf(testProtocol);
  const marker = '"__deep__"';
  const text = JSON.stringify({
    type: 'hello',
    wire: 1,
    protocol: 'test',
    version: '1.2.0',
    contract: {
      ...contract,
      events: { ...contract.events, 'logs.appended': { payload: { description: '__deep__' } } },
    },
  });
  return text.replace(marker, nested(depth));
}

describe.each(TRANSPORTS)('over %s', (kind) => {
  test('a hello whose contract nests 5,000 levels deep closes 1002; the server keeps serving', async () => {
    harness = await startHarness({}, {}, kind);
    const witness = harness.client();
    expect(await witness.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    const frame = deepContractHello(5000);
    expect(frame.length).toBeLessThan(16_000);
    const attacker = harness.raw();
    attacker.send(frame);
    expect(await attacker.closed).toEqual({ code: 1002, reason: 'nested deeper than 64 levels' });
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await harness.raw().handshake()).toMatchObject({ type: 'welcome' });
  });

  test('a frame nested deeper than 64 after the welcome is answered BAD_MESSAGE with its id; the connection stays', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    await peer.handshake();
    peer.send(`{"type":"call","id":7,"command":"math.add","input":${nested(65)}}`);
    expect(await peer.next((m) => m.type === 'error')).toEqual({
      type: 'error',
      id: 7,
      code: 'BAD_MESSAGE',
      message: 'nested deeper than 64 levels',
    });
    // The id is found even after the deep part, and a string id too.
    peer.send(`{"type":"call","input":${nested(100)},"command":"math.add","id":"call-8"}`);
    expect(await peer.next((m) => m.type === 'error')).toEqual({
      type: 'error',
      id: 'call-8',
      code: 'BAD_MESSAGE',
      message: 'nested deeper than 64 levels',
    });
    // 64 levels exactly is fine: the frame decodes and the input fails its schema as usual.
    peer.send(`{"type":"call","id":9,"command":"math.add","input":${nested(63)}}`);
    expect(await peer.next((m) => m.id === 9)).toMatchObject({ code: 'INVALID_INPUT' });
    peer.send({ type: 'call', id: 10, command: 'math.add', input: { a: 1, b: 1 } });
    expect(await peer.next((m) => m.id === 10)).toEqual({ type: 'result', id: 10, output: { sum: 2 } });
  });

  test('the contract is compared only after authentication: a refused peer gets 4100, not 4102', async () => {
    let asked = 0;
    const auth: Authenticator = {
      authenticate: () => {
        asked++;
        return { ok: false, reason: 'who are you?' };
      },
    };
    harness = await startHarness({ auth }, {}, kind);
    const peer = harness.raw();
    peer.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', contract: { commands: 1 } });
    expect(await peer.closed).toEqual({ code: 4100, reason: 'who are you?' });
    expect(asked).toBe(1);
  });

  test('a contract deeper than the bound is refused with 4102 even on a wire that lets it through', async () => {
    harness = await startHarness({ wire: jsonWireFormat({ maxDepth: 100_000 }) }, {}, kind);
    const witness = harness.client();
    expect(await witness.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    const attacker = harness.raw();
    attacker.send(deepContractHello(5000));
    expect(await attacker.closed).toEqual({
      code: 4102,
      reason: 'incompatible contract: event logs.appended payload: schema nested deeper than 64 levels',
    });
    expect(await witness.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
  });
});
