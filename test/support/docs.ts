import { readFileSync } from 'node:fs';

/** A page of docs/ as text. */
export function readDoc(page: string): string {
  return readFileSync(new URL(`../../docs/${page}`, import.meta.url), 'utf8');
}

/**
 * The rows of the markdown table that follows `heading` in a docs page, as arrays of trimmed cells
 * (header and separator rows left out). Tests compare them with the constants they document.
 */
export function docTable(page: string, heading: string): string[][] {
  const text = readDoc(page);
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`${page} has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (line.startsWith('|')) {
      inTable = true;
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    } else if (inTable) break;
  }
  return rows.slice(2);
}
