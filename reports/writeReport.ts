import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { NitraceError } from '../core/errors.js';
import { renderChart, type ChartSpec } from '../core/renderChart.js';
import { packageRoot, version } from '../core/version.js';
import { BASELINES, type BaselineName } from '../datasets/score/baselines/registry.js';
import { DEFAULT_MAP_OPTIONS } from '../datasets/score/mapTruth.js';
import { readObserved } from '../datasets/score/observed.js';
import { scoreAll, type ScoreReport } from '../datasets/score/score.js';
import { readTruth } from '../datasets/truth/truthStore.js';
import { AnalysisQueries, waterfallOrder, type Dependency, type Operation, type RequestType } from './analysisQueries.js';
import { dependencyMapSpec, errorVsMemorySpec, groupedBarsSpec, latencySpec, waterfallSpec } from './charts.js';
import { fmtMs, pct, table } from './markdown.js';
import { newestResult, readOverhead, readSketchResults, HTTP_ARRANGEMENT_LABEL, OVERHEAD_SECTIONS, type Overhead, type SketchResults } from './resultFiles.js';

export interface ReportOptions {
  /** analysis output directory (nitrace analyze --out) */
  out: string;
  /** dataset directory holding truth/ (accuracy section) */
  truth?: string;
  /** where report.md, report.json and figures/ go; default OUT/report (replaced) */
  reportDir?: string;
  /** where bench result files are looked for; default the checkout's bench/results */
  resultsDir?: string;
  log?: (line: string) => void;
}

export interface CaptureLoss {
  capture: string;
  node: string;
  status: string;
  events_written: number | null;
  losses: Record<string, number>;
  /** lost / (written + lost); null when the manifest was not found */
  lost_share: number | null;
}

/** Everything the report shows, in numbers; report.md and every figure are made from this. */
export interface ReportData {
  report_version: 1;
  nitrace_version: string;
  analysis: {
    nitrace_version: string | null;
    spans: number;
    client_spans: number;
    server_spans: number;
    edges: number;
    traces: number;
    edges_by_evidence: Record<string, number>;
  };
  dependencies: Dependency[];
  operations: Operation[];
  request_types: (RequestType & { figure: string; spans_shown: number })[];
  /** `nitrace score --json` of this output against the truth, with every baseline */
  accuracy: (ScoreReport & { dataset: string }) | null;
  captures: CaptureLoss[];
  warnings: { code: string; message: string; count: number }[];
  overhead: (Overhead & { file: string }) | null;
  sketches: SketchResults | null;
  figures: { file: string; title: string }[];
}

const REQUEST_TYPES = 6;
const OPERATIONS = 15;
const WATERFALL_SPANS = 60;
const MAP_EDGES = 18;
const DEP_TABLE = 30;

interface Summary {
  nitrace_version?: string;
  spans?: number;
  client_spans?: number;
  server_spans?: number;
  edges?: number;
  traces?: number;
  edges_by_evidence?: Record<string, number>;
  captures?: { dir: string; node: string; status: string }[];
  warnings?: { code: string; message: string; count: number }[];
}

/**
 * Writes REPORT_DIR/report.md, report.json and figures/*.png (+ .svg) for one analysis output. Aggregates come
 * from DuckDB over OUT's Parquet files; accuracy comes from the scorer (the numbers `nitrace score --json`
 * prints). Built in a temporary directory and renamed into place, so a failed report leaves none half-written.
 */
