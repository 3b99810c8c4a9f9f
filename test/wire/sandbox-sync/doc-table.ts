import { readFileSync } from 'node:fs';

/** The rows of the first markdown table after `heading`, as trimmed cells without backticks. */
export function table(heading: string): string[][] {
  const text = readFileSync(new URL('../../../docs/wire-sandbox-sync.md', import.meta.url), 'utf8');
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" in docs/wire-sandbox-sync.md`);
  const rows: string[][] = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (line.startsWith('|'))
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim().replaceAll('`', '')),
      );
    else if (rows.length) break;
  }
  return rows.slice(2);
}
