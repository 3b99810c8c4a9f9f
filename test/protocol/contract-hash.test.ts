import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fnv1a64 } from '../../src/protocol/fnv1a64.js';
import { canonicalJson, contractHash, contractOf, defineProtocol } from '../../src/protocol/index.js';
import { testProtocol } from '../support/fixtures.js';

/** FNV-1a 64 straight from its definition, on BigInt: the reference the two-halves version must match. */
function referenceFnv1a64(bytes: Uint8Array): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('fnv1a64', () => {
  test.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('the published test vector of %j', (text, hash) => {
    expect(fnv1a64(utf8(text))).toBe(hash);
  });

  test('equals the BigInt definition on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(fnv1a64(bytes)).toBe(referenceFnv1a64(bytes));
      }),
      { numRuns: 500 },
    );
  });
});

describe('contractHash', () => {
  test('canonical JSON sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }, 3], a: 'x', u: undefined })).toBe(
      '{"a":"x","b":[{"c":2,"d":1},3]}',
    );
  });

  test('does not depend on the order members were defined in', () => {
    const { math, slow, ...rest } = testProtocol.definition.resources;
    const reordered = defineProtocol({
      ...testProtocol.definition,
      resources: {
        slow,
        ...rest,
        math: { commands: { divide: math.commands.divide, add: math.commands.add } },
      },
    });
    expect(contractHash(contractOf(reordered))).toBe(contractHash(contractOf(testProtocol)));
  });

  test('is 16 hex digits and differs when a schema differs', () => {
    const hash = contractHash(contractOf(testProtocol));
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    const contract = contractOf(testProtocol);
    const changed = {
      ...contract,
      commands: { ...contract.commands, 'math.add': { ...contract.commands['math.add']!, input: {} } },
    };
    expect(contractHash(changed)).not.toBe(hash);
  });
});
