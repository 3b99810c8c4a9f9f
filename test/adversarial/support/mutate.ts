/**
 * fast-check generators seeded from a wire's golden frames: real frames mutated (bytes flipped,
 * cut, spliced, values of a JSON frame replaced by hostile ones), not only random noise.
 */
import fc from 'fast-check';

/** `[[[…]]]` nested `depth` levels. */
export function deepArray(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** `{"a":{"a":…{}}}` nested `depth` levels. */
export function deepObject(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

/** Values nested past the default depth limit. */
const deepValues = [deepArray(65), deepObject(65), deepArray(2000)];

/** Values a peer may put anywhere a JSON value goes, chosen to hurt; `deep` adds ones past maxDepth. */
export function hostileValue(deep = true): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '1e400',
      '-1e400',
      '123456789012345678901234567890',
      '9007199254740993',
      '-0',
      '0.1e-400',
      'null',
      'true',
      '""',
      '{}',
      '[]',
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '"__proto__"',
      '"constructor"',
      '"toString"',
      ...(deep ? deepValues : []),
    ),
    fc.double().map((n) => (Number.isFinite(n) ? JSON.stringify(n) : '0')),
    fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
    fc.integer().map(String),
  );
}

/** Replaces one JSON value (a leaf, or a whole object/array) of `json` at a random place. */
function replaceValue(json: string, at: number, replacement: string): string {
  // Value starts: after `:`, `[` or `,` (skipping spaces). Strings' insides are skipped.
  const starts: number[] = [];
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ':' || c === '[' || c === ',') starts.push(i + 1);
  }
  if (!starts.length) return replacement;
  const start = starts[at % starts.length] as number;
  const end = valueEnd(json, start);
  return json.slice(0, start) + replacement + json.slice(end);
}

/** Index just past the JSON value starting at `start` (best effort on valid JSON). */
function valueEnd(json: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (c === ',' && depth === 0) return i;
  }
  return json.length;
}

/** A golden JSON frame with one to three of its values replaced by hostile ones. */
export function mutatedJson(
  golden: readonly string[],
  options: { deep?: boolean } = {},
): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...golden),
      fc.array(fc.tuple(fc.nat(), hostileValue(options.deep ?? true)), { minLength: 1, maxLength: 3 }),
    )
    .map(([frame, edits]) => edits.reduce((json, [at, value]) => replaceValue(json, at, value), frame));
}

/** A golden frame with bytes flipped, cut, duplicated or spliced with another golden frame. */
export function mutatedBytes(golden: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), other: fc.nat() }),
  );
  return fc
    .tuple(fc.constantFrom(...golden), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([frame, edits]) => {
      let bytes = Buffer.from(frame);
      for (const e of edits) {
        const at = bytes.length ? e.at % bytes.length : 0;
        if (e.kind === 'flip' && bytes.length) bytes[at] = e.value;
        else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
        else if (e.kind === 'insert')
          bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
        else if (e.kind === 'splice') {
          const other = golden[e.other % golden.length] as Uint8Array;
          bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(at % Math.max(other.length, 1))]);
        }
      }
      return new Uint8Array(bytes);
    });
}

/** A golden frame cut at a random point (never whole). */
export function truncated(golden: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...golden.filter((g) => g.length > 1)), fc.nat())
    .map(([frame, at]) => frame.subarray(0, 1 + (at % (frame.length - 1))));
}

/** Bytes that are not UTF-8: a golden text frame with a lone continuation byte or an overlong form in it. */
export function invalidUtf8(golden: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.constantFrom(...golden),
      fc.nat(),
      fc.constantFrom(
        [0x80],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xff],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xe2, 0x82],
      ),
    )
    .map(([frame, at, bad]) => {
      const i = at % (frame.length + 1);
      return new Uint8Array(Buffer.concat([frame.subarray(0, i), Buffer.from(bad), frame.subarray(i)]));
    })
    .filter((bytes) => !isUtf8(bytes));
}

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
