import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apply,
  baseLength,
  checkOps,
  compose,
  normalize,
  type Op,
  OtError,
  transform,
  transformPosition,
} from '../../../src/services/ot/index.js';
import { build, pieces, textAndEdit, textAndTwoEdits } from './arbitraries.js';

const RUNS = 2000;

describe('OT algorithms (properties)', () => {
  it('converges whichever edit applies first (TP1), for both tie-breaks', () => {
    fc.assert(
      fc.property(
        textAndTwoEdits,
        fc.constantFrom('left' as const, 'right' as const),
        ({ text, a, b }, side) => {
          const other = side === 'left' ? 'right' : 'left';
          const viaB = apply(apply(text, b), transform(a, b, side));
          const viaA = apply(apply(text, a), transform(b, a, other));
          expect(viaB).toBe(viaA);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('keeps both inserts of a tie, the left one first', () => {
    fc.assert(
      fc.property(textAndTwoEdits, ({ text, a, b }) => {
        const merged = apply(apply(text, b), transform(a, b, 'left'));
        const insertedA = normalize(a).flatMap((op) => ('insert' in op ? [op.insert] : []));
        for (const inserted of insertedA) expect(merged).toContain(inserted);
      }),
      { numRuns: RUNS },
    );
  });

  it('composes: one edit with the effect of two in a row', () => {
    fc.assert(
      fc.property(textAndEdit, pieces, ({ text, ops }, recipe) => {
        const middle = apply(text, ops);
        const next = build(recipe, Array.from(middle).length);
        expect(apply(text, compose(ops, next))).toBe(apply(middle, next));
      }),
      { numRuns: RUNS },
    );
  });

  it('normalises without changing the effect, and idempotently', () => {
    fc.assert(
      fc.property(textAndEdit, ({ text, ops }) => {
        const once = normalize(ops);
        expect(normalize(once)).toEqual(once);
        expect(apply(text, once)).toBe(apply(text, ops));
        for (const op of once) expect(Object.values(op)[0]).not.toBe(0);
        expect(once.at(-1) && 'skip' in once.at(-1)!).not.toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('moves every position that survives an edit onto the same character', () => {
    fc.assert(
      fc.property(textAndEdit, ({ text, ops }) => {
        const before = Array.from(text);
        const after = Array.from(apply(text, ops));
        const deleted = new Set<number>();
        let at = 0;
        for (const op of normalize(ops)) {
          if ('skip' in op) at += op.skip;
          else if ('delete' in op) for (let i = 0; i < op.delete; i++) deleted.add(at++);
        }
        for (let i = 0; i < before.length; i++) {
          if (!deleted.has(i)) expect(after[transformPosition(i, ops)]).toBe(before[i]);
        }
        expect(transformPosition(before.length, ops)).toBe(after.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers any input with a normalised edit or an OtError, never another exception', () => {
    // Half the inputs are edits built to fit (so the "normalised edit" side is really reached), the
    // rest anything at all; both outcomes are counted and each must occur.
    const input = fc.oneof(
      pieces.chain((recipe) =>
        fc.nat(20).map((length) => ({ ops: build(recipe, length) as unknown, length })),
      ),
      fc.record({ ops: fc.anything(), length: fc.nat(20) }),
    );
    let edits = 0;
    let errors = 0;
    fc.assert(
      fc.property(input, ({ ops, length }) => {
        let result: Op[];
        try {
          result = checkOps(ops, length);
        } catch (error) {
          expect(error).toBeInstanceOf(OtError);
          expect((error as OtError).code).toBe('OT_BAD_OPS');
          errors++;
          return;
        }
        edits++;
        // Normalised: a fixed point of normalize, with no zero-length or trailing-skip component.
        expect(normalize(result)).toEqual(result);
        for (const op of result) expect(Object.values(op)[0]).not.toBe(0);
        expect(result.length === 0 || !('skip' in (result.at(-1) as Op))).toBe(true);
        // And still the same edit of a text of that length.
        expect(baseLength(result)).toBeLessThanOrEqual(length);
        const text = 'x'.repeat(length);
        expect(apply(text, result)).toBe(apply(text, ops as Op[]));
      }),
      { numRuns: RUNS },
    );
    expect(edits).toBeGreaterThan(RUNS / 4);
    expect(errors).toBeGreaterThan(RUNS / 4);
  });
});
