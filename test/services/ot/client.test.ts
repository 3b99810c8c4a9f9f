import { describe, expect, it } from 'vitest';
import {
  crc32,
  OtClient,
  OtError,
  type OutgoingPacket,
  transformPosition,
} from '../../../src/services/ot/index.js';

function client(contents = 'abc', version = 0) {
  const sent: OutgoingPacket[] = [];
  const remote: unknown[] = [];
  const doc = new OtClient({
    contents,
    version,
    send: (p) => sent.push(p),
    onRemote: (ops) => remote.push(ops),
  });
  return { doc, sent, remote };
}

function diverged(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OtError);
    expect((error as OtError).code).toBe('OT_DIVERGED');
    return (error as OtError).message;
  }
  throw new Error('expected OT_DIVERGED');
}

describe('OtClient', () => {
  it('sends one packet, buffers the rest composed, and sends the buffer on the reply', () => {
    const { doc, sent } = client();
    doc.edit([{ insert: '1' }]);
    expect([doc.state, doc.text]).toEqual(['awaitingConfirm', '1abc']);
    doc.edit([{ skip: 4 }, { insert: '2' }]);
    doc.edit([{ skip: 1 }, { delete: 1 }]);
    expect([doc.state, doc.text]).toEqual(['awaitingWithBuffer', '1bc2']);
    expect(sent).toEqual([{ version: 0, ops: [{ insert: '1' }] }]);
    doc.acknowledge({ version: 1, ops: [{ insert: '1' }], crc32: crc32('1abc') });
    expect(sent[1]).toEqual({ version: 1, ops: [{ skip: 1 }, { delete: 1 }, { skip: 2 }, { insert: '2' }] });
    expect(doc.state).toBe('awaitingConfirm');
    doc.acknowledge({ version: 2, ops: sent[1]?.ops ?? [], crc32: crc32('1bc2') });
    expect([doc.state, doc.version, doc.text]).toEqual(['synchronized', 2, '1bc2']);
  });

  it('transforms a remote packet past the packet in flight and the buffer', () => {
    const { doc, sent, remote } = client('abc');
    doc.edit([{ insert: 'X' }]);
    doc.edit([{ skip: 4 }, { insert: 'Y' }]);
    // Committed before ours: "abc" → "abc!".
    doc.receive({ version: 1, ops: [{ skip: 3 }, { insert: '!' }], crc32: crc32('abc!') });
    expect(remote).toEqual([[{ skip: 4 }, { insert: '!' }]]);
    // The server put "!" first, so at the tie with the buffered "Y" the "!" stays in front.
    expect(doc.text).toBe('Xabc!Y');
    doc.acknowledge({ version: 2, ops: [{ insert: 'X' }], crc32: crc32('Xabc!') });
    expect(sent[1]).toEqual({ version: 2, ops: [{ skip: 5 }, { insert: 'Y' }] });
  });

  it('applies packets in version order whatever order they arrive in', () => {
    const { doc, remote } = client('');
    doc.receive({ version: 2, ops: [{ skip: 1 }, { insert: 'b' }], crc32: crc32('ab') });
    expect([doc.version, doc.text, doc.waiting]).toEqual([0, '', [2]]);
    doc.receive({ version: 1, ops: [{ insert: 'a' }], crc32: crc32('a') });
    expect([doc.version, doc.text, doc.waiting]).toEqual([2, 'ab', []]);
    expect(remote).toEqual([[{ insert: 'a' }], [{ skip: 1 }, { insert: 'b' }]]);
  });

  it('refuses a packet whose crc32 differs from its copy of the server text', () => {
    const { doc } = client('abc');
    expect(diverged(() => doc.receive({ version: 1, ops: [{ insert: 'x' }], crc32: 1 }))).toBe(
      `packet 1: crc32 1, the client has ${crc32('xabc')}`,
    );
  });

  it('refuses a packet seen twice and a reply to nothing', () => {
    const { doc } = client('');
    doc.receive({ version: 1, ops: [{ insert: 'a' }], crc32: crc32('a') });
    expect(diverged(() => doc.receive({ version: 1, ops: [{ insert: 'a' }], crc32: crc32('a') }))).toBe(
      'packet 1 came twice (at version 1)',
    );
    expect(diverged(() => doc.acknowledge({ version: 2, ops: [{ insert: 'b' }], crc32: crc32('ba') }))).toBe(
      'packet 2 confirms nothing the client sent',
    );
  });

  it('drops an edit that changes nothing and refuses one that does not fit', () => {
    const { doc, sent } = client('😀');
    doc.edit([{ skip: 1 }]);
    expect([doc.state, sent]).toEqual(['synchronized', []]);
    expect(() => doc.edit([{ skip: 2 }])).toThrow('op 0: skip of 2 at 0 passes the end (length 1)');
  });
});

describe('transformPosition on an unnormalised edit', () => {
  it('moves a caret alike for delete-then-insert and insert-then-delete', () => {
    expect(transformPosition(0, [{ delete: 2 }, { insert: 'x' }])).toBe(1);
    expect(transformPosition(0, [{ insert: 'x' }, { delete: 2 }])).toBe(1);
  });
});
