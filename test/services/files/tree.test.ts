import { readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/protocol/errors.js';
import type { Session } from '../../../src/server/service-types.js';
import { FILES_DEFAULTS, type FilesState, files, SandboxRoot } from '../../../src/services/files/index.js';
import { fromErrno } from '../../../src/services/files/root.js';
import type { FilesService } from '../../../src/services/files/service.js';
import { TreeWalk } from '../../../src/services/files/tree.js';
import { LocalInstance, rejection } from './service-context.js';

/**
 * The recursive walk (tree.ts): bounded, through held descriptors, every descriptor closed.
 * The swap race itself, with a real swapping process, is in race.test.ts.
 */
let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'files-tree-'));
  root = join(base, 'root');
  await mkdir(root);
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside/keep.txt'), 'outside');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A service over the root, with its handlers bound to one session. */
async function serve(options: { maxWalkDepth?: number; maxWalkEntries?: number } = {}) {
  const service = files({ root, ...options });
  const local: LocalInstance<FilesService, FilesState> = await LocalInstance.start(service);
  const session: Session = await local.attach();
  return {
    remove: async (path: string) => service.handlers.remove({ path }, local.context(session)),
    readdir: async (path: string) => service.handlers.readdir({ path }, local.context(session)),
    mkdir: async (path: string) => service.handlers.mkdir({ path }, local.context(session)),
  };
}

/** Makes `levels` nested directories `d/d/…` under `dir`, with one file at the bottom. */
async function nest(dir: string, levels: number): Promise<void> {
  const bottom = join(dir, ...Array.from({ length: levels }, () => 'd'));
  await mkdir(bottom, { recursive: true });
  await writeFile(join(bottom, 'leaf.txt'), '');
}

