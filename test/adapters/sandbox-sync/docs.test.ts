import { expect, test } from 'vitest';
import { PROXY_DEFAULTS, WORKER_DEFAULTS } from '../../../src/adapters/sandbox-sync/index.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { table } from '../../wire/sandbox-sync/doc-table.js';

test('the timings table matches the defaults of both ends', () => {
  const rows = table('## Timings').map(([setting, value, end]) => [setting, Number(value), end]);
  const expected = [
    ...Object.entries(PROXY_DEFAULTS)
      .filter(([name]) => name !== 'maxPayload')
      .map(([name, value]) => [name, value, 'ws-proxy']),
    ...Object.entries(WORKER_DEFAULTS)
      .filter(([name]) => name !== 'maxPayload')
      .map(([name, value]) => [name, value, 'Worker']),
    ['maxPayload', PROXY_DEFAULTS.maxPayload, 'both'],
  ];
  expect(rows).toEqual(expected);
  expect(WORKER_DEFAULTS.maxPayload).toBe(PROXY_DEFAULTS.maxPayload);
});

test('the hostile-input table states the maxDepth default and what a deeper message gets', () => {
  expect(table('## Hostile input')).toEqual([
    ['maxDepth', String(DEFAULT_MAX_DEPTH), 'dropped, rejected event BAD_FRAME (the link stays open)'],
  ]);
});
