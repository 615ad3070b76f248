import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NitraceError } from '../core/errors.js';
import { version } from '../core/version.js';
import { buildFinalTables } from './assemble/finalTables.js';
import { buildServices } from './assemble/services.js';
import { assembleTraces } from './assemble/traces.js';
import { createCandidates, countCandidates } from './correlate/candidates.js';
import { applyClocks, clockBounds, estimateClocks, type NodeClock } from './correlate/clockOffset.js';
import { correlateContent } from './correlate/content.js';
import { correlateDbSessions } from './correlate/dbSession.js';
import { estimateHandlerEnds } from './correlate/handlerEnds.js';
import { collectResourceIds } from './correlate/resourceIds.js';
import { correlateTraceRequestIds } from './correlate/requestIds.js';
import { correlateSpatial } from './correlate/spatial.js';
import { correlateOwnership } from './correlate/ownership.js';
import { correlateTiming } from './correlate/timing.js';
import { Diagnostics, type Warning } from './diagnostics.js';
import { defaultMemoryBytes, ENGINE_FILES, engineMemoryBytes, openEngine } from './engine/openEngine.js';
import { writeExports } from './export/writeExports.js';
import { loadCaptures } from './load/loadCaptures.js';
import { parseConnections } from './parse/parseConnections.js';
import { buildSpansRaw } from './parse/spansRaw.js';
import { correlateBrokerHops } from './messaging/brokerHops.js';
import { buildMessageSpans } from './messaging/messageSpans.js';
import { pairRpcReplies } from './messaging/rpcPairs.js';

export interface AnalyzeOptions {
  captureDirs: readonly string[];
  out: string;
  /** Engine name (analyze/engine/openEngine.ts); default duckdb. */
  engine?: string;
  /**
   * Memory budget of the whole analysis in bytes (default: a share of RAM). The engine's limit is a share of it
   * (engineMemoryBytes: the rest is for the JS side); the engine spills to `tempDir` beyond its limit.
   */
  memoryBytes?: number;
  /** Where the engine spills (default OUT/.tmp, removed at the end). */
  tempDir?: string;
  /** Progress lines on stderr for long steps. */
  progress?: boolean;
  /** Parse worker threads (default 1; outputs are the same for any number). */
  workers?: number;
}

export interface AnalyzeSummary {
  nitrace_version: string;
  analysis_schema_version: 2;
  captures: { dir: string; node: string; status: string }[];
  spans: number;
  client_spans: number;
  server_spans: number;
  edges: number;
  traces: number;
  edges_by_evidence: Record<string, number>;
  candidates_by_evidence: Record<string, number>;
  clocks: { node: string; offset_ns: string; method: string; uncertainty_ns: string | null; pairs: number }[];
  counts: Record<string, number>;
  warnings: Warning[];
  timings_ms: Record<string, number>;
  /** Peak resident memory of the analysis process per step and in total (bytes; Linux only). */
  peak_rss_bytes: Record<string, number>;
  outputs: Record<string, string>;
}

/** Share of the engine's memory limit the parse step's sort may fill with payloads at once (the rest: keys, joins, spill). */
const SORT_SHARE = 1 / 3;

/** Output files analyze owns in OUT (and removes before writing, so a rerun never mixes two analyses). */
const OUTPUT_FILES = ['spans.parquet', 'edges.parquet', 'otlp.json', 'jaeger.json', 'otlp', 'jaeger', ...ENGINE_FILES, 'summary.json', '.tmp'];

/**
 * The whole analysis, one way: load -> parse + stitch -> correlate (spatial, clocks, thread, timing, content) ->
 * traces -> export. Every step's tables stay in OUT/analysis.duckdb for users to query.
 */