const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('files: recursive remove walks the tree itself', () => {
  it('removes a tree of directories, files and links, unlinking links without following them', async () => {
    const call = await serve();
    await nest(join(root, 't'), 5);
    await writeFile(join(root, 't/a.txt'), 'a');
    await symlink(join(base, 'outside'), join(root, 't/d/out'));
    await symlink('../a.txt', join(root, 't/d/in'));
    expect(await call.remove('t')).toBe(null);
    expect(await readdir(root)).toEqual([]);
    expect(await readFile(join(base, 'outside/keep.txt'), 'utf8')).toBe('outside');
  });

  it(`refuses a tree deeper than maxWalkDepth (default ${FILES_DEFAULTS.maxWalkDepth}) with TOO_LARGE`, async () => {
    const call = await serve({ maxWalkDepth: 3 });
    await nest(join(root, 'ok'), 3);
    expect(await call.remove('ok')).toBe(null);
    await nest(join(root, 'deep'), 4);
    const error = await rejection(call.remove('deep'));
    expect([error.code, error.message, error.data]).toEqual([
      'TOO_LARGE',
      '"deep/d/d/d/d" is more than 3 levels deep (maxWalkDepth)',
      { limit: 'maxWalkDepth', max: 3 },
    ]);
    // Nothing below the bound was touched; the walk never went there.
    expect((await lstat(join(root, 'deep/d/d/d/d/leaf.txt'))).isFile()).toBe(true);
  });

  it('refuses a tree of more than maxWalkEntries entries with TOO_LARGE, counting every listed entry', async () => {
    const call = await serve({ maxWalkEntries: 10 });
    await mkdir(join(root, 'big/sub'), { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(join(root, `big/sub/f${i}`), '');
    const error = await rejection(call.remove('big'));
    expect([error.code, error.message, error.data]).toEqual([
      'TOO_LARGE',
      '"big/sub" holds more than 10 entries (maxWalkEntries)',
      { limit: 'maxWalkEntries', max: 10 },
    ]);
    // Listing stops at the bound, before removing anything in that directory.
    expect((await readdir(join(root, 'big/sub'))).length).toBe(12);
    // `sub` itself and its 9 files: 10 entries, within the bound.
    for (const name of ['f0', 'f1', 'f2']) await rm(join(root, 'big/sub', name));
    expect(await call.remove('big')).toBe(null);
    expect(await readdir(root)).toEqual([]);
  });

  it('bounds readdir by maxWalkEntries too', async () => {
    const call = await serve({ maxWalkEntries: 3 });
    for (let i = 0; i < 4; i++) await writeFile(join(root, `f${i}`), '');
    const error = await rejection(call.readdir('.'));
    expect([error.code, error.data]).toEqual(['TOO_LARGE', { limit: 'maxWalkEntries', max: 3 }]);
  });
});

describe.runIf(process.platform === 'linux')('files: the walk through held descriptors', () => {
  it('refuses a directory that is a symlink when opened (swapped after the listing), unlinking nothing', async () => {
    const sandbox = new SandboxRoot(root);
    await mkdir(join(root, 't'));
    await symlink(join(base, 'outside'), join(root, 't/sub'));
    // As the listing saw it: a directory. It is a symlink by the time it is opened.
    const error = await rejection(
      sandbox.hold(join(root, 't'), 't', (through) =>
        new TreeWalk(FILES_LIMITS).remove(through, 'sub', 't/sub', true),
      ),
    );
    expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
    expect(await readdir(join(base, 'outside'))).toEqual(['keep.txt']);
    expect((await lstat(join(root, 't/sub'))).isSymbolicLink()).toBe(true);
  });

  it('answers CHANGED for a directory replaced by a file since the listing', async () => {
    const sandbox = new SandboxRoot(root);
    await mkdir(join(root, 't'));
    await writeFile(join(root, 't/was-a-dir'), '');
    const replaced = await rejection(
      sandbox.hold(join(root, 't'), 't', (through) =>
        new TreeWalk(FILES_LIMITS).remove(through, 'was-a-dir', 't/was-a-dir', true),
      ),
    );
    expect([replaced.code, replaced.message]).toEqual([
      'CHANGED',
      '"t/was-a-dir" changed while it was being walked (an entry added, or a directory replaced)',
    ]);
  });

  it('mkdir over an existing path swapped for a symlink answers a request error, not INTERNAL', async () => {
    const sandbox = new SandboxRoot(root);
    await mkdir(join(root, 'dir/sub'), { recursive: true });
    const located = await sandbox.locate('dir/sub');
    await rename(join(root, 'dir'), join(root, 'dir-was'));
    await symlink(join(base, 'outside'), join(root, 'dir'));
    const error = await rejection(sandbox.inspect(located));
    expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
  });

  it('closes every descriptor it opened, on success and on every refusal', async () => {
    const call = await serve({ maxWalkDepth: 3, maxWalkEntries: 50 });
    const before = openDescriptors();
    for (let round = 0; round < 5; round++) {
      await nest(join(root, 'ok'), 3);
      await call.remove('ok');
      await nest(join(root, 'deep'), 5);
      expect((await rejection(call.remove('deep'))).code).toBe('TOO_LARGE');
      await mkdir(join(root, 'wide'), { recursive: true });
      for (let i = 0; i < 60; i++) await writeFile(join(root, `wide/f${i}`), '');
      expect((await rejection(call.remove('wide'))).code).toBe('TOO_LARGE');
      expect((await rejection(call.readdir('wide'))).code).toBe('TOO_LARGE');
      expect((await rejection(call.remove('missing'))).code).toBe('NOT_FOUND');
      await rm(join(root, 'deep'), { recursive: true });
      await rm(join(root, 'wide'), { recursive: true });
    }
    expect(openDescriptors()).toBe(before);
  });
});

const FILES_LIMITS = { maxDepth: FILES_DEFAULTS.maxWalkDepth, maxEntries: FILES_DEFAULTS.maxWalkEntries };

describe('files: what the watcher looks at is reached without following links', () => {
  it('sees entries of the root, nothing for a missing one, and refuses a path through a symlink', async () => {
    const sandbox = new SandboxRoot(root);
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir/f.txt'), 'four');
    await symlink(join(base, 'outside'), join(root, 'lnk'));
    await symlink('dir', join(root, 'in-root-link'));
    expect((await sandbox.lookWithin(['dir', 'f.txt']))?.size).toBe(4);
    expect((await sandbox.lookWithin(['dir']))?.isDirectory()).toBe(true);
    expect((await sandbox.lookWithin(['lnk']))?.isSymbolicLink()).toBe(true);
    expect(await sandbox.lookWithin(['dir', 'missing', 'x'])).toBe(undefined);
    expect(await sandbox.lookWithin(['dir', 'f.txt', 'x'])).toBe(undefined);
    // Not plain names: never handed to the kernel (`join` would fold `..` into the path).
    for (const names of [['..', 'outside'], ['dir', '..', '..'], ['.'], ['dir', ''], ['a/b']])
      expect(await sandbox.lookWithin(names)).toBe(undefined);
    for (const names of [
      ['lnk', 'keep.txt'],
      ['in-root-link', 'f.txt'],
    ]) {
      const error = await rejection(sandbox.lookWithin(names));
      expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
    }
  });
});

describe('files: every errno a request or a race can cause is a request error', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['ENOENT', 'NOT_FOUND'],
    ['ENOTDIR', 'NOT_A_DIRECTORY'],
    ['EISDIR', 'IS_A_DIRECTORY'],
    ['EEXIST', 'ALREADY_EXISTS'],
    ['ENOTEMPTY', 'ALREADY_EXISTS'],
    ['ELOOP', 'PATH_OUTSIDE_ROOT'],
    ['ENAMETOOLONG', 'PATH_OUTSIDE_ROOT'],
    ['ENXIO', 'INVALID_INPUT'],
    ['ENODEV', 'INVALID_INPUT'],
    ['EACCES', 'PERMISSION_DENIED'],
    ['EPERM', 'PERMISSION_DENIED'],
    ['EROFS', 'PERMISSION_DENIED'],
    ['EBUSY', 'INVALID_INPUT'],
    ['ETXTBSY', 'INVALID_INPUT'],
  ])('%s is %s', (code, expected) => {
    const error = fromErrno(errno(code), 'a/b');
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).code).toBe(expected);
    expect((error as RequestError).message).toContain('"a/b"');
  });

  it.each(['EIO', 'ENOSPC', 'EMFILE'])('%s stays the server’s own (INTERNAL with a trace id)', (code) => {
    const error = errno(code);
    expect(fromErrno(error, 'a/b')).toBe(error);
  });
});
