import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startEditingServer } from '../../../examples/collaborative-editing/server.js';
import { session } from '../../../examples/collaborative-editing/session.js';
import { silentLogger } from '../../../src/server/index.js';
import { crc32 } from '../../../src/services/ot/index.js';

let stop: (() => Promise<void>) | undefined;
afterEach(() => stop?.());

test('the collaborative-editing example runs as written over a real socket and saves the file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'switchboard-ot-test-'));
  await writeFile(join(root, 'list.md'), 'Milk\n');
  const server = await startEditingServer({ root, logger: silentLogger });
  stop = async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  };
  const final = '# Groceries\nMilk\nBread\nEggs 🥚\n';
  expect(await session(server.url, 'list.md')).toEqual([
    'both open list.md at version 0: "Milk\\n"',
    "Ada sees Bob's caret at 0",
    `Bob's editor applies [{"skip":17},{"insert":"Bread\\n"}]`,
    `Bob's editor applies [{"skip":23},{"insert":"Eggs 🥚\\n"}]`,
    `Ada has version 4: ${JSON.stringify(final)}`,
    `Bob has version 4: ${JSON.stringify(final)}`,
    `the server has crc32 ${crc32(final)}; Bob's caret moved to 12`,
  ]);
  expect(crc32(final)).toBe(3566484595);
  expect(await readFile(join(root, 'list.md'), 'utf8')).toBe(final);
});

test('the example refuses a path outside its folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'switchboard-ot-test-'));
  const server = await startEditingServer({ root, logger: silentLogger });
  stop = async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  };
  await expect(session(server.url, '../escape.md')).rejects.toMatchObject({
    code: 'OT_LINK_REFUSED',
    message: '../escape.md is outside the shared folder',
  });
});
