import { OtError } from './errors.js';

/**
 * One component of an edit, counted in Unicode code points (goval's rune ops): keep `skip` code
 * points, remove `delete` code points, or add `insert` at the current position. An edit is a list
 * of components read left to right over the document; whatever follows the last component is kept.
 */
export type Op = { readonly skip: number } | { readonly delete: number } | { readonly insert: string };

/** An edit: components in document order. */
export type Ops = readonly Op[];

/** Which of two concurrent edits puts its insert first when both insert at the same position. */
export type Side = 'left' | 'right';

/** How many code points a string has: an emoji such as "😀" counts 1, as in Go's runes. */
export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

function lengthOf(op: Op): number {
  return 'insert' in op ? codePointLength(op.insert) : 'skip' in op ? op.skip : op.delete;
}

function kindOf(op: Op): 'skip' | 'delete' | 'insert' {
  return 'insert' in op ? 'insert' : 'skip' in op ? 'skip' : 'delete';
}

function sized(kind: 'skip' | 'delete', n: number): Op {
  return kind === 'skip' ? { skip: n } : { delete: n };
}

/** Appends `op` to `out`, merging with the previous component and keeping inserts before deletes. */
function push(out: Op[], op: Op): void {
  if (lengthOf(op) === 0) return;
  const last = out.at(-1);
  if (last === undefined) {
    out.push(op);
    return;
  }
  if ('insert' in op) {
    if ('insert' in last) {
      out[out.length - 1] = { insert: last.insert + op.insert };
      return;
    }
    // Insert-then-delete and delete-then-insert at one position are the same edit: keep one form,
    // inserts first, so equal edits compare equal.
    if ('delete' in last) {
      const before = out.at(-2);
      if (before !== undefined && 'insert' in before) {
        out[out.length - 2] = { insert: before.insert + op.insert };
      } else {
        out.splice(out.length - 1, 0, op);
      }
      return;
    }
    out.push(op);
    return;
  }
  if ('skip' in op && 'skip' in last) out[out.length - 1] = { skip: last.skip + op.skip };
  else if ('delete' in op && 'delete' in last) out[out.length - 1] = { delete: last.delete + op.delete };
  else out.push(op);
}

/**
 * The canonical form of an edit: zero-length components dropped, neighbours of one kind merged, an
 * insert before a delete at the same position, no trailing skip (the rest is kept anyway).
 *
 * @example normalize([{ skip: 1 }, { skip: 2 }, { insert: '' }, { delete: 1 }, { insert: 'a' }, { skip: 4 }])
 * // → [{ skip: 3 }, { insert: 'a' }, { delete: 1 }]
 */
export function normalize(ops: Ops): Op[] {
  const out: Op[] = [];
  for (const op of ops) push(out, op);
  if (out.at(-1) !== undefined && 'skip' in (out.at(-1) as Op)) out.pop();
  return out;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Checks that `ops` is a well-formed edit of a document of `length` code points and returns it
 * normalised. Throws `OtError('OT_BAD_OPS')` naming the first problem: a component that is not
 * exactly one of skip/delete/insert, a count that is not a non-negative integer, an insert that is
 * not well-formed Unicode, or a skip or delete past the end.
 */
export function checkOps(ops: unknown, length: number): Op[] {
  if (!Array.isArray(ops)) throw new OtError('OT_BAD_OPS', 'ops must be a list');
  let position = 0;
  for (const [index, op] of ops.entries()) {
    if (typeof op !== 'object' || op === null || Object.keys(op).length !== 1) {
      throw new OtError('OT_BAD_OPS', `op ${index} must have exactly one of skip, delete, insert`);
    }
    if ('insert' in op) {
      if (typeof op.insert !== 'string')
        throw new OtError('OT_BAD_OPS', `op ${index}: insert must be a string`);
      if (LONE_SURROGATE.test(op.insert)) {
        throw new OtError('OT_BAD_OPS', `op ${index}: insert has a lone surrogate (not valid Unicode)`);
      }
      continue;
    }
    const kind = 'skip' in op ? 'skip' : 'delete' in op ? 'delete' : undefined;
    if (kind === undefined) {
      throw new OtError('OT_BAD_OPS', `op ${index} must have exactly one of skip, delete, insert`);
    }
    const n = (op as Record<string, unknown>)[kind];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new OtError('OT_BAD_OPS', `op ${index}: ${kind} must be a non-negative integer`);
    }
    if (position + n > length) {
      throw new OtError(
        'OT_BAD_OPS',
        `op ${index}: ${kind} of ${n} at ${position} passes the end (length ${length})`,
      );
    }
    position += n;
  }
  return normalize(ops as Ops);
}

/** The code points an edit reads: the document length it needs at least. */
export function baseLength(ops: Ops): number {
  let n = 0;
  for (const op of ops) if (!('insert' in op)) n += lengthOf(op);
  return n;
}

/**
 * Applies an edit to a text. Throws `OtError('OT_BAD_OPS')` when the edit does not fit the text.
 *
 * @example apply('héllo 😀!', [{ skip: 6 }, { delete: 1 }, { insert: '🎉' }]) // → 'héllo 🎉!'
 */
