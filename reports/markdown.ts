/** Number formats and Markdown tables shared by the report and its test (which parses the numbers back). */

/** milliseconds: 2 decimals below 10, 1 below 100, none above */
export const fmtMs = (x: number | null): string => (x === null ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
/** a fraction as percent with one decimal, no % sign */
export const pct = (x: number): string => (100 * x).toFixed(1);

const cell = (v: string | number): string => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A GitHub-flavoured Markdown table; numeric columns right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], numeric: readonly boolean[] = []): string {
  const align = header.map((_, i) => (numeric[i] ? '---:' : '---'));
  return [`| ${header.map(cell).join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The tables of a Markdown text under each `## ` heading, as rows of cells (header row first). For tests. */
export function parseTables(md: string): Map<string, string[][][]> {
  const out = new Map<string, string[][][]>();
  let section = '';
  let current: string[][] | null = null;
  for (const line of md.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    if (line.startsWith('|')) {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
      if (cells.every((c) => /^-+:?$/.test(c))) continue;
      if (!current) {
        current = [];
        if (!out.has(section)) out.set(section, []);
        out.get(section)!.push(current);
      }
      current.push(cells);
    } else current = null;
  }
  return out;
}
