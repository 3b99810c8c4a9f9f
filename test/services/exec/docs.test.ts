import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DENIED_ENV, EXEC_DEFAULTS, execService, MINIMAL_ENV } from '../../../src/services/exec/index.js';
import { docTable } from '../../support/docs.js';

describe('docs/exec.md matches the code', () => {
  it('lists every command and error code, in order', () => {
    expect(docTable('exec.md', '## Commands', { stripCode: true }).map(([name]) => name)).toEqual(
      Object.keys(execService.commands),
    );
    expect(docTable('exec.md', '## Errors', { stripCode: true }).map(([code]) => code)).toEqual(
      Object.keys(execService.errors),
    );
  });

  it('gives each option its default', () => {
    const options = Object.fromEntries(
      docTable('exec.md', '## Options', { stripCode: true }).map(([name, value]) => [name, value]),
    );
    for (const [name, value] of Object.entries(EXEC_DEFAULTS)) expect(options[name]).toBe(String(value));
    expect(Object.keys(options)).toEqual([
      'enabled',
      'allow',
      'cwd',
      'env',
      'timeoutMs',
      'maxOutputBytes',
      'killGraceMs',
      'denyEnv',
    ]);
  });

  it('states the minimal environment and the denied variables as they are', () => {
    expect(MINIMAL_ENV).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' });
    const text = readFileSync(new URL('../../../docs/exec.md', import.meta.url), 'utf8');
    const listed = text.slice(
      text.indexOf('`DENIED_ENV`:'),
      text.indexOf('\n\n', text.indexOf('`DENIED_ENV`:')),
    );
    const names = DENIED_ENV.map((rule) => (typeof rule === 'string' ? rule : `${rule.source.slice(1)}*`));
    for (const name of names) expect(listed).toContain(`\`${name}\``);
    expect(listed.match(/`[A-Z0-9_]+\*?`/g)?.length).toBe(names.length + 1); // and `DENIED_ENV` itself
  });
});
