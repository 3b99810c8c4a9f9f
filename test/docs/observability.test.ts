import { describe, expect, test } from 'vitest';
import { DEFAULT_LOG_BUDGET, LOG_EVENTS } from '../../src/server/log-events.js';
import { docTable } from '../support/docs.js';

describe('docs/observability.md', () => {
  test('the connection events table lists every event with its level and fields', () => {
    const rows = docTable('observability.md', '### Connection events', { stripCode: true });
    expect(
      rows.map(([event, level, , fields]) => [event, level, fields!.split(',').map((f) => f.trim())]),
    ).toEqual(Object.entries(LOG_EVENTS).map(([event, { level, fields }]) => [event, level, [...fields]]));
  });

  test('the log budget table gives every budget with its default', () => {
    const rows = docTable('observability.md', '### Log budget', { stripCode: true });
    expect(rows.map(([name, value]) => [name, Number(value)])).toEqual(Object.entries(DEFAULT_LOG_BUDGET));
  });
});
