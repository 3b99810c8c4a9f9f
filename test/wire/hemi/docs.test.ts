import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { HEMI_CLOSE_CODES } from '../../../src/wire/hemi/close-codes.js';
import { HEMI_TIMEOUTS } from '../../../src/wire/hemi/timeouts.js';
import { docTable } from '../../support/docs.js';

describe('docs/wire-hemi.md matches the code', () => {
  test('the close-code table lists every Hemi close code with its number, in order', () => {
    expect(docTable('wire-hemi.md', '## Close codes').map(([code, name]) => [Number(code), name])).toEqual(
      Object.entries(HEMI_CLOSE_CODES).map(([name, code]) => [code, name]),
    );
  });

  test('the hostile-input table states the maxDepth default and the close a deep frame gets', () => {
    expect(docTable('wire-hemi.md', '## Hostile input')).toEqual([
      [
        '`maxDepth`',
        String(DEFAULT_MAX_DEPTH),
        `close ${HEMI_CLOSE_CODES.INVALID_COMMAND}, reason \`invalid command: nested deeper than ${DEFAULT_MAX_DEPTH} levels\``,
      ],
    ]);
  });

  test('the timeouts table lists every constant with its value', () => {
    const parse = (value: string) => {
      const [amount, unit] = value.split(' ');
      return Number(amount) * (unit === 's' ? 1000 : unit === 'KiB' ? 1024 : 1);
    };
    const rows = docTable('wire-hemi.md', '## Timeouts and limits');
    expect(
      Object.fromEntries(rows.map(([name, value]) => [name!.replaceAll('`', ''), parse(value!)])),
    ).toEqual(HEMI_TIMEOUTS);
  });
});
