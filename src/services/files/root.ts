import { constants, existsSync, realpathSync, type Stats, statSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { RequestError } from '../../protocol/errors.js';

/** A directory is opened only as itself: never through a symlink at its name. */
export const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Whether `/proc/self/fd/N` reaches a held descriptor (Linux); elsewhere, calls fall back to paths. */
export const PROC_FD = existsSync('/proc/self/fd');

/** Longest path a client may name, in UTF-8 bytes (Linux's PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest single name in a path, in UTF-8 bytes (Linux's NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/** Why a path was refused with `PATH_OUTSIDE_ROOT`; sent as `data.reason`. */
export type PathRefusal = 'empty' | 'nul' | 'absolute' | 'parent' | 'too-long' | 'symlink' | 'root';

const REFUSALS: Record<PathRefusal, string> = {
  empty: 'is empty',
  nul: 'contains a NUL byte',
  absolute: 'is absolute; paths are relative to the root',
  parent: 'contains a ".." component',
  'too-long': `is longer than ${MAX_PATH_BYTES} bytes or has a name longer than ${MAX_NAME_BYTES}`,
  symlink: 'goes through a symlink that leads outside the root, or whose target does not exist',
  root: 'names the root itself, which cannot be removed or moved',
};

/** A path checked and located: where it really is, and whether something is there now. */
export interface Located {
  /** The client's path, normalised: `/`-separated names, `.` for the root. */
  readonly path: string;
  readonly names: readonly string[];
  /** The absolute path on disk, with no symlink left in it (up to the first missing name). */
  readonly real: string;
  readonly exists: boolean;
}

/**
 * A directory no path escapes. Paths are checked by their words first (no NUL, not absolute, no
 * `..`), then on disk: the real path of the deepest existing ancestor must lie inside the root,
 * and a symlink whose target is missing is never followed, so nothing can be created through it.
 * Every call then acts through a descriptor held on the directory it touches, checked on Linux
 * (`/proc/self/fd`) to be inside the root, and files are opened with `O_NOFOLLOW` and checked the
 * same way before a byte is read or written: a directory swapped for a symlink between the check
 * and the call cannot redirect it. Error messages name
 * the client's path only, never the root's location.
 */
export class SandboxRoot {
  /** The root's real path. */
  readonly real: string;

  /** Throws a TypeError if `root` is not an existing directory. */
  constructor(root: string) {
    let directory = false;
    try {
      directory = statSync(root).isDirectory();
    } catch {
      // Missing or unreadable: the same mistake in the server's configuration.
    }
    if (!directory) throw new TypeError('files: root must be a directory');
    this.real = realpathSync(root);
  }

  /** The names of a client path, or a `PATH_OUTSIDE_ROOT` error; `.` and empty names are dropped. */
  names(path: string): string[] {
    if (path === '') throw refuse(path, 'empty');
    if (path.includes('\0')) throw refuse(path, 'nul');
    if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw refuse(path, 'too-long');
    // Windows forms too (`\x`, `C:\x`, `C:/x`), so a path means the same wherever the files end up.
    if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:(?:$|[\\/])/.test(path))
      throw refuse(path, 'absolute');
    const names = path.split('/').filter((name) => name !== '' && name !== '.');
    for (const name of names) {
      // `..\x` is a plain name on Linux, but would climb on Windows: refuse it everywhere.
      if (name === '..' || name.split('\\').includes('..')) throw refuse(path, 'parent');
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw refuse(path, 'too-long');
    }
    return names;
  }

  /** Locates a path, following symlinks all the way (read, write, readdir, stat, mkdir). */
  async locate(path: string): Promise<Located> {
    const names = this.names(path);
    return this.locateNames(path, names);
  }

  /**
   * Locates a path's entry without following a final symlink (remove, move): its parent is
   * followed, the last name is taken as it is. The root itself is refused.
   */
  async locateEntry(path: string): Promise<Located> {
    const names = this.names(path);
    if (names.length === 0) throw refuse(path, 'root');
    const parent = await this.locateNames(path, names.slice(0, -1));
    const name = names[names.length - 1] as string;
    const real = join(parent.real, name);
    let exists = false;
    if (parent.exists) {
      try {
        await lstat(real);
        exists = true;
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw fromErrno(error, path);
      }
    }
    return { path: names.join('/'), names, real, exists };
  }

  /** The client path of a real path inside the root. */
  clientPath(real: string): string {
    if (real === this.real) return '.';
    const prefix = this.real.endsWith(sep) ? this.real : this.real + sep;
    return real.slice(prefix.length).split(sep).join('/');
  }

  /** Whether a real path lies inside the root (or is it). */
  contains(real: string): boolean {
    if (real === this.real) return true;
    return real.startsWith(this.real.endsWith(sep) ? this.real : this.real + sep);
  }

  /**
   * Opens a located file by its real path without following a symlink there, and checks where the
   * descriptor really points before handing it over. `flags` are `fs.constants` open flags.
   * `O_NONBLOCK` too, so a FIFO without a writer cannot hang the open (regular files ignore it).
   */
  async open(located: Located, flags: number, mode?: number): Promise<FileHandle> {
    const opening = (path: string) =>
      open(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode).catch((error: unknown) => {
        throw fromErrno(error, located.path);
      });
    // Through the held parent, so even O_CREAT cannot land outside the root.
    const handle =
      located.names.length === 0 ? await opening(located.real) : await this.holdEntry(located, opening);
    try {
      const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
      // Without /proc (not Linux) the check before the open is all there is; see docs/files.md.
      if (real !== undefined && !this.contains(real)) throw refuse(located.path, 'symlink');
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  /**
   * Runs `run` with a path that reaches the directory `real` through a descriptor held open on it
   * (`/proc/self/fd/N`), after checking where that descriptor really points. Whatever is swapped
   * on the way to `real` afterwards, paths under the returned one stay in the directory that was
   * checked: `openat` semantics for path-based calls (rm, rename, mkdir, readdir, lstat). Without
   * `/proc` (not Linux), `run` gets `real` itself.
   */
  async hold<T>(real: string, path: string, run: (through: string) => Promise<T>): Promise<T> {
    const handle = await open(real, DIRECTORY_FLAGS).catch(async (error: unknown) => {
      // O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR: a link swapped in since the check.
      if (errnoOf(error) === 'ENOTDIR' && (await lstat(real).catch(() => undefined))?.isSymbolicLink())
        throw refuse(path, 'symlink');
      throw fromErrno(error, path);
    });
    try {
      const held = `/proc/self/fd/${handle.fd}`;
      const actual = await readlink(held).catch(() => undefined);
      if (actual === undefined) return await run(real);
      if (!this.contains(actual)) throw refuse(path, 'symlink');
      return await run(held);
    } finally {
      await handle.close();
    }
  }

  /**
   * The entry at a located path as it is now, not followed: `lstat` through its held parent. For
   * an entry located by `locateEntry` (remove, move) a symlink is the entry itself.
   */
  async entryStats(located: Located): Promise<Stats> {
    const look = (entry: string) =>
      lstat(entry).catch((error: unknown) => {
        throw fromErrno(error, located.path);
      });
    return located.names.length === 0 ? look(located.real) : this.holdEntry(located, look);
  }

  /**
   * `entryStats` for a path located by `locate` (stat, mkdir, listed links): it has no symlink
   * left in it, so a symlink there now was swapped in since, and is refused, not followed.
   */
  async inspect(located: Located): Promise<Stats> {
    const info = await this.entryStats(located);
    if (info.isSymbolicLink()) throw refuse(located.path, 'symlink');
    return info;
  }

  /**
   * The entry at `names` under the root as it is now, reached one directory at a time through
   * held descriptors (`O_DIRECTORY | O_NOFOLLOW`), following no symlink at all: `undefined` if
   * nothing is there, a `PATH_OUTSIDE_ROOT` refusal if a component is a symlink. For paths that
   * come from the kernel rather than a client (the watcher's), where a swapped directory could
   * otherwise make an outside entry look like one of the root's. At most two descriptors are held.
   */
  async lookWithin(names: readonly string[]): Promise<Stats | undefined> {
    const path = names.join('/');
    // Names from the kernel are plain names; anything else is not an entry of the tree.
    if (names.some((name) => name === '' || name === '.' || name === '..' || name.includes(sep)))
      return undefined;
    let handle = await open(this.real, DIRECTORY_FLAGS);
    try {
      for (let i = 0; i < names.length; i++) {
        const through = PROC_FD ? `/proc/self/fd/${handle.fd}` : join(this.real, ...names.slice(0, i));
        const entry = join(through, names[i] as string);
        if (i === names.length - 1) {
          return await lstat(entry).catch((error: unknown) => {
            if (errnoOf(error) === 'ENOENT') return undefined;
            throw fromErrno(error, path);
          });
        }
        let next: FileHandle;
        try {
          next = await open(entry, DIRECTORY_FLAGS);
        } catch (error) {
          const code = errnoOf(error);
          if (code === 'ENOENT') return undefined;
          if (code !== 'ELOOP' && code !== 'ENOTDIR') throw fromErrno(error, path);
          const info = await lstat(entry).catch(() => undefined);
          if (info?.isSymbolicLink()) throw refuse(path, 'symlink');
          return undefined;
        }
        await handle.close();
        handle = next;
      }
      return await handle.stat();
    } finally {
      await handle.close();
    }
  }

  /** `hold` on the directory that contains a located entry; `run` gets the entry's path under it. */
  holdEntry<T>(located: Located, run: (through: string) => Promise<T>): Promise<T> {
    return this.hold(dirname(located.real), located.path, (directory) =>
      run(join(directory, basename(located.real))),
    );
  }

  /**
   * Creates the missing directories of `located` (all of its names if `self`, else all but the
   * last), one name at a time, refusing a symlink found on the way. Returns the client paths created.
   */
  async makeDirectories(located: Located, self: boolean): Promise<string[]> {
    const created: string[] = [];
    const names = self ? located.names : located.names.slice(0, -1);
    let real = this.real;
    for (let i = 0; i < names.length; i++) {
      real = join(real, names[i] as string);
      const info = await lstat(real).catch((error: unknown) => {
        if (errnoOf(error) === 'ENOENT') return undefined;
        throw fromErrno(error, located.path);
      });
      if (info?.isSymbolicLink()) {
        // An in-root link to a directory is fine: carry on from where it really leads.
        const target = await realpath(real).catch(() => undefined);
        if (target === undefined || !this.contains(target)) throw refuse(located.path, 'symlink');
        real = target;
        continue;
      }
      if (info) {
        if (!info.isDirectory())
          throw new RequestError('NOT_A_DIRECTORY', `${quote(located.path)}: a component is not a directory`);
        continue;
      }
      try {
        await this.hold(dirname(real), located.path, (parent) => mkdir(join(parent, basename(real))));
        created.push(names.slice(0, i + 1).join('/'));
      } catch (error) {
        // Someone made it meanwhile: check it again as an existing entry.
        if (
          errnoOf(error) !== 'EEXIST' &&
          !(error instanceof RequestError && error.code === 'ALREADY_EXISTS')
        )
          throw fromErrno(error, located.path);
        i--;
        real = join(real, '..');
      }
    }
    return created;
  }

  private async locateNames(path: string, names: readonly string[]): Promise<Located> {
    const normalised = names.length === 0 ? '.' : names.join('/');
    // The deepest ancestor that resolves; everything below it does not exist (yet).
    let depth = names.length;
    let real: string;
    for (;;) {
      try {
        real = await realpath(join(this.real, ...names.slice(0, depth)));
        break;
      } catch (error) {
        const code = errnoOf(error);
        if ((code === 'ENOENT' || code === 'ENOTDIR') && depth > 0) {
          depth--;
          continue;
        }
        if (code === 'ELOOP') throw refuse(path, 'symlink');
        throw fromErrno(error, path);
      }
    }
    if (!this.contains(real)) throw refuse(path, 'symlink');
    if (depth === names.length) return { path: normalised, names, real, exists: true };
    const next = join(real, names[depth] as string);
    try {
      const info = await lstat(next);
      // It is there but does not resolve: a symlink to nowhere (or a loop). Never create through it.
      if (info.isSymbolicLink()) throw refuse(path, 'symlink');
    } catch (error) {
      if (error instanceof RequestError) throw error;
      const code = errnoOf(error);
      if (code === 'ENOTDIR')
        throw new RequestError('NOT_A_DIRECTORY', `${quote(path)}: a component is not a directory`);
      if (code !== 'ENOENT') throw fromErrno(error, path);
    }
    return { path: normalised, names, real: join(real, ...names.slice(depth)), exists: false };
  }
}

/** A `PATH_OUTSIDE_ROOT` error for a client path. */
export function refuse(path: string, reason: PathRefusal): RequestError {
  return new RequestError('PATH_OUTSIDE_ROOT', `${quote(path)} ${REFUSALS[reason]}`, { reason });
}

/**
 * Turns a file-system error into the service's request error, naming the client's path only.
 * Errors with no request meaning (EIO, ENOSPC, EMFILE…) are returned unchanged: they are ours,
 * and the server logs them under a trace id. Everything a request or a race with another process
 * can cause is mapped here (or, for rename, by the move handler).
 */
export function fromErrno(error: unknown, path: string): unknown {
  if (error instanceof RequestError) return error;
  switch (errnoOf(error)) {
    case 'ENOENT':
      return new RequestError('NOT_FOUND', `${quote(path)} does not exist`);
    case 'ENOTDIR':
      return new RequestError('NOT_A_DIRECTORY', `${quote(path)}: a component is not a directory`);
    case 'EISDIR':
      return new RequestError('IS_A_DIRECTORY', `${quote(path)} is a directory`);
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new RequestError('ALREADY_EXISTS', `${quote(path)} already exists`);
    case 'ELOOP':
      return refuse(path, 'symlink');
    case 'ENAMETOOLONG':
      return refuse(path, 'too-long');
    case 'ENXIO':
    case 'ENODEV':
      // A FIFO with no reader, a socket, a device: not a file this service reads or writes.
      return notRegular(path);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new RequestError('PERMISSION_DENIED', `${quote(path)}: permission denied`);
    case 'EBUSY':
    case 'ETXTBSY':
      // A mount point, or a program running from the file: the request's target, not our fault.
      return new RequestError(
        'INVALID_INPUT',
        `${quote(path)} is busy (a mount point, or a running program)`,
      );
    default:
      return error;
  }
}

/** The error for a path that is neither a regular file nor a directory (a FIFO, a socket, a device). */
export function notRegular(path: string): RequestError {
  return new RequestError('INVALID_INPUT', `${quote(path)} is not a regular file`);
}

/** The errno code of a Node file-system error. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** A client path as it appears in messages: JSON-quoted, cut to 200 characters. */
export function quote(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}
