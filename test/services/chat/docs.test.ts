import { describe, expect, test } from 'vitest';
import { CHAT_DEFAULTS, CHAT_ERRORS, chatService } from '../../../src/services/chat/index.js';
import { docTable } from '../../support/docs.js';

const code = (cell: string | undefined) => cell?.replace(/`/g, '');

describe('docs/chat.md matches the code', () => {
  test('the limits table lists every option with its default', () => {
    expect(
      Object.fromEntries(
        docTable('chat.md', '## Limits').map(([name, value]) => [code(name), Number(value)]),
      ),
    ).toEqual(CHAT_DEFAULTS);
  });

  test('the errors table lists every error code the service declares', () => {
    expect(docTable('chat.md', '## Errors').map(([name]) => code(name))).toEqual(Object.keys(CHAT_ERRORS));
  });

  test('the commands and events tables list every command and event, in order', () => {
    expect(docTable('chat.md', '## Commands').map(([name]) => code(name))).toEqual(
      Object.keys(chatService.commands),
    );
    expect(docTable('chat.md', '## Events').map(([name]) => code(name))).toEqual(
      Object.keys(chatService.events),
    );
  });
});
