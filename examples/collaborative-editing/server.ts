// An OT server whose documents are files in one directory: `link {path}` loads a file, edits save it.
import { readFile, writeFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { defineProtocol } from 'switchboard/protocol';
import { type Authenticator, createServer, type Logger, type Server } from 'switchboard/server';
import { RequestError } from '../../src/protocol/errors.js';
import { ot, otService } from '../../src/services/ot/index.js';

/** The protocol both ends import: no resources of its own, just the `ot` service. */
export const editingApi = defineProtocol({
  name: 'collaborative-editing',
  version: '1.0.0',
  resources: {},
  services: { ot: otService },
});

/** Demo only: believes whatever name the client gives (a real server checks a token). */
const trustTheName: Authenticator = {
  authenticate: ({ credentials }) => {
    const { name, userId } = (credentials ?? {}) as { name?: unknown; userId?: unknown };
    if (typeof name !== 'string' || name === '') return { ok: false, reason: 'say your name' };
    return {
      ok: true,
      principal: { id: name.toLowerCase(), permissions: ['*'], attributes: { name, userId } },
    };
  },
};

/**
 * The file under `root` a document path names. Plain relative names only: the files service's
 * sandbox (symlinks included) is the real answer; this keeps the example short.
 */
function inside(root: string, path: string): string {
  const relative = normalize(path);
  if (path.includes('\0') || relative.startsWith('..') || relative.startsWith(sep)) {
    throw new RequestError('OT_LINK_REFUSED', `${path} is outside the shared folder`);
  }
  return join(root, relative);
}

/** Starts an OT server on `port` (0 picks a free one) of 127.0.0.1, editing files under `root`. */
export function startEditingServer(options: {
  root: string;
  port?: number;
  logger?: Logger;
}): Promise<Server<typeof editingApi>> {
  const { root } = options;
  return createServer({
    protocol: editingApi,
    handlers: {},
    services: {
      ot: ot({
        load: async (path) => {
          try {
            return await readFile(inside(root, path), 'utf8');
          } catch (error) {
            // A file that does not exist yet starts empty and is created by the first save.
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
            throw error;
          }
        },
        save: (path, contents) => writeFile(inside(root, path), contents),
      }),
    },
    auth: trustTheName,
    port: options.port ?? 0,
    host: '127.0.0.1',
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
