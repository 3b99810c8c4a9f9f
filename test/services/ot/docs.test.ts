import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { OT_DEFAULTS, OT_ERRORS, otService } from '../../../src/services/ot/index.js';

/** The rows of the first markdown table after `heading` in docs/ot.md, as trimmed cells. */
function table(heading: string): string[][] {
  const text = readFileSync(new URL('../../../docs/ot.md', import.meta.url), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/ot.md has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of text
    .slice(start + 1)
    .split('\n')
    .slice(1)) {
    if (line.startsWith('|')) {
      inTable = true;
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    } else if (inTable) break;
  }
  return rows.slice(2); // header and separator
}

const code = (cell: string | undefined) => cell?.replace(/`/g, '').replace(/\(.*\)$/, '');

describe('docs/ot.md matches the code', () => {
  test('the errors table lists every error code, in order', () => {
    expect(table('## Errors').map(([name]) => code(name))).toEqual(Object.keys(OT_ERRORS));
    expect(Object.keys(otService.errors)).toEqual(Object.keys(OT_ERRORS));
  });

  test('the commands and events tables list every command and event of the service', () => {
    expect(table('## Commands').map(([name]) => code(name))).toEqual(Object.keys(otService.commands));
    expect(table('## Events').map(([name]) => code(name))).toEqual(Object.keys(otService.events));
  });

  test('the options table gives every numeric default', () => {
    const numeric = table('## Options').filter(([, value]) => /^\d+$/.test(value ?? ''));
    expect(Object.fromEntries(numeric.map(([name, value]) => [code(name), Number(value)]))).toEqual(
      OT_DEFAULTS,
    );
  });
});
