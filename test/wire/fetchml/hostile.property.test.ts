import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { jobQueueBinding } from '../../../examples/job-queue/fetchml/binding.js';
import { FetchmlError, FetchmlPayloadError, unwrap } from '../../../src/adapters/fetchml/client.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import type { Field } from '../../../src/wire/fetchml/layout.js';
import { OPCODES, type OperationName, REQUEST_LAYOUTS } from '../../../src/wire/fetchml/opcodes.js';
import { decodePacket, encodePacket, PACKET_LAYOUTS } from '../../../src/wire/fetchml/packets.js';
import { decodeRequest, encodeRequest } from '../../../src/wire/fetchml/request.js';
import { fetchmlWire } from '../../../src/wire/fetchml/wire.js';
import { deepInFrame, mutatedBytes, nestedJson, prototypeIsClean } from '../../support/hostile.js';

const wire = fetchmlWire({ binding: jobQueueBinding });
const operations = Object.keys(OPCODES) as OperationName[];

/** A plain value for a field: the golden frames below are built from these. */
function sample(f: Field): unknown {
  switch (f.kind) {
    case 'uint':
      return 1;
    case 'u64':
      return 1n;
    case 'f64':
      return 1.5;
    case 'bytes':
      return new Uint8Array(f.bytes).fill(7);
    case 'hex':
      return 'ab'.repeat(f.bytes);
    case 'string':
      return f.name === 'tracking' ? '{"mlflow":{"experiment":"e1"}}' : 'x';
    case 'blob':
      return Uint8Array.of(1);
  }
}

/** One golden frame per opcode, every optional field present. */
const GOLDEN = operations.map((operation) => {
  const fields = REQUEST_LAYOUTS[operation].fields as readonly Field[];
  const values = Object.fromEntries(fields.map((f) => [f.name, sample(f)]));
  return { operation, frame: encodeRequest(operation, values as never), values };
});

describe('fetch_ml decoders against hostile frames', () => {
  test('mutations of every golden frame decode to a typed result, never an exception', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...GOLDEN).chain(({ frame }) => mutatedBytes(frame)),
        (frame) => {
          const request = decodeRequest(frame);
          if (!request.ok) expect(request.error.message).toEqual(expect.any(String));
          const decoded = wire.decode(frame);
          if (decoded.ok) expect(['call', 'cancel']).toContain(decoded.message.type);
          else expect(decoded.error.code).toBe('BAD_MESSAGE');
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('a length prefix announcing more than the frame holds is refused before anything is read', () => {
    let checked = 0;
    for (const { operation, frame } of GOLDEN) {
      const fields = REQUEST_LAYOUTS[operation].fields as readonly Field[];
      // Each length-prefixed field in turn: find its offset from the fields before it.
      let offset = 1;
      for (const f of fields) {
        if (f.kind === 'string' || f.kind === 'blob') {
          const lying = frame.slice();
          for (let i = 0; i < f.prefix; i++) lying[offset + i] = 0xff;
          const decoded = decodeRequest(lying);
          expect(decoded).toMatchObject({ ok: false, error: { reason: 'truncated', field: f.name } });
          checked++;
        }
        const value = sample(f);
        offset +=
          f.kind === 'string'
            ? f.prefix + new TextEncoder().encode(value as string).length
            : f.kind === 'blob'
              ? f.prefix + (value as Uint8Array).length
              : f.kind === 'uint'
                ? f.bytes
                : f.kind === 'bytes' || f.kind === 'hex'
                  ? f.bytes
                  : 8;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  test('a 4-byte length of 4 GiB in a packet is refused, not allocated', () => {
    const packet = encodePacket({
      type: 'data',
      timestamp: 0,
      data_type: 'x',
      payload: new Uint8Array([1]),
    });
    const lying = packet.slice();
    lying.set([0xff, 0xff, 0xff, 0xff], packet.length - 5);
    expect(decodePacket(lying)).toMatchObject({ ok: false });
    expect(Object.keys(PACKET_LAYOUTS)).toContain('data');
  });

  test('tracking nested past maxDepth anywhere is refused unparsed: INVALID_REQUEST like any bad frame', () => {
    const golden = { mlflow: { experiment: 'e1', tags: [{ k: 'v' }] } };
    const tracking = GOLDEN.find((g) => g.operation === 'queue_job_with_tracking')!;
    fc.assert(
      fc.property(
        deepInFrame(golden, DEFAULT_MAX_DEPTH).filter(
          (text) => new TextEncoder().encode(text).length <= 0xffff,
        ),
        (deep) => {
          const frame = encodeRequest('queue_job_with_tracking', {
            ...tracking.values,
            tracking: deep,
          } as never);
          expect(wire.decode(frame)).toEqual({
            ok: false,
            error: {
              code: 'BAD_MESSAGE',
              message: `queue_job_with_tracking: tracking nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
            },
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a narrative patch nested past maxDepth is refused the same way, before any merge', () => {
    const narrative = GOLDEN.find((g) => g.operation === 'set_run_narrative')!;
    const frame = encodeRequest('set_run_narrative', {
      ...narrative.values,
      patch: `{"summary":${nestedJson(DEFAULT_MAX_DEPTH)}}`,
    } as never);
    expect(wire.decode(frame)).toEqual({
      ok: false,
      error: {
        code: 'BAD_MESSAGE',
        message: `set_run_narrative: patch nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
      },
    });
  });

  test('prototype keys in tracking stay plain data', () => {
    const tracking = GOLDEN.find((g) => g.operation === 'queue_job_with_tracking')!;
    const frame = encodeRequest('queue_job_with_tracking', {
      ...tracking.values,
      tracking: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
    } as never);
    const decoded = wire.decode(frame);
    if (!decoded.ok || decoded.message.type !== 'call') throw new Error('expected a call');
    const input = decoded.message.input as { tracking: Record<string, unknown> };
    expect(Object.hasOwn(input.tracking, '__proto__')).toBe(true);
    expect(prototypeIsClean()).toBe(true);
  });
});

describe('the client reads server payloads within the same bound', () => {
  const data = (text: string) =>
    ({ type: 'data', timestamp: 0, data_type: 'x', payload: new TextEncoder().encode(text) }) as const;

  test('a data payload nested past maxDepth throws FetchmlPayloadError too-deep; at maxDepth it reads', () => {
    expect(unwrap(data(nestedJson(DEFAULT_MAX_DEPTH)))).toEqual(expect.any(Array));
    const error = (() => {
      try {
        unwrap(data(nestedJson(100_000)));
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(FetchmlPayloadError);
    expect(error).toMatchObject({
      reason: 'too-deep',
      message: `data payload nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
    });
    expect(() => unwrap(data('{"a":'))).toThrow(FetchmlPayloadError);
    expect(() => unwrap(data(nestedJson(5)), 4)).toThrow(FetchmlPayloadError);
  });

  test('error details that are deep or not objects read as no details', () => {
    for (const details of [nestedJson(100_000), '[1]', 'free text', '{"code":']) {
      const error = new FetchmlError({ type: 'error', timestamp: 0, error_code: 1, message: 'm', details });
      expect(error.details).toEqual({});
    }
  });
});
