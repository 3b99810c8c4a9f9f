import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Decoded, Frame } from '../../src/wire/format.js';
import { decodeJson, encodeJson } from '../../src/wire/json.js';
import type { CallId, Message, MessageType } from '../../src/wire/message.js';

const MESSAGE_TYPES: readonly MessageType[] = [
  'hello',
  'challenge',
  'auth',
  'contractRequest',
  'contract',
  'reauth',
  'credit',
  'open',
  'opened',
  'closeChannel',
  'channelClosed',
  'welcome',
  'call',
  'result',
  'item',
  'end',
  'error',
  'cancel',
  'event',
  'ping',
  'pong',
  'goodbye',
  'subscribe',
  'unsubscribe',
  'publish',
  'subscribed',
  'presence',
  'publication',
  'unsubscribed',
];

/** Every field name any message kind reads, so generated objects reach every validation branch. */
const FIELDS = [
  'id',
  'wire',
  'protocol',
  'version',
  'credentials',
  'contract',
  'contractHash',
  'challenge',
  'response',
  'connectionId',
  'principal',
  'heartbeatMs',
  'limits',
  'expiresAt',
  'command',
  'input',
  'credential',
  'output',
  'item',
  'code',
  'message',
  'data',
  'traceId',
  'event',
  'payload',
  'ts',
  'at',
  'reason',
  'reconnectUrl',
  'retryAfterMs',
  'topic',
  'params',
  'from',
  'key',
  'epoch',
  'offset',
  'gap',
  'snapshot',
  'members',
  'change',
  'member',
] as const;

const isCallId = (id: unknown): id is CallId =>
  (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
  (typeof id === 'string' && id.length >= 1 && id.length <= 128);

/** JSON values as they come back from JSON.parse: no -0, plain prototypes. */
const json = fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as unknown);
/** Finite numbers that survive JSON unchanged (-0 does not: JSON writes it as 0). */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n));
const text = fc.string({ unit: 'binary', maxLength: 40 });
const callId: fc.Arbitrary<CallId> = fc.oneof(
  fc.maxSafeNat(),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }).map((s) => s.slice(0, 128)),
);
const offset = fc.maxSafeNat();
const params = fc
  .dictionary(text, text, { maxKeys: 4 })
  .map((record) => JSON.parse(JSON.stringify(record)) as Record<string, string>);
const member = fc.record({ connectionId: text, userId: text });
const from = fc.oneof(fc.record({ epoch: text, offset }), fc.record({ last: offset }));

/** Values of every type, with some that are valid for one field or another, so checks pass part way. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  json,
  callId,
  fc.constantFrom(
    -1,
    1.5,
    -0,
    1e308,
    Number.MAX_SAFE_INTEGER + 1,
    'trimmed',
    'epoch',
    'join',
    'leave',
    '',
    '0123456789abcdef',
  ),
  fc.constant(1),
  from,
  member,
  fc.array(member, { maxLength: 2 }),
  fc.record({ id: fc.oneof(text, json), permissions: fc.oneof(fc.array(text), json) }),
  fc.record({ maxMessageBytes: fc.oneof(finite, json), maxInFlight: finite, ratePerSecond: finite }),
  fc.record({ last: json }),
  fc.record({ epoch: json, offset: json }),
);

/** The `command` hint some replies carry for other formats; the JSON wire does not send it. */
const hint = { command: text };
const channelNumber = fc.integer({ min: 1, max: 2_147_483_647 });

