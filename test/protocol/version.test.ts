import { describe, expect, test } from 'vitest';
import { majorOf, versionMismatch } from '../../src/protocol/version.js';

describe('versionMismatch', () => {
  test.each([
    ['1.4.0', '1.0.9'],
    ['1.0.0', '1.7.2'],
    ['2.3.4', '2.3.4'],
    ['0.1.0', '0.2.0'],
  ])('lets server %s and client %s talk: same name, same major', (server, client) => {
    expect(versionMismatch({ name: 'p', version: server }, { name: 'p', version: client })).toBeUndefined();
  });

  test.each([
    ['1.4.0', '2.0.0', 'incompatible versions: server p@1.4.0, client p@2.0.0'],
    ['2.0.0', '1.9.9', 'incompatible versions: server p@2.0.0, client p@1.9.9'],
    ['0.9.0', '1.0.0', 'incompatible versions: server p@0.9.0, client p@1.0.0'],
  ])('refuses server %s and client %s: different majors', (server, client, message) => {
    expect(versionMismatch({ name: 'p', version: server }, { name: 'p', version: client })).toBe(message);
  });

  test('refuses a different protocol name, whatever the versions', () => {
    expect(versionMismatch({ name: 'p', version: '1.0.0' }, { name: 'q', version: '1.0.0' })).toBe(
      'protocol mismatch: server speaks "p", client speaks "q"',
    );
    expect(versionMismatch({ name: 'p', version: '1.0.0' }, { name: 'q', version: 'junk' })).toBe(
      'protocol mismatch: server speaks "p", client speaks "q"',
    );
  });

  test.each(['v1', '1.0', '1.0.0-rc.1', '01.0.0', ''])('refuses client version %j as invalid', (version) => {
    expect(versionMismatch({ name: 'p', version: '1.0.0' }, { name: 'p', version })).toBe(
      `invalid protocol version "${version}"`,
    );
  });
});

describe('majorOf', () => {
  test.each([
    ['1.2.3', 1],
    ['0.0.0', 0],
    ['10.20.30', 10],
    ['1.0', undefined],
    ['1.0.0-beta', undefined],
    [' 1.0.0', undefined],
    ['00.1.0', undefined],
  ])('reads the major of %j as %s', (version, major) => {
    expect(majorOf(version)).toBe(major);
  });
});
