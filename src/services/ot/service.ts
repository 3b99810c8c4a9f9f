import { z } from 'zod';
import { command, error, event, service } from '../../protocol/define.js';
import { User } from '../chat/user.js';
import { OT_ERRORS } from './errors.js';

const Count = z.number().int().nonnegative();

/** One edit component on the wire: exactly one of skip, delete, insert (goval's OTRuneTransformOp). */
export const OpSchema = z.union([
  z.strictObject({ skip: Count }),
  z.strictObject({ delete: Count }),
  z.strictObject({ insert: z.string() }),
]);

/** An applied edit as goval's `OTPacket`: the version it produced, its ops, the crc32 of the result. */
export const PacketSchema = z.object({
  version: Count,
  ops: z.array(OpSchema),
  crc32: Count,
});

/** A collaborator's caret and selection (goval's `OTCursor`). */
export const CursorSchema = z.object({
  id: z.string(),
  position: Count,
  selectionStart: Count,
  selectionEnd: Count,
  user: User,
});

/** The whole state of a document (goval's `OTStatus`, plus the crc32). */
export const StatusSchema = z.object({
  contents: z.string(),
  /** The linked file's path, if `link {path}` linked one (goval's `linkedFile`). */
  path: z.string().optional(),
  version: Count,
  crc32: Count,
  cursors: z.array(CursorSchema),
});

/**
 * Collaborative plain-text editing with operational transform (goval's `ot` service). Every channel
 * opened on one name edits one document; positions count Unicode code points.
 *
 * - `link {path?}` → the status; with a path, the server's loader fills the document first.
 * - `apply {version, ops, crc32?}` → the packet as applied; the others get event `ot`.
 * - `fetch {versionFrom, versionTo}` → the packets in that range (both ends included).
 * - `status {}` → the status.
 * - `cursor {position, selectionStart, selectionEnd, id?}` → `{id}`; the others get event `cursor`.
 * - `deleteCursor {id}` → null; the others get event `cursorDeleted`.
 * - `flush {}` → null once the linked file holds every applied edit (goval's `flush`).
 */
export const otService = service({
  description: 'Collaborative plain-text editing with operational transform',
  commands: {
    link: command({ input: z.object({ path: z.string().optional() }), output: StatusSchema }),
    apply: command({
      input: z.object({ version: Count, ops: z.array(OpSchema).min(1), crc32: Count.optional() }),
      output: PacketSchema,
      // A packet cut off by a reconnect is sent again: the server applies it once and answers again.
      idempotent: true,
    }),
    fetch: command({
      input: z.object({ versionFrom: Count, versionTo: Count }),
      output: z.object({ packets: z.array(PacketSchema) }),
    }),
    status: command({ input: z.object({}), output: StatusSchema }),
    cursor: command({
      input: z.object({
        position: Count,
        selectionStart: Count,
        selectionEnd: Count,
        id: z.string().min(1).max(128).optional(),
      }),
      output: z.object({ id: z.string() }),
    }),
    deleteCursor: command({ input: z.object({ id: z.string() }), output: z.null() }),
    flush: command({ input: z.object({}), output: z.null() }),
  },
  events: {
    ot: event(PacketSchema, { description: 'A packet another session applied' }),
    cursor: event(CursorSchema, { description: 'A cursor placed or moved by another session' }),
    cursorDeleted: event(z.object({ id: z.string() }), { description: 'A cursor removed' }),
  },
  errors: {
    OT_VERSION_AHEAD: error(OT_ERRORS.OT_VERSION_AHEAD),
    OT_VERSION_TOO_OLD: error(OT_ERRORS.OT_VERSION_TOO_OLD),
    OT_BAD_OPS: error(OT_ERRORS.OT_BAD_OPS),
    OT_CRC_MISMATCH: error(OT_ERRORS.OT_CRC_MISMATCH),
    OT_CURSOR_NOT_FOUND: error(OT_ERRORS.OT_CURSOR_NOT_FOUND),
    OT_TOO_MANY_CURSORS: error(OT_ERRORS.OT_TOO_MANY_CURSORS),
    OT_DIVERGED: error(OT_ERRORS.OT_DIVERGED),
    OT_LINK_REFUSED: error(OT_ERRORS.OT_LINK_REFUSED),
  },
});