export function apply(text: string, ops: Ops): string {
  const chars = Array.from(text);
  const edit = checkOps(ops, chars.length);
  let position = 0;
  let out = '';
  for (const op of edit) {
    if ('insert' in op) out += op.insert;
    else if ('skip' in op) {
      out += chars.slice(position, position + op.skip).join('');
      position += op.skip;
    } else position += op.delete;
  }
  return out + chars.slice(position).join('');
}

/** Reads an edit component by component, splitting skips and deletes; past the end it is empty. */
class Reader {
  private index = 0;
  /** How much of the current component is used up. */
  private used = 0;
  constructor(private readonly ops: Ops) {}

  get current(): Op | undefined {
    const op = this.ops[this.index];
    if (op === undefined || this.used === 0) return op;
    if ('insert' in op) return { insert: Array.from(op.insert).slice(this.used).join('') };
    return sized(kindOf(op) as 'skip' | 'delete', lengthOf(op) - this.used);
  }

  /** Takes `n` code points of the current component (all of it for inserts unless `n` is given). */
  take(n?: number): Op {
    const op = this.current as Op;
    const size = lengthOf(op);
    if (n === undefined || n >= size) {
      this.index++;
      this.used = 0;
      return op;
    }
    this.used += n;
    return 'insert' in op
      ? { insert: Array.from(op.insert).slice(0, n).join('') }
      : sized(kindOf(op) as 'skip' | 'delete', n);
  }

  rest(): Op[] {
    const out: Op[] = [];
    while (this.current !== undefined) out.push(this.take());
    return out;
  }
}

/**
 * Rewrites edit `a` to apply after edit `b`, both made on the same text (the server's and client's
 * step of OT). With `b' = transform(b, a, other side)`:
 * `apply(apply(t, b), transform(a, b, side)) === apply(apply(t, a), b')` (TP1).
 * When both insert at one position, the `'left'` edit's insert comes first.
 *
 * @example transform([{ insert: 'a' }], [{ insert: 'b' }], 'right') // → [{ skip: 1 }, { insert: 'a' }]
 */
export function transform(a: Ops, b: Ops, side: Side): Op[] {
  const out: Op[] = [];
  const left = new Reader(normalize(a));
  const right = new Reader(normalize(b));
  for (;;) {
    const x = left.current;
    const y = right.current;
    if (x !== undefined && 'insert' in x && (side === 'left' || y === undefined || !('insert' in y))) {
      push(out, left.take());
    } else if (y !== undefined && 'insert' in y) {
      push(out, { skip: lengthOf(right.take()) });
    } else if (x === undefined) {
      break;
    } else if (y === undefined) {
      // `b` keeps the rest of the text, so the rest of `a` applies unchanged.
      for (const op of left.rest()) push(out, op);
      break;
    } else {
      const n = Math.min(lengthOf(x), lengthOf(y));
      const mine = left.take(n);
      const theirs = right.take(n);
      // What both skip stays skipped; what `a` deletes and `b` keeps is still deleted; whatever
      // `b` deleted is gone already.
      if ('skip' in theirs) push(out, mine);
    }
  }
  return normalize(out);
}

/**
 * One edit with the effect of `a` then `b` (`b` made on `a`'s result):
 * `apply(t, compose(a, b)) === apply(apply(t, a), b)`.
 *
 * @example compose([{ insert: 'ab' }], [{ skip: 1 }, { delete: 1 }]) // → [{ insert: 'a' }]
 */
export function compose(a: Ops, b: Ops): Op[] {
  const out: Op[] = [];
  const first = new Reader(normalize(a));
  const second = new Reader(normalize(b));
  for (;;) {
    const x = first.current;
    const y = second.current;
    if (y !== undefined && 'insert' in y) push(out, second.take());
    else if (x !== undefined && 'delete' in x) push(out, first.take());
    else if (x === undefined) {
      // Past `a`'s components its result is the original text, which `b` edits directly.
      for (const op of second.rest()) push(out, op);
      break;
    } else if (y === undefined) {
      for (const op of first.rest()) push(out, op);
      break;
    } else {
      const n = Math.min(lengthOf(x), lengthOf(y));
      const made = first.take(n);
      const then = second.take(n);
      if ('delete' in then) {
        // Deleting what `a` inserted leaves nothing; deleting what `a` kept deletes the original.
        if ('skip' in made) push(out, then);
      } else push(out, made);
    }
  }
  return normalize(out);
}

/**
 * Where a position (a cursor, a selection end) lands after an edit made on the same text. Text
 * deleted around it pulls it to the start of the deletion; text inserted before it pushes it on,
 * and so does text inserted exactly at it, as ot.js does: a caret keeps following what is typed at it.
 *
 * @example transformPosition(3, [{ skip: 1 }, { delete: 4 }]) // → 1
 */
export function transformPosition(position: number, ops: Ops): number {
  let consumed = 0;
  let moved = position;
  // Normalised, an insert comes before a delete at one position, so both orders move it alike.
  for (const op of normalize(ops)) {
    if (consumed > position) break;
    if ('insert' in op) moved += codePointLength(op.insert);
    else if ('skip' in op) consumed += op.skip;
    else {
      moved -= Math.min(op.delete, position - consumed);
      consumed += op.delete;
    }
  }
  return moved;
}
