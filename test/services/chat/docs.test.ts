import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CHAT_DEFAULTS, CHAT_ERRORS, chatService } from '../../../src/services/chat/index.js';

/** The rows of the first markdown table after `heading` in docs/chat.md, as trimmed cells. */
function table(heading: string): string[][] {
  const text = readFileSync(new URL('../../../docs/chat.md', import.meta.url), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/chat.md has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of text
    .slice(start + 1)
    .split('\n')
    .slice(1)) {
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

const code = (cell: string | undefined) => cell?.replace(/`/g, '');

describe('docs/chat.md matches the code', () => {
  test('the limits table lists every option with its default', () => {
    expect(
      Object.fromEntries(table('## Limits').map(([name, value]) => [code(name), Number(value)])),
    ).toEqual(CHAT_DEFAULTS);
  });

  test('the errors table lists every error code the service declares', () => {
    expect(table('## Errors').map(([name]) => code(name))).toEqual(Object.keys(CHAT_ERRORS));
  });

  test('the commands and events tables list every command and event, in order', () => {
    expect(table('## Commands').map(([name]) => code(name))).toEqual(Object.keys(chatService.commands));
    expect(table('## Events').map(([name]) => code(name))).toEqual(Object.keys(chatService.events));
  });
});
