import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/protocol/errors.js';
import type { Session } from '../../../src/server/service-types.js';
import { type FilesState, files } from '../../../src/services/files/index.js';
import type { FilesService } from '../../../src/services/files/service.js';
import { LocalInstance, rejection } from './service-context.js';

/**
 * The path-escape suite: hostile paths against every operation. Each is refused (or, where the
 * path is only a strange literal name, treated as one inside the root), and nothing outside the
 * root is read, created, changed or removed: a sentinel directory beside the root is snapshot
 * before and after.
 */

let base: string;
let root: string;
let outside: string;
let service: ReturnType<typeof files>;
let local: LocalInstance<FilesService, FilesState>;
let session: Session;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'escape-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'inside'), { recursive: true });
  await writeFile(join(root, 'inside.txt'), 'in');
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await writeFile(join(outside, 'dir/deep.txt'), 'deep');
  await symlink('/', join(root, 'to-slash'));
  await symlink(outside, join(root, 'to-sibling'));
  await symlink('../outside', join(root, 'to-sibling-relative'));
  // A chain: each link stays inside, the last one leaves.
  await symlink('chain-2', join(root, 'chain-1'));
  await symlink('inside/chain-3', join(root, 'chain-2'));
  await symlink('../../outside', join(root, 'inside/chain-3'));
  // Dangling: the target does not exist yet, and creating through the link would make it outside.
  await symlink(join(outside, 'not-yet'), join(root, 'dangling'));
  await symlink(join(outside, 'secret.txt'), join(root, 'to-secret'));
  // A sibling whose path starts with the root's: `${root}-evil` is not inside `${root}`.
  await mkdir(`${root}-evil`);
  await writeFile(`${root}-evil/file.txt`, 'evil');
  await symlink(`${root}-evil`, join(root, 'to-prefix'));
  await symlink('loop-b', join(root, 'loop-a'));
  await symlink('loop-a', join(root, 'loop-b'));
  service = files({ root });
  local = await LocalInstance.start(service);
  session = await local.attach();
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Everything beside the root: the sentinel directory and the prefix sibling. */
async function outsideRoot(): Promise<Record<string, string>> {
  return { ...(await snapshot(outside)), ...(await snapshot(`${root}-evil`, 'evil/')) };
}

/** Every entry under a directory, without following links: kind, bytes or link target, mode, mtime. */
async function snapshot(directory: string, label = ''): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      const key = `${prefix}${name}`;
      const stamp = `${info.mode}:${info.mtimeMs}:${info.size}`;
      if (info.isSymbolicLink()) result[key] = `link ${await readlink(path)} ${stamp}`;
      else if (info.isDirectory()) {
        result[key] = `dir ${stamp}`;
        await walk(path, `${key}/`);
      } else result[key] = `file ${(await readFile(path)).toString('base64')} ${stamp}`;
    }
  };
  await walk(directory, label);
  return result;
}

const content = Buffer.from('pwned').toString('base64');

/** Every operation, with the hostile path in each position it can take. */
const operations: Record<string, (path: string) => Promise<unknown>> = {
  read: async (path) => service.handlers.read({ path }, local.context(session)),
  write: async (path) => service.handlers.write({ path, content }, local.context(session)),
  remove: async (path) => service.handlers.remove({ path }, local.context(session)),
  mkdir: async (path) => service.handlers.mkdir({ path }, local.context(session)),
  readdir: async (path) => service.handlers.readdir({ path }, local.context(session)),
  stat: async (path) => service.handlers.stat({ path }, local.context(session)),
  'move from': async (path) =>
    service.handlers.move({ oldPath: path, newPath: 'moved' }, local.context(session)),
  'move to': async (path) =>
    service.handlers.move({ oldPath: 'inside.txt', newPath: path }, local.context(session)),
  subscribe: async (path) => service.handlers.subscribe({ paths: ['inside', path] }, local.context(session)),
};

/** Paths that leave the root, with the reason each is refused. */
const hostile: [string, string][] = [
  ['../x', 'parent'],
  ['..', 'parent'],
  ['a/../../x', 'parent'],
  ['inside/../inside.txt', 'parent'],
  ['./../outside/secret.txt', 'parent'],
  [`${'../'.repeat(64)}etc/passwd`, 'parent'],
  ['/etc/passwd', 'absolute'],
  ['/', 'absolute'],
  ['//etc', 'absolute'],
  ['\\etc\\passwd', 'absolute'],
  ['C:\\Windows\\win.ini', 'absolute'],
  ['c:/x', 'absolute'],
  ['..\\x', 'parent'],
  ['a\\..\\..\\x', 'parent'],
  ['\0', 'nul'],
  ['inside.txt\0.png', 'nul'],
  ['inside/\0/../x', 'nul'],
  ['', 'empty'],
  ['a/'.repeat(2100), 'too-long'],
  ['x'.repeat(256), 'too-long'],
  ['to-slash/etc/passwd', 'symlink'],
  ['to-slash/tmp/made-by-files', 'symlink'],
  ['to-sibling/secret.txt', 'symlink'],
  ['to-sibling/dir', 'symlink'],
  ['to-sibling/new-dir/new.txt', 'symlink'],
  ['to-sibling-relative/secret.txt', 'symlink'],
  ['to-prefix/file.txt', 'symlink'],
  ['to-prefix/new.txt', 'symlink'],
  ['chain-1/secret.txt', 'symlink'],
  ['chain-1/dir/deep.txt', 'symlink'],
  ['dangling/x', 'symlink'],
  ['loop-a/x', 'symlink'],
];

