import fc from 'fast-check';

/**
 * Generators of hostile peer input for the wires' decoders, seeded from each wire's golden frames:
 * garbage, mutations, deep nesting placed in any field a peer controls, prototype keys.
 */

/** JSON text of `depth` nested arrays (or objects, alternating), deepest holding `0`. Built without recursion. */
export function nestedJson(depth: number, shape: 'array' | 'object' | 'mixed' = 'array'): string {
  let open = '';
  let close = '';
  for (let level = 0; level < depth; level++) {
    const object = shape === 'object' || (shape === 'mixed' && level % 2 === 1);
    open += object ? '{"a":' : '[';
    close = (object ? '}' : ']') + close;
  }
  return `${open}0${close}`;
}

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
export function pathsOf(value: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.path.length > 0) out.push(top.path);
    if (typeof top.value !== 'object' || top.value === null) continue;
    const entries = Array.isArray(top.value) ? top.value.entries() : Object.entries(top.value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...top.path, key] });
  }
  return out;
}

/** JSON text of `value` with the value at `path` replaced by `nested` (raw JSON text). */
export function withRawAt(value: unknown, path: readonly (string | number)[], nested: string): string {
  const marker = '"@@nested-value-marker@@"';
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = JSON.parse(marker);
  return JSON.stringify(copy).replace(marker, nested);
}

/**
 * A golden frame with deep nesting (past `limit`) put at any one of its fields, or wrapped around it.
 * Every peer-controlled position is reached: the generator picks among all paths of the frame.
 */
export function deepInFrame(golden: unknown, limit: number): fc.Arbitrary<string> {
  const paths = pathsOf(golden);
  const depth = fc.integer({ min: limit + 1, max: limit + 2_000 });
  const shape = fc.constantFrom('array' as const, 'object' as const, 'mixed' as const);
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...paths), depth, shape)
      .map(([path, d, s]) => withRawAt(golden, path, nestedJson(d, s))),
    fc.tuple(depth, shape).map(([d, s]) => nestedJson(d, s)),
    // The whole frame wrapped deep: the decoder must refuse before reading any field.
    depth.map((d) => `${'['.repeat(d)}${JSON.stringify(golden)}${']'.repeat(d)}`),
  );
}

/** Mutations of a golden text frame: cut, spliced with random text, bytes flipped, keys swapped for prototype keys. */
export function mutatedText(golden: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: golden.length }).map((at) => golden.slice(0, at)),
    fc
      .tuple(fc.nat({ max: golden.length }), fc.string({ maxLength: 20 }), fc.nat({ max: 5 }))
      .map(([at, text, drop]) => golden.slice(0, at) + text + golden.slice(at + drop)),
    fc
      .tuple(fc.nat({ max: Math.max(0, golden.length - 1) }), fc.integer({ min: 0, max: 0xffff }))
      .map(([at, code]) => golden.slice(0, at) + String.fromCharCode(code) + golden.slice(at + 1)),
    fc
      .constantFrom('__proto__', 'constructor', 'prototype')
      .chain((key) =>
        fc
          .constantFrom(...(golden.match(/"[^"\\]+"\s*:/g) ?? ['"x":']))
          .map((found) => golden.replace(found, `"${key}":`)),
      ),
  );
}

/** Mutations of a golden binary frame: cut, extended, bytes flipped or spliced. */
export function mutatedBytes(golden: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.nat({ max: golden.length }).map((at) => golden.slice(0, at)),
    fc
      .tuple(fc.nat({ max: golden.length }), fc.uint8Array({ maxLength: 32 }), fc.nat({ max: 8 }))
      .map(([at, bytes, drop]) => {
        const out = new Uint8Array(golden.length + bytes.length);
        out.set(golden.subarray(0, at));
        out.set(bytes, at);
        out.set(golden.subarray(Math.min(golden.length, at + drop)), at + bytes.length);
        return out.subarray(0, golden.length + bytes.length - Math.min(drop, golden.length - at));
      }),
    fc
      .tuple(fc.nat({ max: Math.max(0, golden.length - 1) }), fc.integer({ min: 0, max: 255 }))
      .map(([at, byte]) => {
        const out = golden.slice();
        if (out.length > 0) out[at] = byte;
        return out;
      }),
  );
}

/** Whether anything wrote to Object.prototype (a decoder that merged `__proto__` into a plain object). */
export function prototypeIsClean(): boolean {
  const probe = {} as Record<string, unknown>;
  return Object.keys(Object.prototype).length === 0 && probe.polluted === undefined && probe.a === undefined;
}
