import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Channel, type Client, createClient } from '../../../src/client/index.js';
import { CallError } from '../../../src/protocol/errors.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { type FileEvent, type FilesService, files, filesService } from '../../../src/services/files/index.js';
import { type MemoryTransport, memoryTransport } from '../../../src/transport/memory.js';
import { until } from '../../support/harness.js';

const api = defineProtocol({
  name: 'files-e2e',
  version: '1.0.0',
  resources: {},
  services: { files: filesService },
});
const b64 = (text: string) => Buffer.from(text).toString('base64');

let base: string;
let root: string;
let server: Server<typeof api>;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'files-e2e-'));
  root = join(base, 'root');
  await mkdir(root);
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside/secret.txt'), 'secret');
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: { files: files({ root }) },
    transport: transport.server,
    logger: silentLogger,
  });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close({ graceMs: 10 });
  await rm(base, { recursive: true, force: true });
});

async function open(name = 'project'): Promise<Channel<FilesService>> {
  const client = createClient({ protocol: api, url: 'memory://files', connect: transport.connect });
  clients.push(client);
  return client.openChannel('files', { name });
}

async function failure(promise: Promise<unknown>): Promise<CallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('files over the in-memory transport', () => {
  it('writes, lists, stats, reads, moves and removes through a channel', async () => {
    const channel = await open();
    expect(await channel.call('write', { path: 'src/main.ts', content: b64('export {};\n') })).toBe(null);
    expect(await channel.call('readdir', { path: '.' })).toEqual({
      files: [{ path: 'src', type: 'directory' }],
    });
    expect(await channel.call('stat', { path: 'src/main.ts' })).toMatchObject({
      exists: true,
      type: 'file',
      size: 11,
    });
    expect(await channel.call('read', { path: 'src/main.ts' })).toEqual({
      path: 'src/main.ts',
      content: b64('export {};\n'),
    });
    expect(await channel.call('move', { oldPath: 'src/main.ts', newPath: 'lib/index.ts' })).toBe(null);
    expect(await readFile(join(root, 'lib/index.ts'), 'utf8')).toBe('export {};\n');
    expect(await channel.call('remove', { path: 'lib' })).toBe(null);
    expect(await channel.call('stat', { path: 'lib' })).toEqual({
      exists: false,
      type: 'file',
      size: 0,
      fileMode: '',
      modTime: 0,
    });
  });

  it('refuses escapes with PATH_OUTSIDE_ROOT, naming the path and never the root', async () => {
    const channel = await open();
    await symlink(join(base, 'outside'), join(root, 'out'));
    const cases: [string, string, string][] = [
      ['../outside/secret.txt', 'parent', '"../outside/secret.txt" contains a ".." component'],
      ['/etc/passwd', 'absolute', '"/etc/passwd" is absolute; paths are relative to the root'],
      ['a\0b', 'nul', '"a\\u0000b" contains a NUL byte'],
      [
        'out/secret.txt',
        'symlink',
        '"out/secret.txt" goes through a symlink that leads outside the root, or whose target does not exist',
      ],
    ];
    for (const [path, reason, message] of cases) {
      const error = await failure(channel.call('read', { path }));
      expect([error.code, error.message, error.data]).toEqual(['PATH_OUTSIDE_ROOT', message, { reason }]);
      expect(error.message).not.toContain(base);
    }
    const missing = await failure(channel.call('read', { path: 'nope' }));
    expect([missing.code, missing.message]).toEqual(['NOT_FOUND', '"nope" does not exist']);
    const invalid = await failure(channel.call('write', { path: 'x', content: 'not base64!' }));
    expect(invalid.code).toBe('INVALID_INPUT');
  });

  it('sends fileEvent to the subscribed session only, across channels on the same root', async () => {
    const writer = await open('project');
    const watcher = await open('project');
    const bystander = await open('other');
    const heard: FileEvent[] = [];
    const ignored: FileEvent[] = [];
    watcher.on('fileEvent', (event) => heard.push(event));
    bystander.on('fileEvent', (event) => ignored.push(event));
    writer.on('fileEvent', (event) => ignored.push(event));
    await watcher.call('subscribe', { paths: ['docs'] });
    await writer.call('write', { path: 'docs/a.md', content: b64('# A') });
    await writer.call('write', { path: 'notes.txt', content: b64('not watched') });
    await writer.call('move', { oldPath: 'docs/a.md', newPath: 'docs/b.md' });
    await until(() => heard.length === 3, 2000, 'three file events');
    expect(heard).toEqual([
      { op: 'create', file: { path: 'docs', type: 'directory' } },
      { op: 'create', file: { path: 'docs/a.md', type: 'file' } },
      { op: 'move', file: { path: 'docs/a.md', type: 'file' }, dest: { path: 'docs/b.md', type: 'file' } },
    ]);
    expect(ignored).toEqual([]);
  });
});
