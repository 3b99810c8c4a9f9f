import { describe, expect, test } from 'vitest';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import { GOVAL_AUTH_REASONS, govalToken, govalTokenAuth } from '../../../src/wire/goval/index.js';

const request = (url: string) => ({ url, headers: {} });

describe('govalToken', () => {
  test('reads the token from /wsv2/<token>, percent-decoded', () => {
    expect(govalToken(request('/wsv2/v2.public.eyJhIjoxfQ'))).toBe('v2.public.eyJhIjoxfQ');
    expect(govalToken(request('/wsv2/a%2Fb%20c'))).toBe('a/b c');
    expect(govalToken(request('/wsv2/tok?x=1'))).toBe('tok');
  });

  test('is undefined for any other path, an empty token, or a malformed escape', () => {
    for (const url of ['/', '/wsv2/', '/wsv2', '/ws/tok', '/wsv2/a/b', '/wsv2/%E0%A4%A', '/other/wsv2/tok']) {
      expect(govalToken(request(url)), url).toBeUndefined();
    }
  });
});

describe('govalTokenAuth', () => {
  const alice: Principal = { id: 'alice', permissions: ['*'], attributes: { userId: 7, name: 'alice' } };
  const auth = govalTokenAuth((token) => (token === 'good' ? alice : undefined));

  test('accepts a token verify knows, with its principal', async () => {
    expect(await auth.authenticate({ credentials: undefined, request: request('/wsv2/good') })).toEqual({
      ok: true,
      principal: alice,
    });
  });

  test('refuses a missing or unknown token with a reason', async () => {
    expect(await auth.authenticate({ credentials: undefined, request: request('/') })).toEqual({
      ok: false,
      reason: GOVAL_AUTH_REASONS.noToken,
    });
    expect(await auth.authenticate({ credentials: undefined, request: request('/wsv2/bad') })).toEqual({
      ok: false,
      reason: GOVAL_AUTH_REASONS.invalidToken,
    });
  });

  test('verify may be async and sees the upgrade request', async () => {
    const seen: string[] = [];
    const asyncAuth = govalTokenAuth(async (token, req) => {
      seen.push(`${token} ${req.url}`);
      return alice;
    });
    expect(await asyncAuth.authenticate({ credentials: undefined, request: request('/wsv2/t1') })).toEqual({
      ok: true,
      principal: alice,
    });
    expect(seen).toEqual(['t1 /wsv2/t1']);
  });
});
