import { constants, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/protocol/errors.js';
import type { Session } from '../../../src/server/service-types.js';
import { type FilesState, files, SandboxRoot } from '../../../src/services/files/index.js';
import type { FilesService } from '../../../src/services/files/service.js';
import { LocalInstance, rejection } from './service-context.js';
import { startSwapper } from './swapper.js';

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

/**
 * The race a held top directory alone does not close: a tree is walked while another process
 * swaps one of its directories with a symlink to the outside, atomically and in a loop
 * (`renameat2(RENAME_EXCHANGE)`, see swapper.ts). A walk by path string sends its unlinks,
 * renames and mkdirs through the link whenever the swap lands between two steps; a walk through
 * held descriptors cannot. Each tree holds `sub/f0..f199` and `lnk` → `outside/`, where the same
 * 200 names wait, so a single misdirected step shows in the count.
 *
 * Defended, and checked here: nothing outside is removed, moved in or created, the moved files all
 * stay inside, every call answers `ok` or a request error (never INTERNAL), no descriptor leaks.
 * Not defended, and not tested (docs/files.md says why): hard links made inside the root to
 * outside files, bind mounts inside the root, other processes writing inside the root (a tree can
 * change under a walk: only escapes are prevented, a remove may stop part way), systems without
 * /proc (not Linux: the service falls back to paths there), and outside names the recursive
 * watcher may report as removed while a swap is in progress.
 * FILES_RACE_MS sets the run length (default 10 s); a longer run: `FILES_RACE_MS=60000 npx vitest
 * run test/services/files/race.test.ts`.
 */
const RACE_MS = Number(process.env.FILES_RACE_MS ?? 10_000);
const TREE_FILES = 200;
const names = Array.from({ length: TREE_FILES }, (_, i) => `f${i}`);

describe.runIf(process.platform === 'linux')(
  'files: a real process swapping a directory and a symlink',
  () => {
    let service: ReturnType<typeof files>;
    let local: LocalInstance<FilesService, FilesState>;
    let session: Session;

    beforeEach(async () => {
      await mkdir(join(base, 'outside/dirs'), { recursive: true });
      await Promise.all(names.map((name) => writeFile(join(base, 'outside', name), 'outside')));
      service = files({ root });
      local = await LocalInstance.start(service);
      session = await local.attach();
    });

    /** Builds `<tree>/sub/f0..f199` and `<tree>/lnk` aside, then renames it into place at once. */
    async function stage(tree: string): Promise<void> {
      const aside = join(root, `${tree}.stage`);
      await mkdir(join(aside, 'sub'), { recursive: true });
      await Promise.all(names.map((name) => writeFile(join(aside, 'sub', name), 'inside')));
      await symlink(join(base, 'outside'), join(aside, 'lnk'));
      await rename(aside, join(root, tree));
    }

    /** Regular files under `dir`, counted without following any symlink. */
    async function countFiles(dir: string): Promise<number> {
      let count = 0;
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isFile()) count++;
        else if (entry.isDirectory()) count += await countFiles(join(dir, entry.name));
      }
      return count;
    }

    /** What a call ended with: `ok`, a request error's code (and reason), or `raw:<errno>`. */
    async function outcome(call: unknown): Promise<string> {
      try {
        await call;
        return 'ok';
      } catch (error) {
        if (error instanceof RequestError) {
          const reason = (error.data as { reason?: string } | undefined)?.reason;
          return reason ? `${error.code}:${reason}` : error.code;
        }
        return `raw:${(error as { code?: string }).code ?? String(error)}`;
      }
    }

    const tally = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

    it(
      'remove, move and mkdir lose, move or create nothing outside the root',
      async () => {
        const ctx = () => local.context(session);
        await stage('t');
        await stage('m');
        await stage('k');
        await mkdir(join(root, 'held'));
        const swapper = await startSwapper(root, ['t/sub:t/lnk', 'm/sub:m/lnk', 'k/sub:k/lnk']);
        const fdsBefore = readdirSync('/proc/self/fd').length;
        const removes = new Map<string, number>();
        const moves = new Map<string, number>();
        const mkdirs = new Map<string, number>();
        const started = Date.now();
        const running = () => Date.now() - started < RACE_MS;
        let trashed = 0;

        const remover = async () => {
          while (running()) {
            const result = await outcome(service.handlers.remove({ path: 't' }, ctx()));
            tally(removes, result);
            if (result === 'ok') {
              // Removed means gone: nothing of the tree is left inside the root either.
              await expect(lstat(join(root, 't'))).rejects.toMatchObject({ code: 'ENOENT' });
            } else {
              // Refused part way: move what is left aside (out of the swapper's reach) and start again.
              await rename(join(root, 't'), join(base, `trash-${trashed++}`));
            }
            await stage('t');
          }
        };
        const mover = async () => {
          for (let i = 0; running(); i = (i + 1) % TREE_FILES) {
            const name = names[i] as string;
            tally(
              moves,
              await outcome(
                service.handlers.move({ oldPath: `m/sub/${name}`, newPath: `held/${name}` }, ctx()),
              ),
            );
            tally(
              moves,
              await outcome(
                service.handlers.move({ oldPath: `held/${name}`, newPath: `m/sub/${name}` }, ctx()),
              ),
            );
            // The directory itself (or the link, if swapped in): a rename of the entry, never a walk.
            tally(
              moves,
              await outcome(service.handlers.move({ oldPath: 'm/sub', newPath: 'm/away' }, ctx())),
            );
            tally(
              moves,
              await outcome(service.handlers.move({ oldPath: 'm/away', newPath: 'm/sub' }, ctx())),
            );
          }
        };
        const maker = async () => {
          for (let i = 0; running(); i++) {
            tally(mkdirs, await outcome(service.handlers.mkdir({ path: `k/sub/d${i}/e` }, ctx())));
            tally(mkdirs, await outcome(service.handlers.mkdir({ path: 'k/sub/dirs' }, ctx())));
          }
        };
        await Promise.all([remover(), mover(), maker()]);
        const fdsAfter = readdirSync('/proc/self/fd').length;
        const { swaps, attempts } = await swapper.stop();
        const elapsed = Date.now() - started;

        const outside = (await readdir(join(base, 'outside'))).sort();
        const summary = {
          elapsed,
          swaps,
          attempts,
          removes,
          moves,
          mkdirs,
          outside: outside.length,
          trashed,
        };
        console.log(
          'files race:',
          JSON.stringify(summary, (_key, value) =>
            value instanceof Map ? Object.fromEntries(value) : value,
          ),
        );

        // The outside is exactly as it was: the same 200 files, one directory and the first suite's file.
        expect(outside).toEqual([...names, 'dirs', 'file.txt'].sort());
        expect(await readdir(join(base, 'outside/dirs'))).toEqual([]);
        for (const name of names) expect(await readFile(join(base, 'outside', name), 'utf8')).toBe('outside');
        // The moved tree's 200 files are all still inside the root, wherever the moves left them.
        expect((await countFiles(join(root, 'm'))) + (await countFiles(join(root, 'held')))).toBe(TREE_FILES);
        // Every call either worked or answered a typed request error; never an internal one.
        // Each outcome one the race can cause: a swap seen (PATH_OUTSIDE_ROOT), an entry gone or
        // not a directory any more, the tree changed under a remove (CHANGED).
        const allowed = {
          remove: ['ok', 'PATH_OUTSIDE_ROOT:symlink', 'CHANGED'],
          move: ['ok', 'PATH_OUTSIDE_ROOT:symlink', 'NOT_FOUND', 'NOT_A_DIRECTORY', 'ALREADY_EXISTS'],
          mkdir: ['ok', 'PATH_OUTSIDE_ROOT:symlink', 'NOT_FOUND', 'NOT_A_DIRECTORY', 'ALREADY_EXISTS'],
        };
        expect([...removes.keys()].filter((key) => !allowed.remove.includes(key))).toEqual([]);
        expect([...moves.keys()].filter((key) => !allowed.move.includes(key))).toEqual([]);
        expect([...mkdirs.keys()].filter((key) => !allowed.mkdir.includes(key))).toEqual([]);
        expect(removes.get('ok') ?? 0).toBeGreaterThan(0);
        expect(fdsAfter).toBe(fdsBefore);
        expect(elapsed).toBeGreaterThanOrEqual(RACE_MS);
        expect(swaps).toBeGreaterThan(1000);
      },
      RACE_MS + 60_000,
    );
  },
);
