import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '../../../src/server/service-types.js';
import { type FilesState, files } from '../../../src/services/files/index.js';
import type { FileEvent, FilesService } from '../../../src/services/files/service.js';
import { LocalInstance } from './service-context.js';

let root: string;
let service: ReturnType<typeof files>;
let local: LocalInstance<FilesService, FilesState>;
let session: Session;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'files-watch-'));
  service = files({ root, watch: true });
  local = await LocalInstance.start(service);
  session = await local.attach();
  await service.handlers.subscribe({ paths: ['.'] }, local.context(session));
});

afterEach(async () => {
  // Unsubscribing stops the watcher.
  await service.handlers.subscribe({ paths: [] }, local.context(session));
  await rm(root, { recursive: true, force: true });
});

const events = () => local.emitted.map(({ payload }) => payload as FileEvent);
const about = (path: string) => events().filter((event) => event.file.path === path);

describe('files: watching the root for changes made by others', () => {
  it('reports a file created and removed outside the service', async () => {
    await writeFile(join(root, 'external.txt'), 'from an editor');
    await vi.waitFor(() => expect(about('external.txt').length).toBeGreaterThan(0), {
      timeout: 5000,
      interval: 5,
    });
    expect(about('external.txt')[0]).toEqual({ op: 'create', file: { path: 'external.txt', type: 'file' } });
    await rm(join(root, 'external.txt'));
    await vi.waitFor(() => expect(about('external.txt').at(-1)?.op).toBe('remove'), {
      timeout: 5000,
      interval: 5,
    });
    expect(about('external.txt').at(-1)).toEqual({
      op: 'remove',
      file: { path: 'external.txt', type: 'file' },
    });
  });

  it('does not report a change made through the service a second time', async () => {
    const context = local.context(session);
    await service.handlers.write(
      { path: 'own.txt', content: Buffer.from('mine').toString('base64') },
      context,
    );
    await service.handlers.mkdir({ path: 'own-dir/sub' }, context);
    await service.handlers.move({ oldPath: 'own.txt', newPath: 'own-dir/moved.txt' }, context);
    await service.handlers.remove({ path: 'own-dir' }, context);
    // Events come in order: once the marker's is in, anything about ours would have been too.
    await writeFile(join(root, 'marker.txt'), '');
    await vi.waitFor(() => expect(about('marker.txt').length).toBeGreaterThan(0), {
      timeout: 5000,
      interval: 5,
    });
    expect(events().filter((event) => event.file.path !== 'marker.txt')).toEqual([
      { op: 'create', file: { path: 'own.txt', type: 'file' } },
      { op: 'create', file: { path: 'own-dir', type: 'directory' } },
      { op: 'create', file: { path: 'own-dir/sub', type: 'directory' } },
      {
        op: 'move',
        file: { path: 'own.txt', type: 'file' },
        dest: { path: 'own-dir/moved.txt', type: 'file' },
      },
      { op: 'remove', file: { path: 'own-dir', type: 'directory' } },
    ]);
  });
});
