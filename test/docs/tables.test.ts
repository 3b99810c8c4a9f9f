import { describe, expect, test } from 'vitest';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { BUILTIN_ERRORS } from '../../src/protocol/error-codes.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { docTable } from '../support/docs.js';

describe('docs tables match the code', () => {
  test('wire-json.md lists every close code with its number and retry rule', () => {
    const rows = docTable('wire-json.md', '## Close codes');
    expect(rows.map(([code, name, , retry]) => [Number(code), name, retry])).toEqual(
      Object.entries(CLOSE_CODES).map(([name, entry]) => [entry.code, name, entry.retry ? 'yes' : 'no']),
    );
  });

  test.each(['wire-json.md', 'errors.md'])('%s lists every built-in error code with its kind', (doc) => {
    const rows = docTable(doc, doc === 'errors.md' ? '## Built-in error codes' : '## Error codes');
    expect(rows.map(([code, kind]) => [code, kind])).toEqual(
      Object.entries(BUILTIN_ERRORS).map(([code, entry]) => [code, entry.kind]),
    );
  });

  test('limits.md lists every limit with its default', () => {
    const rows = [...docTable('limits.md', '# Limits'), ...docTable('limits.md', '### Connection limits')];
    expect(Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]))).toEqual(DEFAULT_LIMITS);
  });
});
