import { expect, test } from 'vitest';
import { FRAME_TYPES, isRequestType, isResponseType } from '../../../src/wire/sandbox-sync/index.js';
import { table } from './doc-table.js';

test('the frames table lists every frame type once, with its direction', () => {
  const rows = table('## Frames');
  expect(rows.map(([type]) => type).sort()).toEqual([...FRAME_TYPES].sort());
  for (const [type, direction] of rows) {
    expect(direction).toBe(isRequestType(type!) ? 'Worker → ws-proxy' : 'ws-proxy → Worker');
    if (isResponseType(type!)) expect(direction).toBe('ws-proxy → Worker');
  }
});
