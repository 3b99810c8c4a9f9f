import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  OtClient,
  OtDocument,
  type OutgoingPacket,
  type Packet,
} from '../../../src/services/ot/index.js';
import { build, type Piece, pieces, text } from './arbitraries.js';

const EDITORS = 3;

/** One step of a run: an editor edits, the server takes an editor's next packet, or an editor reads one. */
type Step =
  | { kind: 'edit'; editor: number; recipe: Piece[] }
  | { kind: 'up'; editor: number }
  | { kind: 'down'; editor: number; pick: number };

const editor = fc.nat(EDITORS - 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('edit' as const), editor, recipe: pieces }),
  fc.record({ kind: fc.constant('up' as const), editor }),
  fc.record({ kind: fc.constant('down' as const), editor, pick: fc.nat() }),
);

interface Link {
  readonly client: OtClient;
  /** Client → server, FIFO. */
  readonly up: OutgoingPacket[];
  /** Server → client: replies to its packets and the others' packets. */
  readonly down: { packet: Packet; own: boolean }[];
}

/**
 * Runs three editors against one server document. `ordered` keeps each server → client link FIFO;
 * otherwise a client reads its waiting packets in any order (the client must reorder by version).
 */
function run(initial: string, steps: readonly Step[], ordered: boolean) {
  const server = new OtDocument({ contents: initial });
  /** Packets the server had to transform: made on a version others had moved past. */
  let stale = 0;
  const links: Link[] = [];
  for (let i = 0; i < EDITORS; i++) {
    const up: OutgoingPacket[] = [];
    const client = new OtClient({ contents: initial, version: 0, send: (packet) => up.push(packet) });
    links.push({ client, up, down: [] });
  }
  const deliverUp = (index: number) => {
    const link = links[index] as Link;
    const packet = link.up.shift();
    if (packet === undefined) return;
    if (packet.version < server.version) stale++;
    const applied = server.apply(packet.version, packet.ops);
    for (const [i, other] of links.entries()) other.down.push({ packet: applied, own: i === index });
  };
  const deliverDown = (index: number, pick: number) => {
    const link = links[index] as Link;
    if (link.down.length === 0) return;
    const [{ packet, own }] = link.down.splice(ordered ? 0 : pick % link.down.length, 1) as [Link['down'][0]];
    if (own) link.client.acknowledge(packet);
    else link.client.receive(packet);
  };
  let edits = 0;
  for (const s of steps) {
    if (s.kind === 'edit') {
      const client = (links[s.editor] as Link).client;
      client.edit(build(s.recipe, Array.from(client.text).length));
      edits++;
    } else if (s.kind === 'up') deliverUp(s.editor);
    else deliverDown(s.editor, s.pick);
  }
  // Let the network settle: every packet reaches the server, every reply and event its editor.
  for (let busy = true; busy; ) {
    busy = false;
    for (let i = 0; i < EDITORS; i++) {
      const link = links[i] as Link;
      if (link.up.length > 0 || link.down.length > 0) busy = true;
      deliverUp(i);
      deliverDown(i, 0);
    }
  }
  return { server, clients: links.map((link) => link.client), edits, stale };
}

describe('three concurrent editors', () => {
  it('end with identical text, version and crc32 whatever the interleaving (FIFO links)', () => {
    let transformed = 0;
    fc.assert(
      fc.property(
        text(),
        fc.array(step, { minLength: 10, maxLength: 150, size: 'max' }),
        (initial, steps) => {
          const { server, clients, stale } = run(initial, steps, true);
          transformed += stale;
          for (const client of clients) {
            expect(client.state).toBe('synchronized');
            expect(client.text).toBe(server.contents);
            expect(client.version).toBe(server.version);
            expect(crc32(client.text)).toBe(server.crc32);
          }
        },
      ),
      { numRuns: 1000 },
    );
    // The runs must really cross edits: many packets reached the server behind others.
    expect(transformed).toBeGreaterThan(3000);
  });

  it('converge when replies and events reach a client out of order', () => {
    fc.assert(
      fc.property(
        text(),
        fc.array(step, { minLength: 10, maxLength: 150, size: 'max' }),
        (initial, steps) => {
          const { server, clients } = run(initial, steps, false);
          for (const client of clients) {
            expect([client.text, client.version, crc32(client.text)]).toEqual([
              server.contents,
              server.version,
              server.crc32,
            ]);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps each editor’s own text in step with its edits while others type', () => {
    // A fixed run: every editor appends its letter five times, nothing delivered until the end.
    const steps: Step[] = [];
    for (let round = 0; round < 5; round++) {
      for (let e = 0; e < EDITORS; e++) {
        steps.push({ kind: 'edit', editor: e, recipe: [{ kind: 'insert', text: 'ABC'[e] as string }] });
        steps.push({ kind: 'up', editor: e });
      }
    }
    const { server, clients, edits } = run('', steps, true);
    expect(edits).toBe(15);
    // "ABC" from the first packets (an earlier commit's insert goes first at a tie); each editor's
    // next four inserts were buffered into one packet and land next to its first letter.
    expect(server.contents).toBe('AAAAABBBBBCCCCC');
    expect(clients.map((c) => c.text)).toEqual([server.contents, server.contents, server.contents]);
    // Each editor sent two packets: its first edit, then its four buffered edits composed.
    expect(server.version).toBe(6);
  });
});
