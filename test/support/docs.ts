import { readFileSync } from 'node:fs';

/** A page of docs/ as text. */
export function readDoc(page: string): string {
  return readFileSync(new URL(`../../docs/${page}`, import.meta.url), 'utf8');
}

/**
 * The rows of the markdown table that follows `heading` in a docs page, as arrays of trimmed cells
 * (header and separator rows left out). Tests compare them with the constants they document.
 */
export function docTable(page: string, heading: string, options: { stripCode?: boolean } = {}): string[][] {
  const text = readDoc(page);
  // A whole heading line first, so `## Errors` does not find `## Errors and limits`.
  const line = text.indexOf(`\n${heading}\n`);
  const start = line >= 0 ? line + 1 : text.indexOf(heading);
  if (start < 0) throw new Error(`${page} has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const row of text.slice(start).split('\n').slice(1)) {
    if (row.startsWith('|')) {
      inTable = true;
      rows.push(
        row
          // An escaped pipe (`a \| b`) belongs to its cell.
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((cell) => (options.stripCode ? cell.trim().replace(/`/g, '') : cell.trim())),
      );
    } else if (inTable) break;
  }
  return rows.slice(2);
}
