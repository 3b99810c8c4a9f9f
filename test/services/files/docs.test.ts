import { describe, expect, it } from 'vitest';
import { FILES_DEFAULTS, filesService } from '../../../src/services/files/index.js';
import { docTable } from '../../support/docs.js';

describe('docs/files.md matches the code', () => {
  it('lists every command and event, in order', () => {
    expect(docTable('files.md', '## Commands', { stripCode: true }).map(([name]) => name)).toEqual(
      Object.keys(filesService.commands),
    );
    expect(docTable('files.md', '## Events', { stripCode: true }).map(([name]) => name)).toEqual(
      Object.keys(filesService.events),
    );
  });

  it('lists every error code the service declares', () => {
    expect(docTable('files.md', '## Errors', { stripCode: true }).map(([code]) => code)).toEqual(
      Object.keys(filesService.errors),
    );
  });

  it('gives each option its default', () => {
    const options = Object.fromEntries(
      docTable('files.md', '## Options', { stripCode: true }).map(([name, value]) => [name, value]),
    );
    for (const [name, value] of Object.entries(FILES_DEFAULTS)) expect(options[name]).toBe(String(value));
    expect(Object.keys(options)).toEqual(['root', 'watch', 'maxReadBytes', 'maxWalkDepth', 'maxWalkEntries']);
  });
});
