/**
 * Whether two analysis outputs (OUT dirs of `nitrace analyze`, e.g. by two engines) say the same: spans and edges
 * row for row after a canonical sort (every column as text, so an engine's integer width does not matter), and
 * traces (each trace's set of spans). Read by DuckDB from the Parquet files, as any user would.
 */
import { DuckDBInstance } from '@duckdb/node-api';

export interface TableDiff {
  table: 'spans' | 'edges' | 'traces';
  rowsA: number;
  rowsB: number;
  /** The first lines only in A / only in B (canonical text), at most 5 each. */
  onlyA: string[];
  onlyB: string[];
}

const TRACES_SQL = `SELECT trace_id, string_agg(span_id, ',' ORDER BY span_id) AS spans FROM read_parquet($1) GROUP BY trace_id`;

/** The differences between OUT a and OUT b; empty when they agree. */
export async function compareAnalyses(a: string, b: string): Promise<TableDiff[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const lines = async (sql: string, file: string) => {
      const rows = (await conn.runAndReadAll(sql, [file])).getRowsJS() as unknown[][];
      return rows.map((r) => r.map(text).join('\t')).sort();
    };
    const diffs: TableDiff[] = [];
    for (const [table, file, sql] of [
      ['spans', 'spans.parquet', 'SELECT * FROM read_parquet($1)'],
      ['edges', 'edges.parquet', 'SELECT * FROM read_parquet($1)'],
      ['traces', 'spans.parquet', TRACES_SQL],
    ] as const) {
      const la = await lines(sql, `${a}/${file}`);
      const lb = await lines(sql, `${b}/${file}`);
      const d = diff(la, lb);
      if (d.onlyA.length || d.onlyB.length || la.length !== lb.length) diffs.push({ table, rowsA: la.length, rowsB: lb.length, ...d });
    }
    return diffs;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Column names and types of spans.parquet and edges.parquet in OUT (the files' schema is part of the contract). */
export async function outputSchema(out: string): Promise<Record<string, string[]>> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const schema: Record<string, string[]> = {};
    for (const t of ['spans', 'edges']) {
      const rows = (await conn.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($1)', [`${out}/${t}.parquet`])).getRowObjectsJS();
      schema[t] = rows.map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
    }
    return schema;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (Array.isArray(v)) return `[${v.map(text).join(',')}]`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/** Lines of sorted a not in sorted b and the reverse (multiset difference), first 5 of each. */
function diff(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) onlyA.push(a[i++]!);
    else if (i >= a.length || b[j]! < a[i]!) onlyB.push(b[j++]!);
    else {
      i++;
      j++;
    }
  }
  return { onlyA: onlyA.slice(0, 5), onlyB: onlyB.slice(0, 5) };
}
