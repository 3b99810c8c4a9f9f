import { constants } from 'node:fs';
import { lstat, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RequestError } from '../../protocol/errors.js';
import type { ServiceImplementation, ServiceInstance } from '../../server/service-types.js';
import { errnoOf, fromErrno, type Located, notRegular, quote, SandboxRoot } from './root.js';
import type { FileEntry, FileStat, FilesService, FileType } from './service.js';
import { FileSubscriptions } from './subscriptions.js';
import { TreeWalk, type WalkLimits } from './tree.js';
import { RootWatcher } from './watcher.js';

/** How a files server behaves. */
export interface FilesOptions {
  /** The directory every path is inside; it must exist. */
  readonly root: string;
  /**
   * Also report changes made by others (editors, builds, programs run by exec) through a recursive
   * `fs.watch` on the root, while anyone is subscribed. Default false: only changes made through
   * the service are reported.
   */
  readonly watch?: boolean;
  /** Largest file `read` returns, in bytes; a larger one fails with the built-in `TOO_LARGE`. */
  readonly maxReadBytes?: number;
  /**
   * Deepest a recursive walk (remove of a directory) goes below where it starts; each level holds
   * one directory descriptor open. Past it the call fails with `TOO_LARGE`.
   */
  readonly maxWalkDepth?: number;
  /**
   * Most entries one walk lists: a recursive remove, or one `readdir`. Bounds the names held in
   * memory at once; past it the call fails with `TOO_LARGE` (a remove keeps what it removed).
   */
  readonly maxWalkEntries?: number;
}

/** The defaults of `files()`'s options. */
export const FILES_DEFAULTS = {
  /** 16 MiB: a file larger than that is not sent in one message. */
  maxReadBytes: 16 * 1024 * 1024,
  /** 128 levels: deeper than real trees go, and 128 descriptors at most held by one walk. */
  maxWalkDepth: 128,
  /** 100,000 entries: a large `node_modules`; bounds the names one walk holds in memory. */
  maxWalkEntries: 100_000,
} as const;

/** One instance's state: the instance itself, so handlers can reach the shared subscriptions. */
export interface FilesState {
  readonly instance: ServiceInstance<FilesService>;
}

/**
 * The files service over one root directory. Every instance made by the same `files()` call
 * shares the root and its subscriptions, so a write through one channel is reported to the
 * subscribers of every channel. Changes made by others are reported too with `watch: true`.
 *
 * @example
 * createServer({ protocol: api, handlers: {}, services: { files: files({ root: '/srv/project' }) } });
 */
