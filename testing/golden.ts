import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { sqlString } from '../analyze/engine/engine.js';
import type { AnalyzeSummary } from '../analyze/analyze.js';

/** What a golden fixture pins down: counts, warning codes, and every edge in readable form. */
export interface GoldenResult {
  spans: number;
  edges: number;
  traces: number;
  edges_by_evidence: Record<string, number>;
  warnings: string[];
  /** 'parent -> child [evidence]' with spans as 'kind service method path status', sorted. */
  edge_list: string[];
}

/** Capture directories of a fixture: fixtures/<name>/<node>/ holding a manifest.json each, sorted by name. */
export function fixtureCaptureDirs(fixtureDir: string): string[] {
  if (!statSync(fixtureDir).isDirectory()) return [];
  return readdirSync(fixtureDir)
    .filter((d) => existsSync(join(fixtureDir, d, 'manifest.json')))
    .sort()
    .map((d) => join(fixtureDir, d));
}

export async function goldenResult(out: string, summary: AnalyzeSummary): Promise<GoldenResult> {
  const e = await DuckDbEngine.open();
  try {
    const spans = sqlString(join(out, 'spans.parquet'));
    const label = (s: string): string =>
      `${s}.kind || ' ' || coalesce(${s}.service, '?') || ' ' || coalesce(${s}.method, '') || ' ' || coalesce(${s}.path, '') || ' ' || coalesce(${s}.status, '-')`;
    const rows = await e.query<{ l: string }>(`SELECT ${label('p')} || ' -> ' || ${label('c')} || ' [' || ed.evidence || ']' AS l
      FROM read_parquet(${sqlString(join(out, 'edges.parquet'))}) ed
      JOIN read_parquet(${spans}) p ON p.span_id = ed.parent_span_id JOIN read_parquet(${spans}) c ON c.span_id = ed.child_span_id
      ORDER BY l`);
    return {
      spans: summary.spans,
      edges: summary.edges,
      traces: summary.traces,
      edges_by_evidence: summary.edges_by_evidence,
      warnings: summary.warnings.map((w) => w.code).sort(),
      edge_list: rows.map((r) => r.l),
    };
  } finally {
    e.close();
  }
}
