import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Session } from '../../../src/server/service-types.js';
import { type FilesState, files } from '../../../src/services/files/index.js';
import type { FilesService } from '../../../src/services/files/service.js';
import { LocalInstance, rejection } from './service-context.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

let base: string;
let root: string;
let service: ReturnType<typeof files>;
let local: LocalInstance<FilesService, FilesState>;
let session: Session;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'files-'));
  root = join(base, 'root');
  await mkdir(root);
  service = files({ root });
  local = await LocalInstance.start(service);
  session = await local.attach();
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const call = {
  read: async (path: string) => service.handlers.read({ path }, local.context(session)),
  write: async (path: string, text: string) =>
    service.handlers.write({ path, content: b64(text) }, local.context(session)),
  remove: async (path: string) => service.handlers.remove({ path }, local.context(session)),
  mkdir: async (path: string) => service.handlers.mkdir({ path }, local.context(session)),
  readdir: async (path: string) => service.handlers.readdir({ path }, local.context(session)),
  stat: async (path: string) => service.handlers.stat({ path }, local.context(session)),
  move: async (oldPath: string, newPath: string) =>
    service.handlers.move({ oldPath, newPath }, local.context(session)),
  subscribe: async (paths: string[], who = session) =>
    service.handlers.subscribe({ paths }, local.context(who)),
};

