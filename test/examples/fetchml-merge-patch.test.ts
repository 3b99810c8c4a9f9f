import { expect, test } from 'vitest';
import { jobQueueBinding } from '../../examples/job-queue/fetchml/binding.js';
import { RunBook } from '../../examples/job-queue/fetchml/runs.js';
import { RequestError } from '../../src/protocol/errors.js';
import { encodeRequest } from '../../src/wire/fetchml/request.js';
import { fetchmlWire } from '../../src/wire/fetchml/wire.js';

const key = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const narrativeFrame = (patch: string) =>
  encodeRequest('set_run_narrative', { api_key_hash: key, job_name: 'j', patch } as never);
const nestedText = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

test('a narrative merge patch nested deeper than 64 is a BAD_MESSAGE before it is parsed', () => {
  const wire = fetchmlWire({ binding: jobQueueBinding, now: () => 0 });
  expect(wire.decode(narrativeFrame(nestedText(10_000)))).toEqual({
    ok: false,
    error: { code: 'BAD_MESSAGE', message: 'set_run_narrative: patch nested deeper than 64 levels' },
  });
  expect(wire.decode(narrativeFrame(nestedText(64)))).toMatchObject({
    ok: true,
    message: { type: 'call', command: 'runs.narrative' },
  });
});

test('RunBook refuses a merge patch deeper than 64 before merging, and merges one within it', () => {
  const runs = new RunBook();
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  const refusal = (() => {
    try {
      runs.patchNarrative('job', deep);
    } catch (error) {
      return error;
    }
  })();
  expect(refusal).toBeInstanceOf(RequestError);
  expect([(refusal as RequestError).code, (refusal as RequestError).message]).toEqual([
    'INVALID_INPUT',
    'patch nested deeper than 64 levels',
  ]);
  expect(runs.of('job').narrative).toEqual({});
  expect(runs.patchNarrative('job', JSON.parse(nestedText(64)))).toEqual(JSON.parse(nestedText(64)));
});
