// Two editors on one file, runnable as is: npx tsx --conditions=source examples/collaborative-editing/main.ts
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEditingServer } from './server.js';
import { session } from './session.js';

const root = await mkdtemp(join(tmpdir(), 'switchboard-ot-'));
await writeFile(join(root, 'list.md'), 'Milk\n');
const server = await startEditingServer({ root });
for (const line of await session(server.url, 'list.md')) console.log(line);
await server.close();
console.log(`list.md on disk: ${JSON.stringify(await readFile(join(root, 'list.md'), 'utf8'))}`);