export async function writeReport(opts: ReportOptions): Promise<{ markdown: string; data: ReportData }> {
  const log = opts.log ?? (() => {});
  const out = resolve(opts.out);
  for (const f of ['spans.parquet', 'edges.parquet', 'summary.json']) {
    if (!existsSync(join(out, f))) throw new NitraceError('report', `${join(out, f)} not found (is ${opts.out} the --out of nitrace analyze?)`, 2);
  }
  if (opts.truth && !existsSync(join(opts.truth, 'truth', 'spans.parquet'))) {
    throw new NitraceError('report', `${join(opts.truth, 'truth', 'spans.parquet')} not found (is ${opts.truth} a dataset?)`, 2);
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
  const reportDir = resolve(opts.reportDir ?? join(out, 'report'));
  const tmp = `${reportDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'figures'), { recursive: true });
  try {
    const figures: ReportData['figures'] = [];
    const figure = async (name: string, title: string, spec: ChartSpec) => {
      await renderChart(spec, join(tmp, 'figures', `${name}.png`));
      figures.push({ file: `figures/${name}.png`, title });
      return `figures/${name}.png`;
    };
    log('querying the analysis');
    const q = await AnalysisQueries.open(out);
    let dependencies: Dependency[], operations: Operation[], types: ReportData['request_types'];
    const waterfalls: { rows: ReturnType<typeof waterfallOrder>; type: RequestType }[] = [];
    try {
      dependencies = await q.dependencies();
      operations = await q.operations(OPERATIONS);
      types = [];
      for (const [i, t] of (await q.requestTypes(REQUEST_TYPES)).entries()) {
        const rows = waterfallOrder(await q.traceSpans(t.trace_id, WATERFALL_SPANS));
        waterfalls.push({ rows, type: t });
        types.push({ ...t, figure: `figures/waterfall-${i + 1}.png`, spans_shown: rows.length });
      }
    } finally {
      q.close();
    }
    let accuracy: ReportData['accuracy'] = null;
    if (opts.truth) {
      log('scoring against the ground truth');
      const truth = await readTruth(join(opts.truth, 'truth'));
      const names = Object.keys(BASELINES) as BaselineName[];
      accuracy = { dataset: basename(resolve(opts.truth)), ...scoreAll(truth.points, await readObserved(out), names, DEFAULT_MAP_OPTIONS) };
    }
    const resultsDir = opts.resultsDir ?? join(packageRoot, 'bench', 'results');
    const overheadFile = newestResult(resultsDir, 'capture', OVERHEAD_SECTIONS);
    const sketchFile = newestResult(resultsDir, 'sketch-eval');
    const data: ReportData = {
      report_version: 1,
      nitrace_version: version,
      analysis: {
        nitrace_version: summary.nitrace_version ?? null,
        spans: summary.spans ?? 0,
        client_spans: summary.client_spans ?? 0,
        server_spans: summary.server_spans ?? 0,
        edges: summary.edges ?? 0,
        traces: summary.traces ?? 0,
        edges_by_evidence: summary.edges_by_evidence ?? {},
      },
      dependencies,
      operations,
      request_types: types,
      accuracy,
      captures: (summary.captures ?? []).map((c) => captureLoss(c, out)),
      warnings: summary.warnings ?? [],
      overhead: overheadFile ? { ...readOverhead(overheadFile), file: `bench/results/${basename(overheadFile)}` } : null,
      sketches: sketchFile ? { ...readSketchResults(sketchFile), file: `bench/results/${basename(sketchFile)}` } : null,
      figures,
    };
    log('rendering figures');
    const md = await markdown(data, basename(out), figure, waterfalls);
    writeFileSync(join(tmp, 'report.md'), md);
    writeFileSync(join(tmp, 'report.json'), JSON.stringify(data, null, 2) + '\n');
    rmSync(reportDir, { recursive: true, force: true });
    mkdirSync(dirname(reportDir), { recursive: true });
    renameSync(tmp, reportDir);
    return { markdown: join(reportDir, 'report.md'), data };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function captureLoss(c: { dir: string; node: string; status: string }, out: string): CaptureLoss {
  const candidates = isAbsolute(c.dir) ? [c.dir] : [resolve(c.dir), resolve(out, c.dir)];
  const dir = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (!dir) return { capture: c.dir, node: c.node, status: `${c.status} (manifest not found)`, events_written: null, losses: {}, lost_share: null };
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { events?: { written?: number }; losses?: Record<string, number | null> };
  const losses: Record<string, number> = {};
  for (const [k, v] of Object.entries(m.losses ?? {})) losses[k] = Number(v ?? 0);
  const lost = Object.values(losses).reduce((a, b) => a + b, 0);
  const written = m.events?.written ?? null;
  return { capture: c.dir, node: c.node, status: c.status, events_written: written, losses, lost_share: written === null ? null : lost / Math.max(1, written + lost) };
}

type Figure = (name: string, title: string, spec: ChartSpec) => Promise<string>;

async function markdown(d: ReportData, name: string, figure: Figure, waterfalls: { rows: ReturnType<typeof waterfallOrder>; type: RequestType }[]): Promise<string> {
  const a = d.analysis;
  const L: string[] = [];
  L.push(`# nitrace report: ${name}`, '');
  L.push(
    `Analysis by nitrace ${a.nitrace_version ?? '?'} of ${d.captures.length} capture${d.captures.length === 1 ? '' : 's'} ` +
      `(${d.captures.map((c) => c.node).join(', ')}): ${a.spans} spans (${a.client_spans} client, ${a.server_spans} server), ` +
      `${a.edges} edges, ${a.traces} traces. Edges by deciding evidence: ${Object.entries(a.edges_by_evidence).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
      `Report by nitrace ${d.nitrace_version}; every number here is also in report.json.`,
    '',
  );

  L.push('## Service dependency map', '');
  const mapDeps = d.dependencies.slice(0, MAP_EDGES);
  L.push(`![service dependency map](${await figure('dependency-map', 'Service dependency map', dependencyMapSpec(mapDeps, `Who calls whom: the ${mapDeps.length} busiest links (calls × median latency)`))})`, '');
  L.push(`Every client call, grouped by caller and callee (the service of the matched server side, else protocol:port); the ${Math.min(DEP_TABLE, d.dependencies.length)} busiest of ${d.dependencies.length} links:`, '');
  L.push(
    table(
      ['caller', 'callee', 'protocol', 'calls', 'p50 ms', 'p95 ms', 'errors'],
      d.dependencies.slice(0, DEP_TABLE).map((x) => [x.caller, x.callee, x.protocol, x.calls, fmtMs(x.p50_ms), fmtMs(x.p95_ms), x.errors]),
      [false, false, false, true, true, true, true],
    ),
    '',
  );

  L.push('## Trace waterfalls', '');
  L.push('One typical trace per request type (the most frequent root operations, HTTP entry points first): the trace whose duration is closest to the median of its type.', '');
  for (const [i, w] of waterfalls.entries()) {
    const t = d.request_types[i]!;
    L.push(`### ${t.label}`, '');
    L.push(
      `${t.traces} traces, median ${fmtMs(t.median_ms)} ms; trace \`${t.trace_id}\`: ${fmtMs(t.trace_ms)} ms, ${t.trace_spans} spans` +
        (t.spans_shown < t.trace_spans ? ` (the first ${t.spans_shown} shown)` : ''),
      '',
    );
    L.push(`![waterfall ${t.label}](${await figure(`waterfall-${i + 1}`, t.label, waterfallSpec(w.rows, `${t.label} (${fmtMs(t.trace_ms)} ms)`))})`, '');
  }
  if (!waterfalls.length) L.push('No trace with two or more spans.', '');

  L.push('## Latency per operation', '');
  L.push(`Server-side duration (request's first byte to response's last byte) of the ${d.operations.length} most frequent operations; ids and literals folded.`, '');
  if (d.operations.length) L.push(`![latency per operation](${await figure('latency', 'Latency per operation', latencySpec(d.operations, 'Latency per operation (server side)'))})`, '');
  L.push(
    table(
      ['service', 'operation', 'count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      d.operations.map((o) => [o.service, o.operation, o.count, fmtMs(o.p50_ms), fmtMs(o.p95_ms), fmtMs(o.p99_ms), fmtMs(o.max_ms)]),
      [false, false, true, true, true, true, true],
    ),
    '',
  );

  if (d.accuracy) {
    const r = d.accuracy;
    L.push(`## Accuracy against ground truth (${r.dataset})`, '');
    L.push(
      `The scorer's numbers (\`nitrace score OUT --truth ${r.dataset} --json\`): ${r.traces} traces with edges, ${r.truth_edges} truth edges, ` +
        `coverage ${pct(r.coverage)} %, clock offset ${(r.clock_offset_us / 1000).toFixed(2)} ms. Percent.`,
      '',
    );
    const methods: [string, ScoreReport | NonNullable<ScoreReport['baselines'][BaselineName]>][] = [['nitrace', r], ...(Object.entries(r.baselines) as [string, NonNullable<ScoreReport['baselines'][BaselineName]>][])];
    L.push(table(['method', 'F1', 'precision', 'recall', 'strict', 'truth edges'], methods.map(([m, s]) => [m, pct(s.edge_f1), pct(s.precision), pct(s.recall), pct(s.strict_accuracy), s.truth_edges]), [false, true, true, true, true, true]), '');
    const kinds = Object.entries(r.by_kind).filter(([, s]) => s.truth_edges > 0).map(([k]) => k);
    const bars = methods.flatMap(([m, s]) => [{ category: 'all', series: m, value: s.edge_f1 }, ...kinds.map((k) => ({ category: k, series: m, value: s.by_kind[k]!.edge_f1 }))]);
    L.push(`![accuracy](${await figure('accuracy', 'Edge F1 by method and edge kind', groupedBarsSpec(bars, { title: 'Edge F1 by edge kind: nitrace and baselines', valueTitle: 'edge F1', percent: true, seriesTitle: 'method' }))})`, '');
    L.push('### By edge kind (nitrace)', '');
    L.push(table(['kind', 'F1', 'precision', 'recall', 'truth edges'], kinds.map((k) => { const s = r.by_kind[k]!; return [k, pct(s.edge_f1), pct(s.precision), pct(s.recall), s.truth_edges]; }), [false, true, true, true, true]), '');
    L.push('### By service (nitrace): edges into the service', '');
    L.push(table(['service', 'F1', 'precision', 'recall', 'coverage', 'truth edges'], Object.entries(r.by_service).map(([k, s]) => [k, pct(s.edge_f1), pct(s.precision), pct(s.recall), pct(s.coverage), s.truth_edges]), [false, true, true, true, true, true]), '');
    L.push('### By evidence (nitrace): the evidence of every hop from the child to its predicted parent', '');
    L.push(table(['evidence', 'precision', 'right', 'predicted'], Object.entries(r.by_evidence ?? {}).map(([k, e]) => [k, pct(e.precision), e.right, e.predicted]), [false, true, true, true]), '');
  }

  L.push('## Capture losses', '');
  const lossKeys = [...new Set(d.captures.flatMap((c) => Object.keys(c.losses)))].sort();
  L.push(
    table(
      ['capture', 'node', 'status', 'events written', ...lossKeys, 'lost %'],
      d.captures.map((c) => [c.capture, c.node, c.status, c.events_written ?? '-', ...lossKeys.map((k) => c.losses[k] ?? 0), c.lost_share === null ? '-' : pct(c.lost_share)]),
      [false, false, false, true, ...lossKeys.map(() => true), true],
    ),
    '',
  );
  if (d.warnings.length) {
    L.push('Analysis warnings:', '');
    for (const w of d.warnings) L.push(`- \`${w.code}\` (${w.count}): ${w.message}`);
    L.push('');
  }

  if (d.overhead) {
    const o = d.overhead;
    L.push('## Capture overhead', '');
    L.push(`From \`${o.file}\` (${o.date ?? 'undated'}${o.load_before ? `, load before: ${o.load_before}` : ''}; \`make bench\`).`, '');
    L.push(table(['measure', 'baseline', 'traced', 'added', 'unit'], o.rows.map((x) => [x.measure, x.baseline.toFixed(1), x.traced.toFixed(1), x.added.toFixed(1), x.unit]), [false, true, true, true, false]), '');
    if (o.rows.length) {
      const bars = o.rows.flatMap((x) => [{ category: x.measure.split('.').pop()!, series: 'baseline', value: x.baseline }, { category: x.measure.split('.').pop()!, series: 'traced', value: x.traced }]);
      L.push(`![capture overhead](${await figure('overhead', 'Capture overhead', groupedBarsSpec(bars, { title: 'Cost per syscall without and with capture', valueTitle: 'ns per syscall', seriesTitle: 'run' }))})`, '');
    }
    if (o.throughput.length) L.push(table(['run', 'events/s', 'lost', 'bytes/event'], o.throughput.map((t) => [t.run, Math.round(t.events_per_second), t.lost, t.bytes_per_event === null ? '-' : t.bytes_per_event.toFixed(1)]), [false, true, true, true]), '');
    if (o.http) L.push(`HTTP server under load, ${HTTP_ARRANGEMENT_LABEL[o.http.arrangement]}: ${o.http.rps_without.toFixed(0)} req/s without capture, ${o.http.rps_with.toFixed(0)} with (x${o.http.ratio.toFixed(2)}).`, '');
    const sketched = o.rows.filter((x) => x.sketch);
    if (sketched.length || o.http?.sketch) {
      L.push('Sketch-mode capture (`nitrace capture --mode sketch`), same run and blocks:', '');
      if (sketched.length) L.push(table(['sketch measure', 'baseline', 'sketch', 'added', 'full capture added', 'unit'], sketched.map((x) => [x.measure, x.baseline.toFixed(1), x.sketch!.traced.toFixed(1), x.sketch!.added.toFixed(1), x.added.toFixed(1), x.unit]), [false, true, true, true, true, false]), '');
      if (o.http?.sketch) L.push(`HTTP server under load with sketch-mode capture: ${o.http.sketch.rps_with.toFixed(0)} req/s (x${o.http.sketch.ratio.toFixed(2)}; full capture x${o.http.ratio.toFixed(2)}).`, '');
    }
    if (o.bytes_per_event) L.push(`Bytes on disk per event (${o.bytes_per_event.where}): full capture ${o.bytes_per_event.full?.toFixed(1) ?? '-'}, sketch mode ${o.bytes_per_event.sketch?.toFixed(3) ?? '-'} per socket call counted.`, '');
  }

  if (d.sketches && d.sketches.rows.length) {
    const s = d.sketches;
    L.push('## Sketch error vs memory', '');
    L.push(`From \`${s.file}\`${s.dataset ? ` (dataset ${s.dataset})` : ''}; \`nitrace sketch-eval\`.`, '');
    L.push(`![sketch error vs memory](${await figure('sketch-error-memory', 'Sketch error vs memory', errorVsMemorySpec(s.rows.map((x) => ({ sketch: x.source ? `${x.sketch} (${x.source})` : x.sketch, bytes: x.bytes, error: x.error })), 'Sketch error against memory'))})`, '');
    L.push(table(['sketch', 'source', 'query set', 'params', 'bytes', 'max error', 'median error'], s.rows.map((x) => [x.sketch, x.source, x.query_set, x.params, x.bytes, x.error.toPrecision(3), x.error_median === null ? '-' : x.error_median.toPrecision(3)]), [false, false, false, false, true, true, true]), '');
  }
  return L.join('\n');
}
