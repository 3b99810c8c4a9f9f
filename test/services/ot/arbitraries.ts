import fc from 'fast-check';
import type { Op } from '../../../src/services/ot/index.js';

/** Characters that make code points and UTF-16 units differ: accents, emoji, an astral CJK. */
const CHARS = ['a', 'b', 'c', ' ', '\n', 'é', 'ß', '😀', '🎉', '𠜎'];

/** Short texts over CHARS. */
export function text(maxLength = 12): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...CHARS), { maxLength }).map((chars) => chars.join(''));
}

/** A raw edit recipe: pieces whose counts are clipped to a text's length when built. */
export type Piece = { kind: 'skip' | 'delete'; n: number } | { kind: 'insert'; text: string };

export const pieces: fc.Arbitrary<Piece[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('skip' as const), n: fc.nat(6) }),
    fc.record({ kind: fc.constant('delete' as const), n: fc.nat(4) }),
    fc.record({ kind: fc.constant('insert' as const), text: text(4) }),
  ),
  { maxLength: 6 },
);

/** Builds an edit that fits a text of `length` code points (unnormalised: zero counts, neighbours). */
export function build(recipe: readonly Piece[], length: number): Op[] {
  let left = length;
  const ops: Op[] = [];
  for (const piece of recipe) {
    if (piece.kind === 'insert') ops.push({ insert: piece.text });
    else {
      const n = Math.min(piece.n, left);
      left -= n;
      ops.push(piece.kind === 'skip' ? { skip: n } : { delete: n });
    }
  }
  return ops;
}

/** A text and an edit that fits it. */
export const textAndEdit = fc
  .tuple(text(), pieces)
  .map(([t, recipe]) => ({ text: t, ops: build(recipe, Array.from(t).length) }));

/** A text and two concurrent edits of it. */
export const textAndTwoEdits = fc.tuple(text(), pieces, pieces).map(([t, a, b]) => {
  const length = Array.from(t).length;
  return { text: t, a: build(a, length), b: build(b, length) };
});
