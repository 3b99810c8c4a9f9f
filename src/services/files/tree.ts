import { type FileHandle, lstat, open, opendir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RequestError } from '../../protocol/errors.js';
import { DIRECTORY_FLAGS, errnoOf, fromErrno, PROC_FD, quote, refuse } from './root.js';

/** How far one walk of a tree may go; past either bound it stops with `TOO_LARGE`. */
export interface WalkLimits {
  /** Levels below the entry the walk starts at; each level holds one directory descriptor open. */
  readonly maxDepth: number;
  /** Entries listed in all, over the whole walk (the names held in memory are bounded by it). */
  readonly maxEntries: number;
}

/** One name read from a held directory, with its kind as the listing saw it (not followed). */
export interface Listed {
  readonly name: string;
  readonly directory: boolean;
  readonly symlink: boolean;
}

/**
 * A walk of a tree inside the root that never goes by path string: each directory is opened with
 * `O_DIRECTORY | O_NOFOLLOW` relative to its parent's held descriptor (`/proc/self/fd/N/name`,
 * which the kernel resolves in the directory already open: `openat` semantics), confirmed with
 * `fstat`, listed through its own descriptor, and its names are unlinked relative to it. A
 * directory swapped for a symlink after it was listed is refused (`PATH_OUTSIDE_ROOT`, reason
 * `symlink`), never followed. Every descriptor is closed on every path, errors included. One walk
 * per operation: the bounds count over the whole of it.
 */
export class TreeWalk {
  private entries = 0;

  constructor(private readonly limits: WalkLimits) {}

  /** The entries of a held directory, each counted against `maxEntries` as it is read. */
  async list(through: string, path: string): Promise<Listed[]> {
    const directory = await opendir(through, { bufferSize: 64 }).catch((error: unknown) => {
      throw fromErrno(error, path);
    });
    const listed: Listed[] = [];
    try {
      for (;;) {
        const dirent = await directory.read().catch((error: unknown) => {
          throw fromErrno(error, path);
        });
        if (dirent === null) break;
        if (++this.entries > this.limits.maxEntries)
          throw tooLarge(path, 'maxWalkEntries', this.limits.maxEntries);
        listed.push({ name: dirent.name, directory: dirent.isDirectory(), symlink: dirent.isSymbolicLink() });
      }
    } finally {
      await directory.close();
    }
    return listed;
  }

  /**
   * Runs `run` with a path that reaches the directory `name` in the held `parent` through its own
   * descriptor. `depth` is the directory's level below where the walk began (0 for its start).
   * Below the start, a directory gone since it was listed is skipped (`run` is not called).
   */
  async hold<T>(
    parent: string,
    name: string,
    path: string,
    depth: number,
    run: (through: string) => Promise<T>,
  ): Promise<T | undefined> {
    if (depth > this.limits.maxDepth) throw tooLarge(path, 'maxWalkDepth', this.limits.maxDepth);
    const entry = join(parent, name);
    let handle: FileHandle;
    try {
      handle = await open(entry, DIRECTORY_FLAGS);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' && depth > 0) return undefined;
      throw await notADirectoryNow(error, entry, path);
    }
    try {
      // What was opened is a directory (O_DIRECTORY says so too; fstat confirms on the descriptor).
      if (!(await handle.stat()).isDirectory()) throw changed(path);
      return await run(PROC_FD ? `/proc/self/fd/${handle.fd}` : entry);
    } finally {
      await handle.close();
    }
  }

  /**
   * Removes the entry `name` of the held directory `parent` and, if it is a directory, everything
   * in it, depth first. `directory` is its kind as last seen (a listing or an lstat): a symlink is
   * unlinked, never followed. An entry gone meanwhile is fine below the start, `NOT_FOUND` at it.
   */
  async remove(parent: string, name: string, path: string, directory: boolean, depth = 0): Promise<void> {
    const entry = join(parent, name);
    if (!directory) {
      try {
        await unlink(entry);
        return;
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'ENOENT' && depth > 0) return;
        // A directory now stands where something else was listed: removed as one, below.
        if (code !== 'EISDIR') throw fromErrno(error, path);
      }
    }
    const emptied = await this.hold(parent, name, path, depth, async (through) => {
      for (const child of await this.list(through, path))
        await this.remove(through, child.name, `${path}/${child.name}`, child.directory, depth + 1);
      return true;
    });
    if (!emptied) return;
    await rmdir(entry).catch(async (error: unknown) => {
      switch (errnoOf(error)) {
        case 'ENOENT':
          if (depth > 0) return;
          throw fromErrno(error, path);
        case 'ENOTEMPTY':
        case 'EEXIST':
          // Another process wrote into it while it was being emptied.
          throw changed(path);
        default:
          // ENOTDIR: the emptied directory was swapped away, a symlink or a file is at its name.
          throw await notADirectoryNow(error, entry, path);
      }
    });
  }
}

/** The error for a directory that could not be opened as one: a symlink or a file swapped in, or gone. */
async function notADirectoryNow(error: unknown, entry: string, path: string): Promise<unknown> {
  switch (errnoOf(error)) {
    case 'ELOOP':
      return refuse(path, 'symlink');
    case 'ENOTDIR': {
      // O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR on Linux: tell a link from a file.
      const info = await lstat(entry).catch(() => undefined);
      return info?.isSymbolicLink() ? refuse(path, 'symlink') : changed(path);
    }
    default:
      return fromErrno(error, path);
  }
}

/** `CHANGED`: another process changed the tree under the walk in a way it does not follow. */
export function changed(path: string): RequestError {
  return new RequestError(
    'CHANGED',
    `${quote(path)} changed while it was being walked (an entry added, or a directory replaced)`,
  );
}

/** `TOO_LARGE` for a walk past one of its bounds; `data` names the bound and its value. */
function tooLarge(path: string, limit: 'maxWalkDepth' | 'maxWalkEntries', max: number): RequestError {
  const what =
    limit === 'maxWalkDepth' ? `is more than ${max} levels deep` : `holds more than ${max} entries`;
  return new RequestError('TOO_LARGE', `${quote(path)} ${what} (${limit})`, { limit, max });
}
