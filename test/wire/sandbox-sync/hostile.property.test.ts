import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { decodeFrame } from '../../../src/wire/sandbox-sync/index.js';
import {
  deepInFrame,
  mutatedBytes,
  mutatedText,
  nestedJson,
  prototypeIsClean,
} from '../../support/hostile.js';

/** Frames as the origin writes them (see codec.test.ts): the seeds of every generator below. */
const GOLDEN = [
  { id: 'a1', type: 'key_create', namespace: 'ns', user: 'ada', team: 't', role: 'tenant', description: 'd' },
  {
    type: 'template_snapshot',
    items: [
      {
        type: 'template_sync',
        templateFull: {
          metadata: { name: 'python-3.12', labels: { 'agentbox.io/sync-source': 'global' } },
          spec: { image: 'python:3.12', cpu: '1' },
        },
      },
    ],
  },
  {
    type: 'cluster_config_snapshot',
    configSnapshot: {
      clusters: [{ id: 'a', name: 'A', url: 'https://a.internal', headers: { 'X-Env': 'prod' } }],
      hostAliases: [{ ip: '10.0.0.7', hostnames: ['a.internal'] }],
    },
  },
  { id: 'r', type: 'key_create_resp', ok: false, error: 'ws-proxy disconnected', httpStatus: 503 },
];

const TOO_DEEP = {
  ok: false,
  error: { code: 'BAD_FRAME', message: `nested deeper than ${DEFAULT_MAX_DEPTH} levels` },
};

describe('sandbox-sync decodeFrame against hostile messages', () => {
  test('nesting at maxDepth decodes; one level more is refused unparsed, text or binary', () => {
    const at = `{"type":"template_sync","templateFull":${nestedJson(DEFAULT_MAX_DEPTH - 1)}}`;
    const past = `{"type":"template_sync","templateFull":${nestedJson(DEFAULT_MAX_DEPTH)}}`;
    expect(decodeFrame(at).ok).toBe(true);
    expect(decodeFrame(past)).toEqual(TOO_DEEP);
    expect(decodeFrame(new TextEncoder().encode(past))).toEqual(TOO_DEEP);
    expect(decodeFrame(past, DEFAULT_MAX_DEPTH + 1).ok).toBe(true);
  });

  test('deep nesting in any field of any golden frame is a BAD_FRAME, like any undecodable frame', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...GOLDEN).chain((golden) => deepInFrame(golden, DEFAULT_MAX_DEPTH)),
        (frame) => {
          expect(decodeFrame(frame)).toEqual(TOO_DEEP);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('mutations of golden frames, text or bytes, never throw and return a typed result', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        fc
          .constantFrom(...GOLDEN)
          .chain((golden) =>
            fc.oneof(
              mutatedText(JSON.stringify(golden)),
              mutatedBytes(encoder.encode(JSON.stringify(golden))),
            ),
          ),
        (frame) => {
          const decoded = decodeFrame(frame);
          if (decoded.ok) expect(typeof decoded.frame.type).toBe('string');
          else expect(['BAD_FRAME', 'UNKNOWN_TYPE']).toContain(decoded.error.code);
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('arbitrary strings and bytes never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()), (frame) => {
        const decoded = decodeFrame(frame);
        if (!decoded.ok) expect(['BAD_FRAME', 'UNKNOWN_TYPE']).toContain(decoded.error.code);
      }),
      { numRuns: 2000 },
    );
  });

  test('__proto__ and constructor keys are ignored fields, in frames and items, and pollute nothing', () => {
    const decoded = decodeFrame(
      '{"type":"key_snapshot","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"items":[{"__proto__":{"type":"key_sync"},"tokenHash":"h"}]}',
    );
    expect(decoded).toEqual({
      ok: true,
      frame: { type: 'key_snapshot', items: [{ type: '', tokenHash: 'h' }] },
    });
    expect(prototypeIsClean()).toBe(true);
  });
});
