import { describe, expect, test } from 'vitest';
import { firstMissing, isGranted } from '../../src/protocol/permissions.js';

describe('isGranted', () => {
  test.each([
    [['jobs:create'], 'jobs:create', true],
    [['jobs:read'], 'jobs:create', false],
    [['jobs:read', 'jobs:create'], 'jobs:create', true],
    [['jobs:*'], 'jobs:create', true],
    [['jobs:*'], 'jobs:read:own', true],
    [['jobs:*'], 'jobsx:create', false],
    [['jobs:*'], 'job:create', false],
    [['jobs'], 'jobs:create', false],
    [['datasets:*'], 'jobs:read', false],
    [['jobs:create'], 'jobs:*', false],
    [['*'], 'anything:at-all', true],
    [['*'], '*', true],
    [[], 'jobs:read', false],
    [['JOBS:read'], 'jobs:read', false],
  ])('%j grants %j: %s', (granted, required, expected) => {
    expect(isGranted(granted, required)).toBe(expected);
  });
});

describe('firstMissing', () => {
  test('names the first required permission the grants do not cover', () => {
    expect(firstMissing(['jobs:*'], ['jobs:read', 'datasets:read', 'x:y'])).toBe('datasets:read');
  });

  test('is undefined when every required permission is covered', () => {
    expect(firstMissing(['jobs:*', 'datasets:read'], ['jobs:read', 'datasets:read'])).toBeUndefined();
    expect(firstMissing(['*'], ['a:b', 'c:d'])).toBeUndefined();
  });

  test('is undefined when nothing is required, even with no grants', () => {
    expect(firstMissing([], [])).toBeUndefined();
  });

  test('names the first one when nothing is granted', () => {
    expect(firstMissing([], ['a:b', 'c:d'])).toBe('a:b');
  });
});
