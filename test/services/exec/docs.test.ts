import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXEC_DEFAULTS, execService, MINIMAL_ENV } from '../../../src/services/exec/index.js';
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
      'allowEnv',
      'timeoutMs',
      'maxOutputBytes',
      'killGraceMs',
      'cgroup',
    ]);
  });

  it('states the minimal environment as it is', () => {
    const text = readFileSync(new URL('../../../docs/exec.md', import.meta.url), 'utf8');
    const listed = text.slice(
      text.indexOf('`MINIMAL_ENV`'),
      text.indexOf('\n\n', text.indexOf('`MINIMAL_ENV`')),
    );
    const stated = [...listed.matchAll(/`([A-Z]+)=([^`]*)`/g)].map(([, name, value]) => [name, value]);
    expect(Object.fromEntries(stated)).toEqual(MINIMAL_ENV);
    expect(stated.length).toBe(Object.keys(MINIMAL_ENV).length);
  });
});
