import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

/** The first ```ts block after "## Serving it" in docs/wire-sandbox-sync.md, as written there. */
function example(): string {
  const doc = readFileSync(new URL('../../../docs/wire-sandbox-sync.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Serving it'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('no ts block under "## Serving it"');
  return match[1]!;
}

test('the docs example runs as written and creates a key through the ws-proxy', async () => {
  const entry = new URL('../../../src/adapters/sandbox-sync/index.ts', import.meta.url).pathname;
  const code = example().replace("'switchboard/adapters/sandbox-sync'", JSON.stringify(entry));
  expect(code).not.toContain('switchboard/');
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-sync-example-'));
  try {
    // .mts: the temporary directory has no package.json saying ESM, and the example awaits at top level.
    const file = join(dir, 'example.mts');
    writeFileSync(file, code);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: new URL('../../../', import.meta.url).pathname,
      timeout: 15_000,
    });
    expect(stdout).toMatch(/^agentbox-apikey-[0-9a-f]{16} true\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
