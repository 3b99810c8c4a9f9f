import { describe, expect, it } from 'vitest';
import { FILES_DEFAULTS, filesService } from '../../../src/services/files/index.js';
import { table } from './docs-table.js';

describe('docs/files.md matches the code', () => {
  it('lists every command and event, in order', () => {
    expect(table('files.md', '## Commands').map(([name]) => name)).toEqual(
      Object.keys(filesService.commands),
    );
    expect(table('files.md', '## Events').map(([name]) => name)).toEqual(Object.keys(filesService.events));
  });

  it('lists every error code the service declares', () => {
    expect(table('files.md', '## Errors').map(([code]) => code)).toEqual(Object.keys(filesService.errors));
  });

  it('gives each option its default', () => {
    const options = Object.fromEntries(table('files.md', '## Options').map(([name, value]) => [name, value]));
    for (const [name, value] of Object.entries(FILES_DEFAULTS)) expect(options[name]).toBe(String(value));
    expect(Object.keys(options)).toEqual(['root', 'watch', 'maxReadBytes']);
  });
});
