import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { BUILTIN_ERRORS } from '../../src/protocol/error-codes.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';

/** The rows of the markdown table that follows `heading` in a doc, as arrays of trimmed cells. */
function table(doc: string, heading: string): string[][] {
  const text = readFileSync(new URL(`../../docs/${doc}`, import.meta.url), 'utf8');
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`${doc} has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of text.slice(start).split('\n').slice(1)) {
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

describe('docs tables match the code', () => {
  test('wire-json.md lists every close code with its number and retry rule', () => {
    const rows = table('wire-json.md', '## Close codes');
    expect(rows.map(([code, name, , retry]) => [Number(code), name, retry])).toEqual(
      Object.entries(CLOSE_CODES).map(([name, entry]) => [entry.code, name, entry.retry ? 'yes' : 'no']),
    );
  });

  test.each(['wire-json.md', 'errors.md'])('%s lists every built-in error code with its kind', (doc) => {
    const rows = table(doc, doc === 'errors.md' ? '## Built-in error codes' : '## Error codes');
    expect(rows.map(([code, kind]) => [code, kind])).toEqual(
      Object.entries(BUILTIN_ERRORS).map(([code, entry]) => [code, entry.kind]),
    );
  });

  test('limits.md lists every limit with its default', () => {
    const rows = table('limits.md', '# Limits');
    expect(Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]))).toEqual(DEFAULT_LIMITS);
  });
});