/** Links themselves: refused when followed; remove and move act on the link inside the root. */
const links: [string, string][] = [
  ['to-slash', 'symlink'],
  ['to-sibling', 'symlink'],
  ['to-secret', 'symlink'],
  ['to-prefix', 'symlink'],
  ['chain-1', 'symlink'],
  ['dangling', 'symlink'],
  ['loop-a', 'symlink'],
];

describe('files: the path-escape suite', () => {
  for (const [name, run] of Object.entries(operations)) {
    it(`${name}: refuses every hostile path with PATH_OUTSIDE_ROOT and touches nothing`, async () => {
      const before = { outside: await outsideRoot(), root: await snapshot(root) };
      const refused: [string, string, unknown][] = [];
      for (const [path] of hostile) {
        const error = await rejection(run(path));
        refused.push([path, error.code, error.data]);
        expect(error.message).not.toContain(base);
      }
      expect(refused).toEqual(hostile.map(([path, reason]) => [path, 'PATH_OUTSIDE_ROOT', { reason }]));
      expect(await outsideRoot()).toEqual(before.outside);
      expect(await snapshot(root)).toEqual(before.root);
      expect(local.emitted).toEqual([]);
    });
  }

  for (const name of ['read', 'write', 'mkdir', 'readdir', 'stat', 'subscribe'] as const) {
    it(`${name}: refuses to follow a link that leaves the root`, async () => {
      const before = await outsideRoot();
      const reasons: unknown[] = [];
      for (const [path] of links) {
        const error = await rejection(operations[name]?.(path) ?? Promise.resolve());
        reasons.push([error.code, error.data]);
      }
      expect(reasons).toEqual(links.map(([, reason]) => ['PATH_OUTSIDE_ROOT', { reason }]));
      expect(await outsideRoot()).toEqual(before);
    });
  }

  it('move and remove act on a link itself, never on what it points to', async () => {
    const before = await outsideRoot();
    await service.handlers.move(
      { oldPath: 'to-secret', newPath: 'inside/renamed-link' },
      local.context(session),
    );
    expect(await readlink(join(root, 'inside/renamed-link'))).toBe(join(outside, 'secret.txt'));
    await service.handlers.remove({ path: 'inside/renamed-link' }, local.context(session));
    await service.handlers.remove({ path: 'to-sibling' }, local.context(session));
    expect(await outsideRoot()).toEqual(before);
    await symlink(join(outside, 'secret.txt'), join(root, 'to-secret'));
    await symlink(outside, join(root, 'to-sibling'));
    local.emitted.length = 0;
  });

  it('takes URL-encoded and odd names literally, inside the root', async () => {
    const before = await outsideRoot();
    for (const path of ['%2e%2e/x', '%2e%2e%2fx', '...', 'a..b', '.../x', '..a/..b']) {
      const missing = await rejection(operations.read?.(path) ?? Promise.resolve());
      expect([path, missing.code]).toEqual([path, 'NOT_FOUND']);
      expect(await operations.stat?.(path)).toEqual({
        exists: false,
        type: 'file',
        size: 0,
        fileMode: '',
        modTime: 0,
      });
      await operations.write?.(path);
      expect(await readFile(join(root, path), 'utf8')).toBe('pwned');
      await operations.remove?.(path.split('/')[0] as string);
    }
    expect(await outsideRoot()).toEqual(before);
    local.emitted.length = 0;
  });
});

/** Segments a hostile path is made of: traversal, separators, NULs, link names, Windows and URL forms. */
const segment = fc.oneof(
  fc.constantFrom('..', '.', '', '...', '\\..', '..\\', '%2e%2e', 'C:', '\0', 'inside', 'inside.txt'),
  fc.constantFrom(
    'to-slash',
    'to-sibling',
    'to-sibling-relative',
    'chain-1',
    'chain-2',
    'dangling',
    'loop-a',
  ),
  fc.constantFrom('etc', 'passwd', 'secret.txt', 'dir', 'x'),
  fc.string({ maxLength: 8 }),
);
const hostilePath = fc.oneof(
  fc.array(segment, { maxLength: 8 }).map((parts) => parts.join('/')),
  fc
    .tuple(fc.constantFrom('/', '\\', ''), fc.array(segment, { maxLength: 6 }))
    .map(([lead, parts]) => lead + parts.join('/')),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
);

describe('files: property', () => {
  it('no path string resolves outside the root: it is refused, or its real location is inside', async () => {
    const codes = new Set(['PATH_OUTSIDE_ROOT', 'NOT_A_DIRECTORY', 'NOT_FOUND']);
    await fc.assert(
      fc.asyncProperty(hostilePath, async (path) => {
        for (const locate of [
          service.root.locate.bind(service.root),
          service.root.locateEntry.bind(service.root),
        ]) {
          try {
            const located = await locate(path);
            expect(service.root.contains(located.real)).toBe(true);
            expect(located.names).not.toContain('..');
          } catch (error) {
            if (!(error instanceof RequestError)) throw error;
            expect(codes.has(error.code)).toBe(true);
            expect(error.message).not.toContain(base);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('no sequence of writes and mkdirs through arbitrary paths changes anything outside the root', async () => {
    const before = await outsideRoot();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('write', 'mkdir'), hostilePath), { maxLength: 8 }),
        async (steps) => {
          for (const [op, path] of steps) {
            await (operations[op]?.(path) ?? Promise.resolve()).catch((error: unknown) => {
              if (!(error instanceof RequestError)) throw error;
            });
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(await outsideRoot()).toEqual(before);
  });
});
