import { describe, expect, test } from 'vitest';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import { User, userOf } from '../../../src/services/chat/index.js';

const principal = (attributes?: Record<string, unknown>): Principal => ({
  id: 'p-1',
  permissions: [],
  ...(attributes ? { attributes } : {}),
});

describe('userOf', () => {
  test.each([
    ['no attributes', principal(), { id: 0, name: 'p-1', roles: [], session: 2 }],
    [
      'every attribute',
      principal({ userId: 7, name: 'Ada', roles: ['admin', 'mod'] }),
      { id: 7, name: 'Ada', roles: ['admin', 'mod'], session: 2 },
    ],
    ['a numeric string id', principal({ userId: '42' }), { id: 42, name: 'p-1', roles: [], session: 2 }],
    ['a fractional id', principal({ userId: 1.5 }), { id: 0, name: 'p-1', roles: [], session: 2 }],
    ['a non-numeric id', principal({ userId: 'abc' }), { id: 0, name: 'p-1', roles: [], session: 2 }],
    ['a negative id', principal({ userId: -5 }), { id: 0, name: 'p-1', roles: [], session: 2 }],
    [
      'the largest uint32 id',
      principal({ userId: 4294967295 }),
      { id: 4294967295, name: 'p-1', roles: [], session: 2 },
    ],
    ['an id past uint32', principal({ userId: 4294967296 }), { id: 0, name: 'p-1', roles: [], session: 2 }],
    ['an infinite id', principal({ userId: Infinity }), { id: 0, name: 'p-1', roles: [], session: 2 }],
    ['a numeric name', principal({ name: 12 }), { id: 0, name: '12', roles: [], session: 2 }],
    [
      'roles that are not a list',
      principal({ roles: 'admin' }),
      { id: 0, name: 'p-1', roles: [], session: 2 },
    ],
    [
      'roles with non-strings',
      principal({ roles: ['admin', 3, null, 'mod'] }),
      { id: 0, name: 'p-1', roles: ['admin', 'mod'], session: 2 },
    ],
  ])('%s', (_what, who, expected) => {
    const mapped = userOf(who, 2);
    expect(mapped).toEqual(expected);
    expect(User.parse(mapped)).toEqual(expected);
  });
});
