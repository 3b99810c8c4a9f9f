import { describe, expect, test } from 'vitest';
import {
  AUTH_FAILURES,
  authenticateUpgrade,
  tokenFromRequest,
  unauthorized,
} from '../../../src/adapters/buster/index.js';
import { SECRET, token } from './fixtures.js';

const request = (url: string, authorization?: string) => ({
  url,
  headers: authorization === undefined ? {} : { authorization },
});

describe('where the token comes from', () => {
  test.each([
    ['a Bearer header', request('/api/v1/ws', 'Bearer abc'), 'abc'],
    ['a bare header value', request('/api/v1/ws', 'abc'), 'abc'],
    ['the authentication query parameter', request('/api/v1/ws?authentication=abc'), 'abc'],
    ['the header before the query', request('/api/v1/ws?authentication=q', 'Bearer h'), 'h'],
    ['nothing', request('/api/v1/ws'), undefined],
    ['an empty Bearer', request('/api/v1/ws', 'Bearer '), undefined],
    ['an empty query parameter', request('/api/v1/ws?authentication='), undefined],
    ['a ?token= parameter, which Buster does not read', request('/api/v1/ws?token=abc'), undefined],
  ])('%s', (_name, req, expected) => {
    expect(tokenFromRequest(req)).toBe(expected);
  });
});

describe('authenticateUpgrade', () => {
  test('the default user: id from sub, name from name, else email, permissions from the claim', async () => {
    const named = await authenticateUpgrade(
      request('/', `Bearer ${await token('u1', { name: 'Ann', permissions: ['sql:*'] })}`),
      { secret: SECRET },
    );
    expect(named).toEqual({ ok: true, user: { id: 'u1', name: 'Ann', permissions: ['sql:*'] } });
    const emailed = await authenticateUpgrade(
      request(`/?authentication=${await token('u2', { permissions: 'not a list' })}`),
      { secret: SECRET },
    );
    expect(emailed).toEqual({ ok: true, user: { id: 'u2', name: 'u2@example.com', permissions: [] } });
  });

  test('aud api is accepted; resolveUser decides who that is', async () => {
    const jwt = await token('key-1', {}, { audience: 'api' });
    const result = await authenticateUpgrade(request('/', jwt), {
      secret: new TextEncoder().encode(SECRET),
      resolveUser: (claims) =>
        claims.aud === 'api' ? { id: 'owner', name: 'API key', permissions: ['*'] } : undefined,
    });
    expect(result).toEqual({ ok: true, user: { id: 'owner', name: 'API key', permissions: ['*'] } });
  });

  test('a user resolveUser does not know is refused', async () => {
    const result = await authenticateUpgrade(request('/', await token('ghost')), {
      secret: SECRET,
      resolveUser: () => undefined,
    });
    expect(result).toEqual({ ok: false, reason: AUTH_FAILURES.UNKNOWN_USER });
  });

  test('HS256 only: a token with alg none is refused', async () => {
    const header = Buffer.from('{"alg":"none"}').toString('base64url');
    const body = Buffer.from('{"sub":"u","aud":"authenticated"}').toString('base64url');
    expect(await authenticateUpgrade(request('/', `${header}.${body}.`), { secret: SECRET })).toEqual({
      ok: false,
      reason: AUTH_FAILURES.INVALID,
    });
  });

  test('the refusal is 401 with the three Sec-WebSocket headers', () => {
    expect(unauthorized('Invalid authentication token')).toEqual({
      status: 401,
      body: 'Invalid authentication token',
      headers: {
        'Sec-WebSocket-Protocol': 'close',
        'Sec-WebSocket-Close-Code': '4001',
        'Sec-WebSocket-Close-Reason': 'Invalid authentication token',
      },
    });
  });
});
