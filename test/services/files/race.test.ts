import { constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandboxRoot } from '../../../src/services/files/index.js';
import { rejection } from './service-context.js';

/**
 * The race the open-time check closes: a path is located while it is inside the root, then a
 * directory on it is swapped for a symlink to the outside before the file is opened.
 */
let base: string;
let root: string;
let sandbox: SandboxRoot;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'files-race-'));
  root = join(base, 'root');
  await mkdir(join(root, 'dir'), { recursive: true });
  await writeFile(join(root, 'dir/file.txt'), 'inside');
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside/file.txt'), 'outside');
  sandbox = new SandboxRoot(root);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Swaps `dir` for a symlink to the outside directory, as a racing process would. */
async function swap(): Promise<void> {
  await rename(join(root, 'dir'), join(root, 'dir-was'));
  await symlink(join(base, 'outside'), join(root, 'dir'));
}

describe.skipIf(process.platform !== 'linux')(
  'files: a directory swapped for a symlink after the check',
  () => {
    it('is caught when opening to read', async () => {
      const located = await sandbox.locate('dir/file.txt');
      await swap();
      const error = await rejection(sandbox.open(located, constants.O_RDONLY));
      expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
    });

    it('is caught when opening to write, before the outside file is truncated', async () => {
      const located = await sandbox.locate('dir/file.txt');
      await swap();
      const error = await rejection(sandbox.open(located, constants.O_WRONLY | constants.O_CREAT));
      expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
      expect(await readFile(join(base, 'outside/file.txt'), 'utf8')).toBe('outside');
    });

    it('creates nothing outside when a new file is opened through a swapped directory', async () => {
      const located = await sandbox.locate('dir/new.txt');
      await swap();
      const error = await rejection(sandbox.open(located, constants.O_WRONLY | constants.O_CREAT));
      expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
      await expect(readFile(join(base, 'outside/new.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('is caught before a remove, a move or a listing through the held directory', async () => {
      await mkdir(join(root, 'top/dir'), { recursive: true });
      await writeFile(join(root, 'top/dir/file.txt'), 'inside');
      await mkdir(join(base, 'outside/dir'));
      await writeFile(join(base, 'outside/dir/file.txt'), 'outside');
      const entry = await sandbox.locateEntry('top/dir/file.txt');
      const listed = await sandbox.locate('top/dir');
      // An ancestor swapped: the held descriptor points outside, and the check on it says so.
      await rename(join(root, 'top'), join(root, 'top-was'));
      await symlink(join(base, 'outside'), join(root, 'top'));
      const removal = await rejection(sandbox.holdEntry(entry, (path) => rm(path)));
      const move = await rejection(
        sandbox.holdEntry(entry, (path) => rename(path, join(root, 'stolen.txt'))),
      );
      const listing = await rejection(sandbox.hold(listed.real, listed.path, async () => undefined));
      for (const error of [removal, move, listing])
        expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
      expect(await readFile(join(base, 'outside/dir/file.txt'), 'utf8')).toBe('outside');
    });

    it('a final name swapped for a symlink is not followed at all (O_NOFOLLOW)', async () => {
      const located = await sandbox.locate('dir/file.txt');
      await rm(join(root, 'dir/file.txt'));
      await symlink(join(base, 'outside/file.txt'), join(root, 'dir/file.txt'));
      const error = await rejection(sandbox.open(located, constants.O_RDONLY));
      expect([error.code, error.data]).toEqual(['PATH_OUTSIDE_ROOT', { reason: 'symlink' }]);
    });
  },
);
