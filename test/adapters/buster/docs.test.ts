import { describe, expect, test } from 'vitest';
import { BUSTER_CLOSE, BUSTER_REFUSALS, BUSTER_SETTINGS } from '../../../src/adapters/buster/index.js';
import {
  commandRoute,
  protocolEvent,
  responseEvent,
  WS_ERROR_CODES,
} from '../../../src/wire/buster/index.js';
import { docTable } from '../../support/docs.js';

describe('docs/wire-buster.md matches the code', () => {
  test('the error code table lists the four codes with their doc lines', () => {
    expect(docTable('wire-buster.md', '## Error codes')).toEqual(
      Object.entries(WS_ERROR_CODES).map(([code]) => [code, expect.any(String)]),
    );
  });

  test('the settings table lists every setting with its default', () => {
    const rows = docTable('wire-buster.md', '## Liveness and settings');
    expect(Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]))).toEqual(BUSTER_SETTINGS);
  });

  test('the close code table lists every close with its code and reason', () => {
    expect(
      docTable('wire-buster.md', 'Close codes (ours').map(([name, code, reason]) => [
        name,
        Number(code),
        reason,
      ]),
    ).toEqual(Object.entries(BUSTER_CLOSE).map(([name, entry]) => [name, entry.code, entry.reason]));
  });

  test('the refusal table lists every refusal with its message', () => {
    expect(docTable('wire-buster.md', '### Refusals').map(([code, message]) => [code, message])).toEqual(
      Object.entries(BUSTER_REFUSALS),
    );
  });

  test('the naming table is what the naming functions give', () => {
    const rows = docTable('wire-buster.md', '## Routes and events');
    expect(rows.length).toBe(5);
    for (const [name, route, event] of rows) {
      const [kind, dotted] = (name as string).split(' ');
      const bare = (cell: string | undefined): string => (cell ?? '').replace(/`/g, '').split(' ')[0] ?? '';
      if (kind === 'command') {
        expect(bare(route)).toBe(commandRoute(bare(dotted)));
        expect(bare(event)).toBe(responseEvent(bare(dotted)));
      } else {
        expect(bare(event)).toBe(protocolEvent(bare(dotted)));
      }
    }
  });
});
