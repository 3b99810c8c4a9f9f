import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { GOVAL_CLOSE_CODES, isFatalForGovalClient } from '../../../src/wire/goval/index.js';
import { docTable } from '../../support/docs.js';

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

test('the hostile-input table in docs/goval.md states the maxDepth default', async () => {
  const rows = docTable('goval.md', '## Hostile input');
  expect(rows.map(([option, value]) => [option, Number(value)])).toEqual([['`maxDepth`', DEFAULT_MAX_DEPTH]]);
  expect(rows[0]![2]).toContain('an `error` body on channel 0');
});
