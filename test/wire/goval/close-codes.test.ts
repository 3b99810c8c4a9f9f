import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { GOVAL_CLOSE_CODES, isFatalForGovalClient } from '../../../src/wire/goval/index.js';

test('the close-code table in docs/goval.md is GOVAL_CLOSE_CODES, with what crosis does on each', async () => {
  const doc = await readFile('docs/goval.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Close codes'), doc.indexOf('## Control messages'));
  const rows = [...section.matchAll(/^\| (\d{4}) \| (\w+)\s*\| ([^|]+?)\s*\|$/gm)].map(
    ([, code, name, does]) => ({
      code: Number(code),
      name,
      fatal: does === 'gives up',
    }),
  );
  expect(rows).toEqual(
    Object.entries(GOVAL_CLOSE_CODES).map(([name, code]) => ({
      code,
      name,
      fatal: isFatalForGovalClient(code),
    })),
  );
});