describe('files: operations', () => {
  it('writes a file, creating its parents, and reads it back as base64', async () => {
    expect(await call.write('src/lib/main.ts', 'héllo')).toBe(null);
    expect(await readFile(join(root, 'src/lib/main.ts'), 'utf8')).toBe('héllo');
    expect(await call.read('src/lib/main.ts')).toEqual({ path: 'src/lib/main.ts', content: b64('héllo') });
    expect(await call.read('./src//lib/main.ts')).toEqual({ path: 'src/lib/main.ts', content: b64('héllo') });
  });

  it('replaces a file entirely, shorter content included', async () => {
    await call.write('a.txt', 'a long first version');
    await call.write('a.txt', 'short');
    expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('short');
  });

  it('reads binary content byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 128, 10, 13, 0xc3]);
    await writeFile(join(root, 'blob.bin'), bytes);
    expect(await call.read('blob.bin')).toEqual({ path: 'blob.bin', content: 'AP+ACg3D' });
  });

  it('lists a directory sorted by name, with kinds, symlinks by where they lead', async () => {
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'b.txt'), '');
    await writeFile(join(root, 'a.txt'), '');
    await symlink('docs', join(root, 'to-docs'));
    await symlink('/', join(root, 'to-slash'));
    expect(await call.readdir('.')).toEqual({
      files: [
        { path: 'a.txt', type: 'file' },
        { path: 'b.txt', type: 'file' },
        { path: 'docs', type: 'directory' },
        { path: 'to-docs', type: 'directory' },
        { path: 'to-slash', type: 'file' },
      ],
    });
    expect(await call.readdir('docs')).toEqual({ files: [] });
  });

  it('stats a file: octal mode, size in bytes, modification time in unix seconds', async () => {
    await writeFile(join(root, 'a.txt'), 'héllo');
    await chmod(join(root, 'a.txt'), 0o640);
    await utimes(join(root, 'a.txt'), 1_700_000_000, 1_700_000_123.9);
    expect(await call.stat('a.txt')).toEqual({
      exists: true,
      type: 'file',
      size: 6,
      fileMode: '0640',
      modTime: 1_700_000_123,
    });
    await mkdir(join(root, 'd'));
    await chmod(join(root, 'd'), 0o1755);
    expect(await call.stat('d')).toMatchObject({ exists: true, type: 'directory', fileMode: '1755' });
  });

  it('stats and lists the root itself as `.`', async () => {
    expect(await call.stat('.')).toMatchObject({ exists: true, type: 'directory' });
    expect(await call.readdir('./')).toEqual({ files: [] });
  });

  it('stats a missing path (or one under a file) as not existing', async () => {
    await writeFile(join(root, 'a.txt'), '');
    const missing = { exists: false, type: 'file', size: 0, fileMode: '', modTime: 0 };
    expect(await call.stat('nope')).toEqual(missing);
    expect(await call.stat('a.txt/b')).toEqual(missing);
  });

  it('makes directories recursively; an existing directory is fine, an existing file is not', async () => {
    expect(await call.mkdir('x/y/z')).toBe(null);
    expect((await lstat(join(root, 'x/y/z'))).isDirectory()).toBe(true);
    expect(await call.mkdir('x/y')).toBe(null);
    await writeFile(join(root, 'f'), '');
    const error = await rejection(call.mkdir('f'));
    expect([error.code, error.message]).toEqual([
      'ALREADY_EXISTS',
      '"f" already exists and is not a directory',
    ]);
  });

  it('removes a file and a whole tree', async () => {
    await call.write('t/a/b.txt', '1');
    await call.write('c.txt', '2');
    await call.remove('c.txt');
    await call.remove('t');
    expect(await call.readdir('.')).toEqual({ files: [] });
  });

  it('removes a symlink, not what it points to', async () => {
    await mkdir(join(base, 'outside'));
    await writeFile(join(base, 'outside/keep.txt'), 'kept');
    await symlink(join(base, 'outside'), join(root, 'link'));
    await call.remove('link');
    expect(await readFile(join(base, 'outside/keep.txt'), 'utf8')).toBe('kept');
    expect(await call.readdir('.')).toEqual({ files: [] });
  });

  it('moves a file into a new directory, refusing an existing destination and a move into itself', async () => {
    await call.write('a.txt', 'A');
    await call.write('b.txt', 'B');
    await call.move('a.txt', 'new/dir/a.txt');
    expect(await readFile(join(root, 'new/dir/a.txt'), 'utf8')).toBe('A');
    const exists = await rejection(call.move('b.txt', 'new/dir/a.txt'));
    expect([exists.code, exists.message]).toEqual(['ALREADY_EXISTS', '"new/dir/a.txt" already exists']);
    const inside = await rejection(call.move('new', 'new/dir/inner'));
    expect([inside.code, inside.message]).toEqual(['INVALID_INPUT', 'cannot move "new" into itself']);
  });

  it('follows symlinks that stay inside the root', async () => {
    await call.write('real/x.txt', 'through');
    await symlink('real', join(root, 'alias'));
    expect(await call.read('alias/x.txt')).toEqual({ path: 'alias/x.txt', content: b64('through') });
    await call.write('alias/y.txt', 'made');
    expect(await readFile(join(root, 'real/y.txt'), 'utf8')).toBe('made');
  });

  it('fails with typed errors that name the client path, never the root', async () => {
    await call.write('f.txt', '');
    await call.mkdir('d');
    const cases: [() => Promise<unknown>, string, string][] = [
      [() => call.read('nope.txt'), 'NOT_FOUND', '"nope.txt" does not exist'],
      [() => call.read('d'), 'IS_A_DIRECTORY', '"d" is a directory'],
      [() => call.write('d', 'x'), 'IS_A_DIRECTORY', '"d" is a directory'],
      [() => call.readdir('f.txt'), 'NOT_A_DIRECTORY', '"f.txt": a component is not a directory'],
      [() => call.write('f.txt/x', 'x'), 'NOT_A_DIRECTORY', '"f.txt/x": a component is not a directory'],
      [() => call.readdir('gone'), 'NOT_FOUND', '"gone" does not exist'],
      [() => call.remove('gone'), 'NOT_FOUND', '"gone" does not exist'],
      [() => call.move('gone', 'x'), 'NOT_FOUND', '"gone" does not exist'],
      [
        () => call.remove('.'),
        'PATH_OUTSIDE_ROOT',
        '"." names the root itself, which cannot be removed or moved',
      ],
    ];
    for (const [run, code, message] of cases) {
      const error = await rejection(run());
      expect([error.code, error.message]).toEqual([code, message]);
      expect(JSON.stringify([error.message, error.data])).not.toContain(base);
    }
  });

  it('refuses a FIFO at once instead of waiting for a writer or reader', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const read = await rejection(call.read('pipe'));
    expect([read.code, read.message]).toEqual(['INVALID_INPUT', '"pipe" is not a regular file']);
    const write = await rejection(call.write('pipe', 'x'));
    expect([write.code, write.message]).toEqual(['INVALID_INPUT', '"pipe" is not a regular file']);
  });

  it('takes a colon in a name literally; only a drive letter with a separator is absolute', async () => {
    await call.write('c:notes', 'kept');
    await call.write('dir/a:b.txt', 'too');
    expect(await readFile(join(root, 'c:notes'), 'utf8')).toBe('kept');
    expect(await readFile(join(root, 'dir/a:b.txt'), 'utf8')).toBe('too');
  });

  it('refuses to read a file larger than maxReadBytes', async () => {
    const small = files({ root, maxReadBytes: 4 });
    await writeFile(join(root, 'big'), '12345');
    const error = await rejection(small.handlers.read({ path: 'big' }, local.context(session)));
    expect([error.code, error.message]).toEqual(['TOO_LARGE', '"big" is larger than 4 bytes']);
  });

  it('refuses a root that is not a directory', async () => {
    await writeFile(join(base, 'plain'), '');
    expect(() => files({ root: join(base, 'plain') })).toThrow('files: root must be a directory');
    expect(() => files({ root: join(base, 'missing') })).toThrow(TypeError);
  });
});

