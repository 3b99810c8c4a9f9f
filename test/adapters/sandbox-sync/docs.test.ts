import { expect, test } from 'vitest';
import { PROXY_DEFAULTS, WORKER_DEFAULTS } from '../../../src/adapters/sandbox-sync/index.js';
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
