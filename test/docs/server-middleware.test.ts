import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readDoc } from '../support/docs.js';

describe('docs/server.md#middleware', () => {
  test('shows examples/middleware.ts as it is, so the example in the docs is the one that runs', () => {
    const example = readFileSync(new URL('../../examples/middleware.ts', import.meta.url), 'utf8');
    const body = example.slice(example.indexOf('\n') + 1);
    expect(readDoc('server.md')).toContain(`\`\`\`ts\n${body}\`\`\``);
  });
});
