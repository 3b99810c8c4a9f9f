import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { HEMI_CLOSE_CODES } from '../../../src/wire/hemi/close-codes.js';
import { HEMI_TIMEOUTS } from '../../../src/wire/hemi/timeouts.js';

const doc = readFileSync(new URL('../../../docs/wire-hemi.md', import.meta.url), 'utf8');

/** The rows of the markdown table that follows `heading`, as arrays of trimmed cells. */
function table(heading: string): string[][] {
  const start = doc.indexOf(heading);
  if (start < 0) throw new Error(`wire-hemi.md has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of doc.slice(start).split('\n').slice(1)) {
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
  return rows.slice(2);
}

describe('docs/wire-hemi.md matches the code', () => {
  test('the close-code table lists every Hemi close code with its number, in order', () => {
    expect(table('## Close codes').map(([code, name]) => [Number(code), name])).toEqual(
      Object.entries(HEMI_CLOSE_CODES).map(([name, code]) => [code, name]),
    );
  });

  test('the timeouts table lists every constant with its value', () => {
    const parse = (value: string) => {
      const [amount, unit] = value.split(' ');
      return Number(amount) * (unit === 's' ? 1000 : unit === 'KiB' ? 1024 : 1);
    };
    const rows = table('## Timeouts and limits');
    expect(
      Object.fromEntries(rows.map(([name, value]) => [name!.replaceAll('`', ''), parse(value!)])),
    ).toEqual(HEMI_TIMEOUTS);
  });
});
