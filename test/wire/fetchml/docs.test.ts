import { describe, expect, test } from 'vitest';
import { jobQueueBinding } from '../../../examples/job-queue/fetchml/binding.js';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { ERROR_CODES, SEED_ERROR_CODES } from '../../../src/wire/fetchml/error-codes.js';
import {
  hexByte,
  OPCODES,
  type OperationName,
  REQUEST_LAYOUTS,
  SEED_OPERATIONS,
} from '../../../src/wire/fetchml/opcodes.js';
import { PACKET_TYPES } from '../../../src/wire/fetchml/packets.js';
import { docTable } from '../../support/docs.js';

const unquote = (cell: string) => cell.replace(/`/g, '');

describe('docs/wire-fetchml.md tables match the code', () => {
  test('opcodes: value, name, minimum size, origin and demo command', () => {
    const rows = docTable('wire-fetchml.md', '## Opcodes').map(([code, op, , min, origin, demo]) => [
      code,
      unquote(op!),
      Number(min),
      origin,
      unquote(demo!),
    ]);
    expect(rows).toEqual(
      Object.entries(OPCODES).map(([op, code]) => {
        const bound = jobQueueBinding.operations[op as Exclude<OperationName, 'cancel_stream'>];
        return [
          hexByte(code),
          op,
          REQUEST_LAYOUTS[op as OperationName].minSize,
          SEED_OPERATIONS.has(op as OperationName) ? 'seed' : 'ours',
          bound?.command ?? (op === 'cancel_stream' ? "(the wire's own)" : '(not served)'),
        ];
      }),
    );
  });

  test('packet types', () => {
    expect(docTable('wire-fetchml.md', '## Packets').map(([code, name]) => [code, unquote(name!)])).toEqual(
      Object.entries(PACKET_TYPES).map(([name, code]) => [hexByte(code), name]),
    );
  });

  test('error codes with their origin', () => {
    expect(
      docTable('wire-fetchml.md', '## Error codes').map(([code, name, , origin]) => [
        code,
        unquote(name!),
        origin,
      ]),
    ).toEqual(
      Object.entries(ERROR_CODES).map(([name, code]) => [
        hexByte(code),
        name,
        SEED_ERROR_CODES.has(name as keyof typeof ERROR_CODES) ? 'seed' : 'ours',
      ]),
    );
  });
});

test('the hostile-input table states the JSON maxDepth default and the answer a deeper field gets', () => {
  expect(docTable('wire-fetchml.md', '## Hostile input')).toEqual([
    [
      '`maxDepth` of JSON fields (the demo binding)',
      String(DEFAULT_MAX_DEPTH),
      `error packet ${hexByte(ERROR_CODES.INVALID_REQUEST)} \`INVALID_REQUEST\`, details \`{"code":"BAD_MESSAGE"}\`; the connection stays open`,
    ],
  ]);
});
