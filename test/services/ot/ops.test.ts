import { describe, expect, it } from 'vitest';
import {
  apply,
  checkOps,
  codePointLength,
  compose,
  normalize,
  OtError,
  transform,
  transformPosition,
} from '../../../src/services/ot/index.js';

function badOps(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OtError);
    expect((error as OtError).code).toBe('OT_BAD_OPS');
    return (error as OtError).message;
  }
  throw new Error('expected OT_BAD_OPS');
}

describe('code points', () => {
  it('counts an emoji as one code point, as Go counts runes', () => {
    expect(codePointLength('a😀é')).toBe(3);
    expect('a😀é'.length).toBe(4);
  });

  it('applies skips and deletes over code points, not UTF-16 units', () => {
    expect(apply('😀😀x', [{ skip: 1 }, { delete: 1 }, { insert: 'y' }])).toBe('😀yx');
    expect(apply('héllo 😀!', [{ skip: 6 }, { delete: 1 }, { insert: '🎉' }])).toBe('héllo 🎉!');
  });
});

describe('normalize', () => {
  it('drops zero lengths, merges neighbours, puts inserts before deletes and drops a trailing skip', () => {
    expect(
      normalize([
        { skip: 1 },
        { skip: 2 },
        { insert: '' },
        { delete: 0 },
        { delete: 1 },
        { insert: 'a' },
        { delete: 2 },
        { insert: 'b' },
        { skip: 4 },
      ]),
    ).toEqual([{ skip: 3 }, { insert: 'ab' }, { delete: 3 }]);
  });

  it('keeps the rest of the text after the last component', () => {
    expect(apply('hello', [{ skip: 1 }, { delete: 1 }])).toBe('hllo');
  });
});

describe('checkOps', () => {
  it('refuses a skip past the end, naming where', () => {
    expect(badOps(() => checkOps([{ skip: 2 }, { skip: 2 }], 3))).toBe(
      'op 1: skip of 2 at 2 passes the end (length 3)',
    );
  });

  it('refuses a delete past the end, in code points', () => {
    expect(badOps(() => apply('😀😀', [{ skip: 1 }, { delete: 2 }]))).toBe(
      'op 1: delete of 2 at 1 passes the end (length 2)',
    );
  });

  it('refuses negative, fractional and non-number counts', () => {
    expect(badOps(() => checkOps([{ skip: -1 }], 5))).toBe('op 0: skip must be a non-negative integer');
    expect(badOps(() => checkOps([{ delete: 1.5 }], 5))).toBe('op 0: delete must be a non-negative integer');
    expect(badOps(() => checkOps([{ skip: '1' }], 5))).toBe('op 0: skip must be a non-negative integer');
  });

  it('refuses components with none or several kinds, and non-lists', () => {
    expect(badOps(() => checkOps([{ skip: 1, insert: 'a' }], 5))).toBe(
      'op 0 must have exactly one of skip, delete, insert',
    );
    expect(badOps(() => checkOps([{ retain: 1 }], 5))).toBe(
      'op 0 must have exactly one of skip, delete, insert',
    );
    expect(badOps(() => checkOps([null], 5))).toBe('op 0 must have exactly one of skip, delete, insert');
    expect(badOps(() => checkOps({ skip: 1 }, 5))).toBe('ops must be a list');
    expect(badOps(() => checkOps([{ insert: 7 }], 5))).toBe('op 0: insert must be a string');
  });

  it('refuses an insert with a lone surrogate, which has no UTF-8 form', () => {
    expect(badOps(() => checkOps([{ insert: 'a\ud83d' }], 0))).toBe(
      'op 0: insert has a lone surrogate (not valid Unicode)',
    );
  });
});

