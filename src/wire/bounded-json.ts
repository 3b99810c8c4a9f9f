/**
 * Nesting a decoder accepts from a peer by default. A value nested deeper is refused before it is
 * parsed: everything that later walks a value (schema validation, `JSON.stringify`, structural
 * comparison, merge patches) recurses, and a peer must not be able to choose the depth of that
 * recursion. 64 is far deeper than any realistic payload, and far below what overflows the stack.
 */
export const DEFAULT_MAX_DEPTH = 64;

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The deepest nesting of objects and arrays in a JSON text, stopping as soon as it passes `limit`
 * (so the cost is bounded by the text's length, never by what it would parse into). The text need
 * not be valid JSON: brackets inside strings are skipped, everything else is counted as written.
 * Hand-written because no JSON library offers a depth limit before parsing, and the scan is a
 * single loop with no allocation.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // A text shorter than the limit cannot open more brackets than it has characters.
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** The outcome of {@link parseBoundedJson}: a value, or why there is none. Never thrown. */
export type BoundedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'too-deep' | 'invalid'; readonly message: string };

/**
 * `JSON.parse` for peer input: refuses a text nested deeper than `maxDepth` before parsing it, and
 * returns a result instead of throwing.
 *
 * @example
 * const parsed = parseBoundedJson(frame, DEFAULT_MAX_DEPTH);
 * if (!parsed.ok) return { ok: false, error: { code: 'BAD_MESSAGE', message: parsed.message } };
 */
export function parseBoundedJson(text: string, maxDepth: number = DEFAULT_MAX_DEPTH): BoundedJson {
  if (jsonDepthExceeds(text, maxDepth))
    return { ok: false, reason: 'too-deep', message: `nested deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: 'invalid', message: `not JSON: ${(error as Error).message}` };
  }
}

/**
 * Whether a value already in memory nests deeper than `limit` (objects and arrays), without
 * recursion: for values that did not come through {@link parseBoundedJson} (a decoded protobuf
 * `Value`, an object handed to `publish` by application code).
 */
export function valueDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top.value !== 'object' || top.value === null) continue;
    const depth = top.depth + 1;
    if (depth > limit) return true;
    const children = Array.isArray(top.value) ? top.value : Object.values(top.value);
    for (const child of children) stack.push({ value: child, depth });
  }
  return false;
}
