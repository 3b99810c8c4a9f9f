import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { causeRetries, invalidUrl } from '../../src/client/connect-failure.js';
import {
  boundedBody,
  CAUSE_BODY_WAIT_MS,
  causeOfError,
  HTTP_STATUS_RETRY,
  httpStatusRetries,
  kindOfErrorCode,
  MAX_CAUSE_BODY_BYTES,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
} from '../../src/transport/connect-cause.js';
import { docTable } from '../support/docs.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('connect causes', () => {
  test('Node error codes by kind', () => {
    const codes = [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ETIMEDOUT',
      'EPROTO',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ];
    const more = [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
      'ECONNRESET',
    ];
    expect([...codes, ...more].map(kindOfErrorCode)).toEqual([
      'refused',
      'dns',
      'dns',
      'timeout',
      'tls',
      'tls',
      'tls',
      'tls',
      'tls',
      'network',
    ]);
  });

  test("an undici error's Node cause is found under it; an error without a code is network", () => {
    const nodeError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(causeOfError(new TypeError('fetch failed', { cause: nodeError }))).toEqual({
      kind: 'refused',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
    });
    expect(causeOfError(new Error('Opening handshake has timed out'))).toEqual({
      kind: 'network',
      message: 'Opening handshake has timed out',
    });
    expect(causeOfError(undefined)).toBeUndefined();
  });

  test('Retry-After in seconds or as a date, bounded by MAX_RETRY_AFTER_MS', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(
      ['1', ' 30 ', 'Thu, 01 Jan 2026 00:00:05 GMT', '99999999', '-1', 'soon', '', undefined].map((header) =>
        retryAfterMs(header, now),
      ),
    ).toEqual([1000, 30_000, 5000, MAX_RETRY_AFTER_MS, undefined, undefined, undefined, undefined]);
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (header) => {
        const ms = retryAfterMs(header, now);
        expect(ms === undefined || (ms >= 0 && ms <= MAX_RETRY_AFTER_MS)).toBe(true);
      }),
    );
  });

  test('a body is cut to MAX_CAUSE_BODY_BYTES without splitting a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 2000 }), (text) => {
        const body = boundedBody(utf8(text));
        expect(utf8(body).length).toBeLessThanOrEqual(MAX_CAUSE_BODY_BYTES);
        expect(text.startsWith(body)).toBe(true);
        if (utf8(text).length <= MAX_CAUSE_BODY_BYTES) expect(body).toBe(text);
        else expect(utf8(body).length).toBeGreaterThan(MAX_CAUSE_BODY_BYTES - 4);
      }),
    );
  });

  test('what is retried', () => {
    expect(
      [
        { kind: 'url', message: '' },
        { kind: 'refused', message: '' },
        { kind: 'dns', message: '' },
        { kind: 'tls', message: '' },
        { kind: 'timeout', message: '', closeCode: 4101 },
        { kind: 'network', message: '', closeCode: 1006 },
        { kind: 'closed', message: '', closeCode: 4100 },
        { kind: 'closed', message: '', closeCode: 1001 },
        { kind: 'http', message: '', status: 404 },
        { kind: 'http', message: '', status: 429 },
        { kind: 'http', message: '', status: 507 },
        { kind: 'http', message: '', status: 302 },
      ].map((cause) => causeRetries(cause as Parameters<typeof causeRetries>[0])),
    ).toEqual([false, true, true, true, true, true, false, true, false, true, true, false]);
  });

  test('URLs', () => {
    expect(invalidUrl('ws://localhost:8080/ws', false)).toBeUndefined();
    expect(invalidUrl('https://example.com/', false)).toBeUndefined();
    expect(invalidUrl('memory://none', true)).toBeUndefined();
    expect(invalidUrl('memory://none', false)?.kind).toBe('url');
    expect(invalidUrl('', true)).toEqual({ kind: 'url', message: 'invalid URL ""' });
    expect(invalidUrl(42, true)).toEqual({ kind: 'url', message: 'invalid URL "42"' });
  });

  test('client.md lists the HTTP statuses with their retry rule', () => {
    const rows = docTable('client.md', '### Refused upgrades');
    expect(Object.fromEntries(rows.map(([status, retry]) => [Number(status), retry]))).toEqual(
      Object.fromEntries(
        Object.entries(HTTP_STATUS_RETRY).map(([status, retry]) => [status, retry ? 'yes' : 'no']),
      ),
    );
    expect([httpStatusRetries(599), httpStatusRetries(418), httpStatusRetries(200)]).toEqual([
      true,
      false,
      false,
    ]);
  });

  test('client.md lists the bounds on a refusal', () => {
    const rows = docTable('client.md', "Bounds on what the server's refusal can make the client hold:", {
      stripCode: true,
    });
    expect(Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]))).toEqual({
      MAX_CAUSE_BODY_BYTES,
      CAUSE_BODY_WAIT_MS,
      MAX_RETRY_AFTER_MS,
    });
  });
});
