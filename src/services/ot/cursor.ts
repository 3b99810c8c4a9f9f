import type { User } from '../chat/user.js';
import { type Ops, transformPosition } from './ops.js';

/**
 * A collaborator's caret and selection in a document, as goval's `OTCursor`: positions in code
 * points, `id` unique within the document, `user` the session that placed it.
 */
export interface Cursor {
  readonly id: string;
  readonly position: number;
  readonly selectionStart: number;
  readonly selectionEnd: number;
  readonly user: User;
}

/**
 * The cursor after an edit: the caret and both selection ends move as `transformPosition` says.
 *
 * @example transformCursor(cursor, [{ insert: 'ab' }]) // every position moves 2 to the right
 */
export function transformCursor(cursor: Cursor, ops: Ops): Cursor {
  return {
    ...cursor,
    position: transformPosition(cursor.position, ops),
    selectionStart: transformPosition(cursor.selectionStart, ops),
    selectionEnd: transformPosition(cursor.selectionEnd, ops),
  };
}