/** Well-formed messages of every kind, with their optional fields present or not. */
const wellFormed: Record<MessageType, fc.Arbitrary<Message>> = {
  hello: fc.record(
    {
      type: fc.constant('hello'),
      protocol: text,
      version: text,
      credentials: json,
      contractHash: fc.stringMatching(/^[0-9a-f]{16}$/),
    },
    { requiredKeys: ['type', 'protocol', 'version'] },
  ),
  contractRequest: fc.record({ type: fc.constant('contractRequest') }),
  contract: fc.record({ type: fc.constant('contract'), contract: json }),
  challenge: fc.record({ type: fc.constant('challenge'), challenge: json }),
  auth: fc.record({ type: fc.constant('auth'), response: json }),
  welcome: fc.record(
    {
      type: fc.constant('welcome'),
      connectionId: text,
      protocol: text,
      version: text,
      principal: fc.record({ id: text, permissions: fc.array(text, { maxLength: 4 }) }),
      heartbeatMs: finite,
      limits: fc.record({ maxMessageBytes: finite, maxInFlight: finite, ratePerSecond: finite }),
      expiresAt: finite,
    },
    { requiredKeys: ['type', 'connectionId', 'protocol', 'version', 'principal', 'heartbeatMs', 'limits'] },
  ),
  call: fc.record(
    {
      type: fc.constant('call'),
      id: callId,
      command: text,
      input: json,
      credential: json,
      idempotencyKey: fc.string({ minLength: 1, maxLength: 128 }),
      window: fc.integer({ min: 1, max: 1_000_000 }),
    },
    { requiredKeys: ['type', 'id', 'command', 'input'] },
  ),
  result: fc.record(
    { type: fc.constant('result'), id: callId, output: json, ...hint },
    { requiredKeys: ['type', 'id', 'output'] },
  ),
  item: fc.record(
    { type: fc.constant('item'), id: callId, item: json, ...hint },
    { requiredKeys: ['type', 'id', 'item'] },
  ),
  end: fc.record({ type: fc.constant('end'), id: callId, ...hint }, { requiredKeys: ['type', 'id'] }),
  error: fc.record(
    { type: fc.constant('error'), id: callId, code: text, message: text, data: json, traceId: text, ...hint },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  credit: fc.record({
    type: fc.constant('credit'),
    id: callId,
    items: fc.integer({ min: 1, max: 1_000_000 }),
  }),
  reauth: fc.record({ type: fc.constant('reauth'), id: callId, credentials: json }),
  cancel: fc.record({ type: fc.constant('cancel'), id: callId }),
  event: fc.record(
    { type: fc.constant('event'), event: text, payload: json, channel: channelNumber },
    { requiredKeys: ['type', 'event', 'payload'] },
  ),
  open: fc.record(
    {
      type: fc.constant('open'),
      id: callId,
      service: text,
      name: fc.string({ maxLength: 256 }),
      action: fc.constantFrom('create' as const, 'attach' as const, 'attachOrCreate' as const),
    },
    { requiredKeys: ['type', 'id', 'service', 'action'] },
  ),
  opened: fc.record({
    type: fc.constant('opened'),
    id: callId,
    channel: channelNumber,
    session: fc.integer({ min: 2, max: 1_000_000 }),
    state: fc.constantFrom('created' as const, 'attached' as const),
  }),
  closeChannel: fc.record({
    type: fc.constant('closeChannel'),
    id: callId,
    channel: channelNumber,
    action: fc.constantFrom('disconnect' as const, 'tryClose' as const, 'close' as const),
  }),
  channelClosed: fc.record(
    {
      type: fc.constant('channelClosed'),
      id: callId,
      channel: channelNumber,
      status: fc.constantFrom('disconnect' as const, 'close' as const, 'nothing' as const),
    },
    { requiredKeys: ['type', 'channel', 'status'] },
  ),
  ping: fc.record({ type: fc.constant('ping'), ts: finite, id: callId }, { requiredKeys: ['type', 'ts'] }),
  pong: fc.record(
    { type: fc.constant('pong'), ts: finite, at: finite, id: callId },
    { requiredKeys: ['type', 'ts', 'at'] },
  ),
  goodbye: fc.record(
    { type: fc.constant('goodbye'), reason: text, reconnectUrl: text, retryAfterMs: finite },
    { requiredKeys: ['type', 'reason'] },
  ),
  subscribe: fc.record(
    { type: fc.constant('subscribe'), id: callId, topic: text, params, from },
    { requiredKeys: ['type', 'id', 'topic', 'params'] },
  ),
  unsubscribe: fc.record({ type: fc.constant('unsubscribe'), id: callId, key: text }),
  publish: fc.record({ type: fc.constant('publish'), id: callId, topic: text, params, payload: json }),
  subscribed: fc.record(
    {
      type: fc.constant('subscribed'),
      id: callId,
      key: text,
      epoch: text,
      offset,
      gap: fc.constantFrom('trimmed' as const, 'epoch' as const),
      snapshot: json,
      members: fc.array(member, { maxLength: 3 }),
    },
    { requiredKeys: ['type', 'id', 'key', 'epoch', 'offset'] },
  ),
  presence: fc.record({
    type: fc.constant('presence'),
    key: text,
    change: fc.constantFrom('join' as const, 'leave' as const),
    member,
  }),
  publication: fc.record({ type: fc.constant('publication'), key: text, epoch: text, offset, payload: json }),
  unsubscribed: fc.record({ type: fc.constant('unsubscribed'), key: text, code: text, reason: text }),
};

/** A message as the JSON wire carries it: without the reply hint. */
function withoutHint(message: Message): Message {
  if (!('command' in message) || message.type === 'call') return message;
  const { command: _hint, ...rest } = message;
  return rest as Message;
}

/** Objects with a real message type (or junk) and any subset of the real field names, valued at random. */
const randomFields = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...MESSAGE_TYPES),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'Call', 'CALL', ' call', ''),
      text,
      json,
    ),
    fc.record(Object.fromEntries(FIELDS.map((field) => [field, fieldValue])), { requiredKeys: [] }),
  )
  .map(([type, fields]) => ({ type, ...fields }));

