import type { ServiceContext, ServiceImplementation, SessionContext } from '../../server/service-types.js';
import { userOf } from '../chat/user.js';
import { type Cursor, transformCursor } from './cursor.js';
import { OtDocument } from './document.js';
import { OtError } from './errors.js';
import { OT_DEFAULTS } from './limits.js';
import type { otService } from './service.js';

/** How the `ot` service loads, saves and bounds its documents. */
export interface OtOptions {
  /** Packets kept per document for `fetch` and for transforming stale packets. Default 1000. */
  readonly maxHistory?: number;
  /**
   * Reads the text `link {path}` starts a document with (e.g. from the files service's root).
   * Without it, `link` with a path is refused with OT_LINK_REFUSED. A `RequestError` it throws goes
   * to the caller as is; anything else is an internal error.
   */
  readonly load?: (path: string) => string | Promise<string>;
  /**
   * Writes a linked document's contents after it changes. Saves run one at a time and coalesce:
   * while one runs, later changes wait and are written once, with the newest contents.
   */
  readonly save?: (path: string, contents: string) => void | Promise<void>;
  /** Told when `save` fails; the document keeps its edits either way. Default: `console.error`. */
  readonly onSaveError?: (error: unknown, path: string) => void;
  /** Cursors one session may hold at once; placing one more fails with OT_TOO_MANY_CURSORS. Default 16. */
  readonly maxCursorsPerSession?: number;
}

/** The state of one `ot` instance: its document, the file it is linked to, the cursors on it. */
export interface OtState {
  document: OtDocument;
  path: string | undefined;
  /** Set while `link` loads the file; edits wait for it. */
  linking: Promise<void> | undefined;
  readonly cursors: Map<string, Cursor>;
  nextCursor: number;
  saving: Promise<void> | undefined;
  dirty: boolean;
}

type Context = ServiceContext<typeof otService, OtState>;

/**
 * Waits for a file being linked. A failed load is `link`'s to report (to its caller); everyone
 * else goes on with the document as it was.
 */
async function linked(state: OtState): Promise<void> {
  await state.linking?.catch(() => undefined);
}

/** Runs `run`, turning an `OtError` into a request error with the same code and message. */
function attempt<T>(ctx: Context, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof OtError) ctx.fail(error.code, error.message);
    throw error;
  }
}

function statusOf(state: OtState) {
  const { document } = state;
  return {
    contents: document.contents,
    ...(state.path === undefined ? {} : { path: state.path }),
    version: document.version,
    crc32: document.crc32,
    cursors: [...state.cursors.values()],
  };
}

/**
 * The server side of `otService`: one `OtDocument` per channel name, cursors per session, packets
 * broadcast to every other session. A document lives while any session is attached.
 *
 * @example
 * createServer({ protocol, services: { ot: ot({ load: (path) => readFile(join(root, path), 'utf8') }) } })
 */
export function ot(options: OtOptions = {}): ServiceImplementation<typeof otService, OtState> {
  const maxCursors = options.maxCursorsPerSession ?? OT_DEFAULTS.maxCursorsPerSession;
  const onSaveError =
    options.onSaveError ??
    ((error: unknown, path: string) => console.error(`ot: could not save ${path}`, error));

  const scheduleSave = (state: OtState) => {
    const { save } = options;
    const path = state.path;
    if (save === undefined || path === undefined) return;
    state.dirty = true;
    if (state.saving) return;
    state.saving = (async () => {
      while (state.dirty) {
        state.dirty = false;
        try {
          await save(path, state.document.contents);
        } catch (error) {
          onSaveError(error, path);
        }
      }
      state.saving = undefined;
    })();
  };

  const removeCursors = (ctx: SessionContext<typeof otService, OtState>) => {
    for (const [id, cursor] of ctx.state.cursors) {
      if (cursor.user.session !== ctx.session.id) continue;
      ctx.state.cursors.delete(id);
      ctx.instance.emit('cursorDeleted', { id }, { except: ctx.session.id });
    }
  };

  return {
    create: () => ({
      document: new OtDocument({ maxHistory: options.maxHistory }),
      path: undefined,
      linking: undefined,
      cursors: new Map(),
      nextCursor: 1,
      saving: undefined,
      dirty: false,
    }),
    handlers: {
      async link({ path }, ctx) {
        const { state } = ctx;
        if (path !== undefined && path !== state.path) {
          if (state.path !== undefined)
            ctx.fail('OT_LINK_REFUSED', `the document is linked to ${state.path}`);
          const load = options.load;
          if (load === undefined) return ctx.fail('OT_LINK_REFUSED', 'this server links no files');
          if (state.document.version > 0) {
            ctx.fail('OT_LINK_REFUSED', `the document has ${state.document.version} edits already`);
          }
          state.path = path;
          state.linking = (async () => {
            state.document = new OtDocument({ contents: await load(path), maxHistory: options.maxHistory });
          })();
          try {
            await state.linking;
          } catch (error) {
            state.path = undefined;
            throw error;
          } finally {
            state.linking = undefined;
          }
        }
        await linked(state);
        return statusOf(state);
      },
      async apply({ version, ops, crc32 }, ctx) {
        const { state } = ctx;
        await linked(state);
        const packet = attempt(ctx, () => state.document.apply(version, ops, crc32));
        for (const [id, cursor] of state.cursors) state.cursors.set(id, transformCursor(cursor, packet.ops));
        ctx.instance.emit('ot', packet, { except: ctx.session.id });
        scheduleSave(state);
        return packet;
      },
      fetch: ({ versionFrom, versionTo }, ctx) => ({
        packets: attempt(ctx, () => ctx.state.document.fetch(versionFrom, versionTo)),
      }),
      status: (_input, ctx) => statusOf(ctx.state),
      cursor(input, ctx) {
        const { state, session } = ctx;
        const existing = input.id === undefined ? undefined : state.cursors.get(input.id);
        if (existing && existing.user.session !== session.id) {
          ctx.fail('OT_CURSOR_NOT_FOUND', `cursor ${input.id} belongs to another session`);
        }
        if (!existing) {
          let held = 0;
          for (const cursor of state.cursors.values()) if (cursor.user.session === session.id) held++;
          if (held >= maxCursors)
            ctx.fail('OT_TOO_MANY_CURSORS', `a session holds at most ${maxCursors} cursors`);
        }
        let id = input.id;
        while (id === undefined || (!existing && state.cursors.has(id)))
          id = `${session.id}.${state.nextCursor++}`;
        // Positions past the end (sent before an edit reached the sender) land on the end.
        const length = state.document.length;
        const cursor: Cursor = {
          id,
          position: Math.min(input.position, length),
          selectionStart: Math.min(input.selectionStart, length),
          selectionEnd: Math.min(input.selectionEnd, length),
          user: userOf(ctx.principal, session.id),
        };
        state.cursors.set(id, cursor);
        ctx.instance.emit('cursor', cursor, { except: session.id });
        return { id };
      },
      deleteCursor({ id }, ctx) {
        const cursor = ctx.state.cursors.get(id);
        if (!cursor || cursor.user.session !== ctx.session.id) {
          ctx.fail('OT_CURSOR_NOT_FOUND', `no cursor ${id} in this session`);
        }
        ctx.state.cursors.delete(id);
        ctx.instance.emit('cursorDeleted', { id }, { except: ctx.session.id });
        return null;
      },
      async flush(_input, ctx) {
        // Edits applied while a save runs start another: wait until none is left.
        while (ctx.state.saving) await ctx.state.saving;
        return null;
      },
    },
    detached: removeCursors,
    dispose: async (state) => {
      await state.saving;
    },
  };
}