describe('transform', () => {
  it('breaks an insert-insert tie by side', () => {
    const a = [{ skip: 1 }, { insert: 'A' }];
    const b = [{ skip: 1 }, { insert: 'B' }];
    expect(transform(a, b, 'left')).toEqual([{ skip: 1 }, { insert: 'A' }]);
    expect(transform(b, a, 'right')).toEqual([{ skip: 2 }, { insert: 'B' }]);
    expect(apply(apply('xy', b), transform(a, b, 'left'))).toBe('xABy');
    expect(apply(apply('xy', a), transform(b, a, 'right'))).toBe('xABy');
  });

  it('moves an insert past a concurrent insert before it', () => {
    expect(transform([{ skip: 3 }, { insert: '!' }], [{ insert: '> ' }], 'left')).toEqual([
      { skip: 5 },
      { insert: '!' },
    ]);
  });

  it('deletes what is left of an overlapping delete only once', () => {
    // "abcdef": a deletes "bcd", b deletes "cde".
    const a = [{ skip: 1 }, { delete: 3 }];
    const b = [{ skip: 2 }, { delete: 3 }];
    expect(transform(a, b, 'left')).toEqual([{ skip: 1 }, { delete: 1 }]);
    expect(transform(b, a, 'right')).toEqual([{ skip: 1 }, { delete: 1 }]);
    expect(apply(apply('abcdef', b), transform(a, b, 'left'))).toBe('af');
  });

  it('turns a delete inside a concurrent delete into nothing', () => {
    expect(transform([{ skip: 2 }, { delete: 1 }], [{ skip: 1 }, { delete: 3 }], 'left')).toEqual([]);
  });

  it('keeps an insert inside a concurrently deleted range', () => {
    // "abcd": a inserts X after "b", b deletes "bc".
    const a = [{ skip: 2 }, { insert: 'X' }];
    const b = [{ skip: 1 }, { delete: 2 }];
    expect(transform(a, b, 'left')).toEqual([{ skip: 1 }, { insert: 'X' }]);
    expect(apply(apply('abcd', b), transform(a, b, 'left'))).toBe('aXd');
  });

  it('counts emoji as one position when transforming', () => {
    // "😀😀": a inserts "é" between the emoji, b inserts "🎉" at the start.
    const a = [{ skip: 1 }, { insert: 'é' }];
    const b = [{ insert: '🎉' }];
    expect(transform(a, b, 'left')).toEqual([{ skip: 2 }, { insert: 'é' }]);
    expect(apply(apply('😀😀', b), transform(a, b, 'left'))).toBe('🎉😀é😀');
  });
});

describe('compose', () => {
  it('cancels an insert deleted by the next edit', () => {
    expect(compose([{ insert: 'ab' }], [{ skip: 1 }, { delete: 1 }])).toEqual([{ insert: 'a' }]);
    expect(compose([{ skip: 2 }, { insert: 'x' }], [{ skip: 2 }, { delete: 1 }])).toEqual([]);
  });

  it('edits the text after the first edit’s last component', () => {
    expect(compose([{ insert: '😀' }], [{ skip: 3 }, { delete: 1 }])).toEqual([
      { insert: '😀' },
      { skip: 2 },
      { delete: 1 },
    ]);
  });
});

describe('transformPosition', () => {
  it('moves a position past an insert before it and at it', () => {
    expect(transformPosition(3, [{ skip: 1 }, { insert: '😀😀' }])).toBe(5);
    expect(transformPosition(3, [{ skip: 3 }, { insert: 'ab' }])).toBe(5);
  });

  it('leaves a position before an edit alone', () => {
    expect(transformPosition(2, [{ skip: 3 }, { insert: 'ab' }, { delete: 4 }])).toBe(2);
  });

  it('pulls a position inside a deletion to its start', () => {
    expect(transformPosition(3, [{ skip: 1 }, { delete: 4 }])).toBe(1);
    expect(transformPosition(6, [{ skip: 1 }, { delete: 4 }])).toBe(2);
  });

  it('does not move a position for a delete starting at it', () => {
    expect(transformPosition(2, [{ skip: 2 }, { delete: 3 }])).toBe(2);
  });
});
