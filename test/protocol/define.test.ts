import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, defineProtocol, error, event, stream } from '../../src/protocol/define.js';
import { firstMissing, isGranted } from '../../src/protocol/permissions.js';
import { versionMismatch } from '../../src/protocol/version.js';
import { testProtocol } from '../support/fixtures.js';

const io = { input: z.object({}), output: z.null() };

describe('defineProtocol', () => {
  test('indexes commands, streams and events by dotted name', () => {
    expect([...testProtocol.commands.keys()]).toEqual([
      'math.add',
      'math.divide',
      'slow.wait',
      'slow.crash',
      'slow.lie',
      'logs.tail',
      'logs.forever',
    ]);
    expect(testProtocol.commands.get('logs.tail')?.kind).toBe('stream');
    expect(testProtocol.commands.get('math.divide')?.permission).toBe('math:divide');
    expect([...testProtocol.events.keys()]).toEqual(['logs.appended']);
    expect([...testProtocol.errors.keys()]).toEqual(['DIVIDE_BY_ZERO']);
  });

  const base = { name: 'p', version: '1.0.0' };
  test.each([
    [{ ...base, version: '1.0' }, 'protocol version "1.0" is not major.minor.patch'],
    [{ ...base, name: '' }, 'protocol name must not be empty'],
    [{ ...base, resources: { 'a.b': {} } }, 'resource name "a.b" must match /^[A-Za-z][A-Za-z0-9_]*$/'],
    [
      { ...base, resources: { a: { commands: { 'x-y': command(io) } } } },
      'command name "x-y" must match /^[A-Za-z][A-Za-z0-9_]*$/',
    ],
    [
      { ...base, resources: { a: { events: { '1st': event(z.null()) } } } },
      'event name "1st" must match /^[A-Za-z][A-Za-z0-9_]*$/',
    ],
    [
      { ...base, resources: {}, errors: { notFound: error('x') } },
      'error code "notFound" must match /^[A-Z][A-Z0-9_]*$/',
    ],
    [
      { ...base, resources: {}, errors: { TIMEOUT: error('x') } },
      'error code "TIMEOUT" is built in and cannot be redefined',
    ],
    [
      {
        ...base,
        resources: {
          a: {
            commands: {
              x: command({ ...io, wireId: 1 }),
              y: stream({ input: z.null(), item: z.null(), wireId: 1 }),
            },
          },
        },
      },
      'a.y: wireId 1 is already used by a.x',
    ],
    [
      { ...base, resources: { a: { commands: { x: command({ ...io, wireId: -1 }) } } } },
      'a.x: wireId must be a non-negative integer',
    ],
  ])('throws a TypeError for %o', (definition, message) => {
    expect(() => defineProtocol({ resources: {}, ...definition } as never)).toThrow(new TypeError(message));
  });
});

describe('permissions', () => {
  test.each([
    [['jobs:create'], 'jobs:create', true],
    [['jobs:read'], 'jobs:create', false],
    [['jobs:*'], 'jobs:create', true],
    [['jobs:*'], 'jobsx:create', false],
    [['datasets:*'], 'jobs:read', false],
    [['*'], 'anything:at-all', true],
    [[], 'jobs:read', false],
  ])('%j grants %s: %s', (granted, required, expected) => {
    expect(isGranted(granted, required)).toBe(expected);
  });

  test('firstMissing names the first permission not covered', () => {
    expect(firstMissing(['jobs:*'], ['jobs:read', 'datasets:read', 'x:y'])).toBe('datasets:read');
    expect(firstMissing(['jobs:*'], ['jobs:read'])).toBeUndefined();
  });
});

describe('versions', () => {
  test.each([
    [{ name: 'p', version: '1.4.0' }, { name: 'p', version: '1.0.9' }, undefined],
    [
      { name: 'p', version: '1.4.0' },
      { name: 'p', version: '2.0.0' },
      'incompatible versions: server p@1.4.0, client p@2.0.0',
    ],
    [
      { name: 'p', version: '1.0.0' },
      { name: 'q', version: '1.0.0' },
      'protocol mismatch: server speaks "p", client speaks "q"',
    ],
    [{ name: 'p', version: '1.0.0' }, { name: 'p', version: 'v1' }, 'invalid protocol version "v1"'],
  ])('server %o and client %o: %s', (server, client, expected) => {
    expect(versionMismatch(server, client)).toBe(expected);
  });
});
