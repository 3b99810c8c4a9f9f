import { describe, expect, it } from 'vitest';
import { EXEC_DEFAULTS, execService, MINIMAL_ENV } from '../../../src/services/exec/index.js';
import { table } from '../files/docs-table.js';

describe('docs/exec.md matches the code', () => {
  it('lists every command and error code, in order', () => {
    expect(table('exec.md', '## Commands').map(([name]) => name)).toEqual(Object.keys(execService.commands));
    expect(table('exec.md', '## Errors').map(([code]) => code)).toEqual(Object.keys(execService.errors));
  });

  it('gives each option its default', () => {
    const options = Object.fromEntries(table('exec.md', '## Options').map(([name, value]) => [name, value]));
    for (const [name, value] of Object.entries(EXEC_DEFAULTS)) expect(options[name]).toBe(String(value));
    expect(Object.keys(options)).toEqual([
      'enabled',
      'allow',
      'cwd',
      'env',
      'timeoutMs',
      'maxOutputBytes',
      'killGraceMs',
    ]);
  });

  it('states the minimal environment as it is', () => {
    expect(MINIMAL_ENV).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' });
  });
});