/**
 * A well-formed message as the wire carries it, then broken: some fields replaced by values of any
 * type or removed, and sometimes the type swapped for another kind's. These get past the first
 * checks of each kind and reach the later ones.
 */
const corrupted = fc
  .tuple(
    fc.oneof(...Object.values(wellFormed)),
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(fieldValue, { nil: undefined })), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.option(fc.constantFrom(...MESSAGE_TYPES), { nil: undefined }),
  )
  .map(([message, edits, type]) => {
    const value = JSON.parse(encodeJson(message)) as Record<string, unknown>;
    for (const [field, replacement] of edits) {
      if (replacement === undefined) delete value[field];
      else value[field] = replacement;
    }
    return type === undefined ? value : { ...value, type };
  });

const wrongMessage = fc.oneof(randomFields, corrupted).map((value) => JSON.stringify(value));

/** The only outcomes decodeJson may have; fails the property on anything else. */
function expectWellFormedOutcome(decoded: Decoded): void {
  if (decoded.ok) {
    expect(Object.keys(decoded).sort()).toEqual(['message', 'ok']);
    expect(MESSAGE_TYPES).toContain(decoded.message.type);
    // What the decoder accepts, the encoder can write and the decoder accepts again.
    const again = decodeJson(encodeJson(decoded.message));
    expect(again.ok && again.message.type).toBe(decoded.message.type);
    return;
  }
  expect(decoded.ok).toBe(false);
  const { error } = decoded;
  expect(['BAD_MESSAGE', 'UNSUPPORTED_FRAME', 'INCOMPATIBLE']).toContain(error.code);
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  for (const key of Object.keys(error)) expect(['code', 'message', 'id']).toContain(key);
  if ('id' in error) expect(isCallId(error.id)).toBe(true);
}

const decodesSafely = (frame: Frame) => expectWellFormedOutcome(decodeJson(frame));

describe('decodeJson never throws and returns a message or a WireError', () => {
  test('for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), decodesSafely), { numRuns: 2000 });
  });

  test('for arbitrary JSON text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          json.map((value) => JSON.stringify(value)),
        ),
        decodesSafely,
      ),
      { numRuns: 2000 },
    );
  });

  test('for objects with a real or junk type and fields of the wrong types', () => {
    fc.assert(fc.property(wrongMessage, decodesSafely), { numRuns: 5000 });
  });

  test('for arbitrary bytes, always as UNSUPPORTED_FRAME', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(decodeJson(bytes)).toEqual({
          ok: false,
          error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the JSON wire' },
        });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeJson(encodeJson(m))', () => {
  test.each(MESSAGE_TYPES)('gives back every well-formed %s message, minus the command hint', (type) => {
    fc.assert(
      fc.property(wellFormed[type], (message) => {
        expect(decodeJson(encodeJson(message))).toEqual({ ok: true, message: withoutHint(message) });
      }),
      { numRuns: 300 },
    );
  });

  test('ignores fields it does not know, for every kind', () => {
    fc.assert(
      fc.property(fc.oneof(...Object.values(wellFormed)), json, (message, extra) => {
        const frame = JSON.stringify({ ...JSON.parse(encodeJson(message)), 'x-later-field': extra });
        expect(decodeJson(frame)).toEqual({ ok: true, message: withoutHint(message) });
      }),
      { numRuns: 1000 },
    );
  });
});