export function files(options: FilesOptions): ServiceImplementation<FilesService, FilesState> & {
  /** The sandbox every path goes through. */
  readonly root: SandboxRoot;
} {
  const root = new SandboxRoot(options.root);
  const maxReadBytes = options.maxReadBytes ?? FILES_DEFAULTS.maxReadBytes;
  const limits: WalkLimits = {
    maxDepth: options.maxWalkDepth ?? FILES_DEFAULTS.maxWalkDepth,
    maxEntries: options.maxWalkEntries ?? FILES_DEFAULTS.maxWalkEntries,
  };
  const subscriptions = new FileSubscriptions();
  const watcher = options.watch ? new RootWatcher(root, (event) => subscriptions.publish(event)) : undefined;
  /** Runs a change of the service's own, which the watcher must not report again. */
  const changing = <T>(paths: readonly string[], run: () => Promise<T>): Promise<T> =>
    watcher ? watcher.change(paths, run) : run();
  const watchWhileSubscribed = () => {
    if (subscriptions.empty) watcher?.stop();
    else watcher?.start();
  };

  return {
    root,
    create: (instance) => ({ instance }),
    detached: ({ instance, session }) => {
      subscriptions.forgetSession(instance, session.id);
      watchWhileSubscribed();
    },
    dispose: (_state, instance) => {
      subscriptions.forgetInstance(instance);
      watchWhileSubscribed();
    },
    handlers: {
      async read({ path }) {
        const located = await root.locate(path);
        if (!located.exists) throw new RequestError('NOT_FOUND', `${quote(path)} does not exist`);
        const handle = await root.open(located, constants.O_RDONLY);
        try {
          const info = await handle.stat();
          if (info.isDirectory()) throw new RequestError('IS_A_DIRECTORY', `${quote(path)} is a directory`);
          if (!info.isFile()) throw notRegular(path);
          if (info.size > maxReadBytes)
            throw new RequestError('TOO_LARGE', `${quote(path)} is larger than ${maxReadBytes} bytes`);
          const content = await handle.readFile();
          return { path: located.path, content: content.toString('base64') };
        } finally {
          await handle.close();
        }
      },

      async write({ path, content }) {
        const located = await root.locate(path);
        const created = await changing([located.path], async () => {
          const created = located.exists ? [] : await root.makeDirectories(located, false);
          const handle = await root.open(located, constants.O_WRONLY | constants.O_CREAT, 0o666);
          try {
            const info = await handle.stat();
            if (info.isDirectory()) throw new RequestError('IS_A_DIRECTORY', `${quote(path)} is a directory`);
            if (!info.isFile()) throw notRegular(path);
            // Truncate only after the descriptor was checked to be inside the root.
            await handle.truncate(0);
            await handle.writeFile(Buffer.from(content, 'base64'));
          } finally {
            await handle.close();
          }
          return created;
        });
        for (const directory of created) subscriptions.publish(entry('create', directory, 'directory'));
        subscriptions.publish(entry(located.exists ? 'modify' : 'create', located.path, 'file'));
        return null;
      },

      async remove({ path }) {
        const located = await root.locateEntry(path);
        if (!located.exists) throw new RequestError('NOT_FOUND', `${quote(path)} does not exist`);
        let type: FileType = 'file';
        // The whole tree is walked through held descriptors (tree.ts); a symlink in it is
        // unlinked, never followed, and a directory swapped for one is refused.
        await changing([located.path], () =>
          root.hold(dirname(located.real), located.path, async (parent) => {
            const name = basename(located.real);
            const info = await lstat(join(parent, name)).catch((error: unknown) => {
              throw fromErrno(error, located.path);
            });
            if (info.isDirectory()) type = 'directory';
            await new TreeWalk(limits).remove(parent, name, located.path, info.isDirectory());
          }),
        );
        subscriptions.publish(entry('remove', located.path, type));
        return null;
      },

      async mkdir({ path }) {
        const located = await root.locate(path);
        if (located.exists) {
          const info = await root.inspect(located);
          if (info.isDirectory()) return null;
          throw new RequestError('ALREADY_EXISTS', `${quote(path)} already exists and is not a directory`);
        }
        const created = await changing([located.path], () => root.makeDirectories(located, true));
        for (const directory of created) subscriptions.publish(entry('create', directory, 'directory'));
        return null;
      },

      async readdir({ path }) {
        const located = await root.locate(path);
        if (!located.exists) throw new RequestError('NOT_FOUND', `${quote(path)} does not exist`);
        const entries = await root.hold(located.real, path, (directory) =>
          new TreeWalk(limits).list(directory, path),
        );
        const listed: FileEntry[] = [];
        for (const dirent of entries) {
          let type: FileType = dirent.directory ? 'directory' : 'file';
          if (dirent.symlink) type = await linkType(root, join(located.real, dirent.name));
          listed.push({ path: dirent.name, type });
        }
        listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        return { files: listed };
      },

      async stat({ path }) {
        let located: Located;
        try {
          located = await root.locate(path);
        } catch (error) {
          // `a.txt/b` simply does not exist; only refusals are errors.
          if (error instanceof RequestError && error.code === 'NOT_A_DIRECTORY') return missing();
          throw error;
        }
        if (!located.exists) return missing();
        const info = await root.inspect(located);
        return {
          exists: true,
          type: info.isDirectory() ? 'directory' : 'file',
          size: info.size,
          fileMode: fileMode(info.mode),
          modTime: Math.floor(info.mtimeMs / 1000),
        };
      },

      async move({ oldPath, newPath }) {
        const from = await root.locateEntry(oldPath);
        const to = await root.locateEntry(newPath);
        if (!from.exists) throw new RequestError('NOT_FOUND', `${quote(oldPath)} does not exist`);
        if (to.exists) throw new RequestError('ALREADY_EXISTS', `${quote(newPath)} already exists`);
        if (to.real.startsWith(`${from.real}/`))
          throw new RequestError('INVALID_INPUT', `cannot move ${quote(oldPath)} into itself`);
        const type = await entryType(root, from);
        const created = await changing([from.path, to.path], async () => {
          const created = await root.makeDirectories(to, false);
          await root.holdEntry(from, (source) =>
            root.holdEntry(to, (target) =>
              rename(source, target).catch((error: unknown) => {
                throw renameError(error, oldPath, newPath);
              }),
            ),
          );
          return created;
        });
        for (const directory of created) subscriptions.publish(entry('create', directory, 'directory'));
        subscriptions.publish({ op: 'move', file: { path: from.path, type }, dest: { path: to.path, type } });
        return null;
      },

      async subscribe({ paths }, ctx) {
        const normalised: string[] = [];
        for (const path of paths) normalised.push((await root.locate(path)).path);
        subscriptions.set(ctx.instance, ctx.session.id, normalised);
        watchWhileSubscribed();
        return null;
      },
    },
  };
}

/** A `fileEvent` about one path. */
function entry(op: 'create' | 'remove' | 'modify', path: string, type: FileType) {
  return { op, file: { path, type } } as const;
}

/** What `stat` answers for a path with nothing there. */
function missing(): FileStat {
  return { exists: false, type: 'file', size: 0, fileMode: '', modTime: 0 };
}

/** Permission bits as goval shows them: four octal digits, e.g. `0644`, `1777`. */
export function fileMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The kind of an entry itself: a symlink counts as a file (remove and move act on the link). */
async function entryType(root: SandboxRoot, located: Located): Promise<FileType> {
  return (await root.entryStats(located)).isDirectory() ? 'directory' : 'file';
}

/**
 * A move is one `rename` (never a copy and a walk), so its failures are the kernel's about that
 * rename; each is the caller's: the tree changed since the checks, or the move crosses a mount.
 */
function renameError(error: unknown, oldPath: string, newPath: string): unknown {
  switch (errnoOf(error)) {
    case 'EINVAL':
      // The checks saw no nesting; a swap since made the destination lie inside the source.
      return new RequestError('INVALID_INPUT', `cannot move ${quote(oldPath)} into itself`);
    case 'EXDEV':
      return new RequestError(
        'INVALID_INPUT',
        `cannot move ${quote(oldPath)} to ${quote(newPath)}: they are on different file systems`,
      );
    case 'EBUSY':
      return new RequestError(
        'INVALID_INPUT',
        `cannot move ${quote(oldPath)}: it is in use as a mount point`,
      );
    case 'ENOENT':
      return fromErrno(error, oldPath);
    default:
      return fromErrno(error, newPath);
  }
}

/** A listed symlink is a directory if it leads to one inside the root; anything else is a file. */
async function linkType(root: SandboxRoot, real: string): Promise<FileType> {
  try {
    const located = await root.locate(root.clientPath(real));
    if (!located.exists) return 'file';
    return (await root.inspect(located)).isDirectory() ? 'directory' : 'file';
  } catch {
    // Refused or gone: listed by name only, as a file that cannot be opened.
    return 'file';
  }
}