describe('files: events', () => {
  it('tells subscribed sessions, and only them, about changes at or under their paths', async () => {
    const other = await local.attach();
    const third = await local.attach();
    await call.subscribe(['src']);
    await call.subscribe(['.'], other);
    await call.subscribe(['docs'], third);
    await call.write('src/a.ts', '1');
    await call.write('src/a.ts', '2');
    await call.move('src/a.ts', 'docs/a.ts');
    await call.remove('docs');
    await call.mkdir('lib/x');
    expect(local.emitted).toEqual([
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'src', type: 'directory' } },
        target: { only: 2 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'src', type: 'directory' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'src/a.ts', type: 'file' } },
        target: { only: 2 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'src/a.ts', type: 'file' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'modify', file: { path: 'src/a.ts', type: 'file' } },
        target: { only: 2 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'modify', file: { path: 'src/a.ts', type: 'file' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'docs', type: 'directory' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'docs', type: 'directory' } },
        target: { only: 4 },
      },
      ...[2, 3, 4].map((only) => ({
        event: 'fileEvent',
        payload: {
          op: 'move',
          file: { path: 'src/a.ts', type: 'file' },
          dest: { path: 'docs/a.ts', type: 'file' },
        },
        target: { only },
      })),
      {
        event: 'fileEvent',
        payload: { op: 'remove', file: { path: 'docs', type: 'directory' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'remove', file: { path: 'docs', type: 'directory' } },
        target: { only: 4 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'lib', type: 'directory' } },
        target: { only: 3 },
      },
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'lib/x', type: 'directory' } },
        target: { only: 3 },
      },
    ]);
  });

  it('replaces a subscription, forgets it on [] and when the session leaves', async () => {
    const other = await local.attach();
    await call.subscribe(['a']);
    await call.subscribe(['b']);
    await call.subscribe(['b'], other);
    await call.write('a/x', '');
    expect(local.emitted).toEqual([]);
    await call.subscribe([]);
    await local.detach(other);
    await call.write('b/x', '');
    expect(local.emitted).toEqual([]);
  });

  it('reaches the subscribers of every channel on the same root', async () => {
    const second = await LocalInstance.start(service, 'second');
    const watcher = await second.attach();
    await service.handlers.subscribe({ paths: ['.'] }, second.context(watcher));
    await call.write('shared.txt', 'x');
    expect(second.emitted).toEqual([
      {
        event: 'fileEvent',
        payload: { op: 'create', file: { path: 'shared.txt', type: 'file' } },
        target: { only: 2 },
      },
    ]);
    await service.dispose?.(second.state, second.instance);
    await call.write('shared.txt', 'y');
    expect(second.emitted).toHaveLength(1);
  });
});
