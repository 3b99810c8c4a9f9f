import { describe, expect, test } from 'vitest';
import { OT_DEFAULTS, OT_ERRORS, otService } from '../../../src/services/ot/index.js';
import { docTable } from '../../support/docs.js';

const code = (cell: string | undefined) => cell?.replace(/`/g, '').replace(/\(.*\)$/, '');

describe('docs/ot.md matches the code', () => {
  test('the errors table lists every error code, in order', () => {
    expect(docTable('ot.md', '## Errors').map(([name]) => code(name))).toEqual(Object.keys(OT_ERRORS));
    expect(Object.keys(otService.errors)).toEqual(Object.keys(OT_ERRORS));
  });

  test('the commands and events tables list every command and event of the service', () => {
    expect(docTable('ot.md', '## Commands').map(([name]) => code(name))).toEqual(
      Object.keys(otService.commands),
    );
    expect(docTable('ot.md', '## Events').map(([name]) => code(name))).toEqual(Object.keys(otService.events));
  });

  test('the options table gives every numeric default', () => {
    const numeric = docTable('ot.md', '## Options').filter(([, value]) => /^\d+$/.test(value ?? ''));
    expect(Object.fromEntries(numeric.map(([name, value]) => [code(name), Number(value)]))).toEqual(
      OT_DEFAULTS,
    );
  });
});