export async function analyzeCaptures(opts: AnalyzeOptions): Promise<AnalyzeSummary> {
  if (opts.captureDirs.length === 0) throw new NitraceError('analyze', 'give at least one capture directory', 2);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  for (const f of OUTPUT_FILES) rmSync(join(out, f), { force: true, recursive: true });
  const diag = new Diagnostics();
  const t0 = performance.now();
  const tempDir = opts.tempDir ?? join(out, '.tmp');
  const memoryBytes = engineMemoryBytes(opts.memoryBytes ?? defaultMemoryBytes());
  const { engine, database } = await openEngine(opts.engine ?? 'duckdb', out, { memoryBytes, tempDir });
  try {
    const manifests = await diag.step('load', () => loadCaptures(engine, opts.captureDirs, diag));
    await diag.step('parse', () => parseConnections(engine, diag, { mask: true, progress: opts.progress ?? false, workers: opts.workers, sortBudgetBytes: memoryBytes * SORT_SHARE }));
    await diag.step('spans_raw', () => buildSpansRaw(engine));
    await diag.step('message_spans', () => buildMessageSpans(engine));
    await diag.step('services', () => buildServices(engine));
    await createCandidates(engine);
    await diag.step('correlate_spatial', () => correlateSpatial(engine, diag));
    await diag.step('correlate_broker_hops', () => correlateBrokerHops(engine));
    await diag.step('pair_rpc_replies', () => pairRpcReplies(engine));
    const clocks: NodeClock[] = await diag.step('clock_offsets', async () => {
      // Nodes as the events name them, the first capture's node first: it is the reference clock.
      const rows = await engine.query<{ node: string }>('SELECT node, min(capture) AS c FROM events GROUP BY node ORDER BY c, node');
      const nodes = rows.map((r) => r.node);
      const c = estimateClocks(nodes, nodes[0]!, await clockBounds(engine), diag);
      await applyClocks(engine, c);
      return c;
    });
    await diag.step('correlate_ownership', () => correlateOwnership(engine));
    await diag.step('correlate_timing', () => correlateTiming(engine));
    await diag.step('correlate_content', () => correlateContent(engine));
    await diag.step('resource_ids', () => collectResourceIds(engine));
    await diag.step('handler_ends', () => estimateHandlerEnds(engine));
    await diag.step('correlate_db_sessions', () => correlateDbSessions(engine));
    await diag.step('correlate_request_ids', () => correlateTraceRequestIds(engine));
    const { traces, edges } = await diag.step('assemble', () => assembleTraces(engine, diag));
    await diag.step('final_tables', () => buildFinalTables(engine));
    const outputs = {
      spans: join(out, 'spans.parquet'),
      edges: join(out, 'edges.parquet'),
      otlp: join(out, 'otlp.json'),
      jaeger: join(out, 'jaeger.json'),
      database,
      summary: join(out, 'summary.json'),
    };
    // The span counts come from the rows the export read (counting from `spans` would evaluate its joins again).
    const spanCounts = await diag.step('export', async () => {
      await engine.writeParquet('SELECT * FROM edges ORDER BY trace_id, child_span_id', outputs.edges);
      // spans.parquet from the rows the JSON exports read: one evaluation and one sort of the spans for all three.
      const files = await writeExports(engine, out, { spansParquet: outputs.spans });
      outputs.otlp = files.otlp;
      outputs.jaeger = files.jaeger;
      return files;
    });
    const byEvidence = await engine.query<{ evidence: string; n: bigint }>('SELECT evidence, count(*) AS n FROM edges GROUP BY 1 ORDER BY 1');
    const candidates_by_evidence: Record<string, number> = {};
    for (const e of ['spatial', 'thread', 'timing', 'content']) candidates_by_evidence[e] = await countCandidates(engine, e);
    diag.timingsMs.total = Math.round(performance.now() - t0);
    diag.finishMemory();
    const summary: AnalyzeSummary = {
      nitrace_version: version,
      analysis_schema_version: 2,
      captures: manifests.map((m) => ({ dir: m.dir, node: m.node, status: m.status })),
      spans: spanCounts.spans,
      client_spans: spanCounts.clientSpans,
      server_spans: spanCounts.serverSpans,
      edges,
      traces,
      edges_by_evidence: Object.fromEntries(byEvidence.map((e) => [e.evidence, Number(e.n)])),
      candidates_by_evidence,
      clocks: clocks.map((c) => ({
        node: c.node,
        offset_ns: String(c.offsetNs),
        method: c.method,
        uncertainty_ns: c.uncertaintyNs === null ? null : String(c.uncertaintyNs),
        pairs: c.pairs,
      })),
      counts: diag.counts,
      warnings: diag.warnings,
      timings_ms: diag.timingsMs,
      peak_rss_bytes: diag.peakRssBytes,
      outputs,
    };
    writeFileSync(outputs.summary, JSON.stringify(summary, null, 2) + '\n');
    return summary;
  } finally {
    engine.close();
    if (opts.tempDir === undefined) rmSync(tempDir, { force: true, recursive: true });
    if (!existsSync(join(out, 'summary.json'))) {
      // A failed analysis leaves no half outputs that could be mistaken for results.
      for (const f of OUTPUT_FILES) rmSync(join(out, f), { force: true, recursive: true });
    }
  }
}
