import { z } from 'zod';
import { command, error, event, service } from '../../protocol/define.js';

/** A path as the client names it: relative to the root, `/`-separated; `.` is the root itself. */
const FilePath = z.string();

/** What kind of thing a path names (goval's `File.Type`: REGULAR or DIRECTORY). */
export const FileType = z.enum(['file', 'directory']);
export type FileType = z.infer<typeof FileType>;

/** A path and its kind (goval's `File` without content). */
export const FileEntry = z.object({ path: FilePath, type: FileType });
export type FileEntry = z.infer<typeof FileEntry>;

/** What `stat` answers (goval's `StatResult`). `fileMode` is octal, e.g. `"0644"`; `modTime` is unix seconds. */
export const FileStat = z.object({
  exists: z.boolean(),
  type: FileType,
  size: z.number().int().nonnegative(),
  fileMode: z.string(),
  modTime: z.number().int(),
});
export type FileStat = z.infer<typeof FileStat>;

/** A change under the root (goval's `FileEvent`); `dest` is set for `move` only. */
export const FileEvent = z.object({
  op: z.enum(['create', 'move', 'remove', 'modify']),
  file: FileEntry,
  dest: FileEntry.optional(),
});
export type FileEvent = z.infer<typeof FileEvent>;

/**
 * Files inside one root directory, which no path escapes: `..`, absolute paths, NUL bytes and
 * symlinks that lead out are refused with `PATH_OUTSIDE_ROOT`. Contents travel as base64.
 *
 * @example
 * const api = defineProtocol({ name: 'ide', version: '1.0.0', resources: {}, services: { files: filesService } });
 */
export const filesService = service({
  description: 'Files inside a sandboxed root directory',
  commands: {
    read: command({
      input: z.object({ path: FilePath }),
      output: z.object({ path: FilePath, content: z.base64() }),
      description: 'The contents of a file, base64',
    }),
    write: command({
      input: z.object({ path: FilePath, content: z.base64() }),
      output: z.null(),
      description: 'Creates or replaces a file, and any missing parent directories',
    }),
    remove: command({
      input: z.object({ path: FilePath }),
      output: z.null(),
      description: 'Removes a file, a symlink (not its target) or a directory tree',
    }),
    mkdir: command({
      input: z.object({ path: FilePath }),
      output: z.null(),
      description: 'Creates a directory and any missing parents; an existing directory is fine',
    }),
    readdir: command({
      input: z.object({ path: FilePath }),
      output: z.object({ files: z.array(FileEntry) }),
      description: "A directory's entries by name, sorted",
    }),
    stat: command({
      input: z.object({ path: FilePath }),
      output: FileStat,
      description: 'Whether a path exists, and its kind, size, mode and modification time',
    }),
    move: command({
      input: z.object({ oldPath: FilePath, newPath: FilePath }),
      output: z.null(),
      description: 'Renames a file or directory; the destination must not exist',
    }),
    subscribe: command({
      input: z.object({ paths: z.array(FilePath).max(1024) }),
      output: z.null(),
      description: "Replaces the session's watched paths; `fileEvent` reports changes at or under them",
    }),
  },
  events: {
    fileEvent: event(FileEvent, { description: 'A change at or under a path the session subscribed to' }),
  },
  errors: {
    PATH_OUTSIDE_ROOT: error(
      'The path leaves the root, or is not a valid path inside it',
      z.object({ reason: z.string() }),
    ),
    NOT_FOUND: error('No such file or directory'),
    NOT_A_DIRECTORY: error('A path component is not a directory'),
    IS_A_DIRECTORY: error('The path is a directory'),
    ALREADY_EXISTS: error('The path already exists'),
    CHANGED: error('Another process changed the tree while a recursive remove walked it'),
  },
});

/** The files service's definition type. */
export type FilesService = typeof filesService;
