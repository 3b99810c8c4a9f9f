import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exec } from '../../../src/services/exec/index.js';
import type { ExecItem } from '../../../src/services/exec/service.js';
import { LocalInstance } from '../files/service-context.js';

const node = process.execPath;

/** Writes each base64 piece to stdout (or stderr) as its own write, the next only once the last was flushed. */
const WRITER = `
const [target, ...pieces] = JSON.parse(process.argv[1]);
const out = target === 'error' ? process.stderr : process.stdout;
const next = (i) => { if (i < pieces.length) out.write(Buffer.from(pieces[i], 'base64'), () => setImmediate(next, i + 1)); };
next(0);`;

/** A string cut into byte pieces at arbitrary points, through characters as often as not. */
const cutText = fc
  .tuple(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.constantFrom('output', 'error'),
  )
  .map(([text, cuts, kind]) => {
    const bytes = Buffer.from(text);
    const points = [...new Set(cuts.map((cut) => cut % bytes.length))]
      .filter((p) => p > 0)
      .sort((a, b) => a - b);
    const pieces: string[] = [];
    let from = 0;
    for (const point of [...points, bytes.length]) {
      pieces.push(bytes.subarray(from, point).toString('base64'));
      from = point;
    }
    return { text, pieces, kind: kind as 'output' | 'error' };
  });

describe('exec: property', () => {
  it('output cut anywhere, even inside a character, arrives as the text that was written', async () => {
    const service = exec({ enabled: true, allow: [node] });
    const local = await LocalInstance.start(service);
    const session = await local.attach();
    await fc.assert(
      fc.asyncProperty(cutText, async ({ text, pieces, kind }) => {
        const items: ExecItem[] = [];
        const run = service.handlers.run(
          { args: [node, '-e', WRITER, JSON.stringify([kind, ...pieces])] },
          local.context(session),
        ) as AsyncIterable<ExecItem>;
        for await (const item of run) items.push(item);
        expect(items.at(-1)).toEqual({ kind: 'exit', code: 0 });
        const chunks = items.slice(0, -1);
        expect(chunks.every((item) => item.kind === kind)).toBe(true);
        expect(chunks.map((item) => (item.kind === 'exit' ? '' : item.data)).join('')).toBe(text);
      }),
      { numRuns: 25 },
    );
  });
});
