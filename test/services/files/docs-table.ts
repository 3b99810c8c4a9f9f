import { readFileSync } from 'node:fs';

/** The rows of the first markdown table after `heading` in a docs page, as trimmed cells. */
export function table(page: string, heading: string): string[][] {
  const text = readFileSync(new URL(`../../../docs/${page}`, import.meta.url), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/${page} has no "${heading}"`);
  const rows: string[][] = [];
  for (const line of text.slice(start + heading.length + 2).split('\n')) {
    if (line.startsWith('|'))
      rows.push(
        line
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((cell) => cell.trim().replace(/`/g, '')),
      );
    else if (rows.length > 0) break;
  }
  return rows.slice(2);
}
