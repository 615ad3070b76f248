/**
 * One measured block of `make bench-engines`, run in its own process so its peak RSS (getrusage maxrss of this
 * process: the embedded engine runs inside it) belongs to that block alone. Prints one JSON line.
 *
 *   node dist/bench/engineBlock.js load duckdb|clickhouse CAPTURE_DIR
 *   node dist/bench/engineBlock.js analyze duckdb|clickhouse CAPTURE_DIR
 *   node dist/bench/engineBlock.js store CAPTURE_DIR URL DATABASE [CLUSTER MEMBER_URL...]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptures } from '../analyze/analyze.js';
import { ClickHouseEngine } from '../analyze/engine/clickhouse.js';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import type { Engine } from '../analyze/engine/engine.js';
import { storeDatasets } from '../store/storeDatasets.js';
import { CORE_QUERIES } from '../testing/engineCoreQueries.js';

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function segments(capture: string): string[] {
  const dir = join(capture, 'events');
  return readdirSync(dir)
    .filter((f) => /^seg-\d+\.parquet$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

async function openEngine(name: string): Promise<Engine> {
  if (name === 'duckdb') return DuckDbEngine.open();
  if (name === 'clickhouse') return ClickHouseEngine.open();
  throw new Error(`unknown engine ${name}`);
}

async function main(): Promise<Record<string, unknown>> {
  const [step, ...args] = process.argv.slice(2);
  if (step === 'load') {
    const [engineName, capture] = args as [string, string];
    const engine = await openEngine(engineName);
    try {
      const t0 = performance.now();
      const rows = await engine.loadParquet('events', segments(capture));
      const load_ms = performance.now() - t0;
      const queries: Record<string, number> = {};
      for (const [name, sql] of Object.entries(CORE_QUERIES)) {
        const q0 = performance.now();
        await engine.query(sql);
        queries[name] = performance.now() - q0;
      }
      return { step, engine: engineName, rows, load_ms, queries, peak_rss_mb: peakRssMb() };
    } finally {
      engine.close();
    }
  }
  if (step === 'analyze') {
    const [engineName, capture] = args as [string, string];
    const out = mkdtempSync(join(tmpdir(), 'nitrace-bench-analyze-'));
    try {
      const t0 = performance.now();
      const s = await analyzeCaptures({ captureDirs: [capture], out, engine: engineName });
      const analyze_ms = performance.now() - t0;
      return { step, engine: engineName, events: s.counts.events ?? null, spans: s.spans, edges: s.edges, traces: s.traces, analyze_ms, steps_ms: s.timings_ms, peak_rss_mb: peakRssMb() };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  if (step === 'store') {
    const [capture, url, database, cluster, ...members] = args as [string, string, string, string | undefined, ...string[]];
    const t0 = performance.now();
    const [r] = await storeDatasets({ dirs: [capture], url, database, cluster: cluster ?? null, memberUrls: members });
    return { step, cluster: cluster ?? null, rows: r!.rows, store_ms: performance.now() - t0, peak_rss_mb: peakRssMb() };
  }
  throw new Error(`unknown step ${step}`);
}

main().then(
  (r) => process.stdout.write(JSON.stringify(r) + '\n'),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
