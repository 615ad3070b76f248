/**
 * Result files the report shows when they exist: capture overhead (bench/results/capture-*.json, `make bench`)
 * and sketch error vs memory (bench/results/sketch-eval-*.json, `nitrace sketch-eval`). Both formats belong to
 * other parts of nitrace and grow; these readers take what they recognise and ignore the rest.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The newest file named PREFIX-[<label>-]<ISO time>.json in dir (by the time at the end of the name, so that
 * `sketch-eval-<dataset>-<time>.json` files compare by time, not dataset), or null. Result kinds must not be a
 * prefix of one another plus '-' (a `capture-compare` file was once taken for the newest `capture` overhead result).
 * `sections`: the newest such file that has one of these top-level sections (a run can be limited to some).
 */
export function newestResult(dir: string, prefix: string, sections?: readonly string[]): string | null {
  if (!existsSync(dir)) return null;
  const timeOf = (f: string): string => /(\d{4}-\d\d-\d\dT[\d-]+(?:\.\d+)?Z)\.json$/.exec(f)?.[1] ?? '';
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.json'))
    .sort((a, b) => timeOf(a).localeCompare(timeOf(b)) || a.localeCompare(b));
  for (let i = files.length - 1; i >= 0; i--) {
    const file = join(dir, files[i]!);
    if (!sections || hasSection(file, sections)) return file;
  }
  return null;
}

/**
 * The sections of a capture result (bench/captureBench.ts) the overhead table reads (readOverhead): a run of other
 * sections only (`make bench BENCH_FLAGS='--sections replay'`) is newer but has none of them, and must not hide
 * the last run that has.
 */
export const OVERHEAD_SECTIONS = ['syscall_cost', 'throughput', 'http'] as const;

/** Does the result file have one of these top-level sections (a non-null value)? Unreadable JSON: no. */
function hasSection(file: string, sections: readonly string[]): boolean {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return sections.some((k) => r[k] !== undefined && r[k] !== null);
  } catch {
    return false;
  }
}

/** One baseline-vs-traced measurement found anywhere in a capture benchmark result. */
export interface OverheadRow {
  /** where in the result file, e.g. 'syscall_cost.tcp_socket_syscall_ns' */
  measure: string;
  baseline: number;
  traced: number;
  /** traced - baseline */
  added: number;
  /** upper bound of the added cost's 95 % interval, when the run measured one (a target is met only below it) */
  added_ci_high: number | null;
  unit: string;
  /** the same measure under `nitrace capture --mode sketch`, when the run had that arm (`sketch_capture`) */
  sketch: { traced: number; added: number } | null;
}

export interface Overhead {
  file: string;
  date: string | null;
  load_before: string | null;
  rows: OverheadRow[];
  /** throughput runs: events/s and lost events */
  throughput: { run: string; events_per_second: number; lost: number; bytes_per_event: number | null }[];
  /** an HTTP server with and without capture; `sketch`: with sketch-mode capture instead, when measured */
  http: { rps_without: number; rps_with: number; ratio: number; sketch: { rps_with: number; ratio: number } | null; arrangement: HttpArrangement } | null;
  /** bytes on disk per captured event (per socket call counted, in sketch mode) in the same run, when measured */
  bytes_per_event: { full: number | null; sketch: number | null; where: string } | null;
}

/**
 * Where the capture ran in the HTTP section (bench/captureBench.ts `http.arrangement`): `node`, on the server's CPU
 * (as on a real node: `http.ratio` since main 5754ae4); `client`, on wrk's CPU (the only arrangement of files
 * without the key, until main 464ad24).
 */
export type HttpArrangement = 'node' | 'client';
/** How a table row names the arrangement. */
export const HTTP_ARRANGEMENT_LABEL: Record<HttpArrangement, string> = {
  node: "capture on the server's CPU (http.ratio)",
  client: "capture on wrk's CPU (older result file)",
};

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** a number, or the point estimate of a bench Interval ({value, ci_low, ci_high, ...}) */
const pointOf = (v: unknown): number | null => (isNum(v) ? v : v && typeof v === 'object' && isNum((v as { value?: unknown }).value) ? (v as { value: number }).value : null);
/** the upper bound of a bench Interval, or null for a bare number */
const ciHighOf = (v: unknown): number | null => (v && typeof v === 'object' && isNum((v as { ci_high?: unknown }).ci_high) ? (v as { ci_high: number }).ci_high : null);

export function readOverhead(file: string): Overhead {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const rows: OverheadRow[] = [];
  const walk = (v: unknown, path: string) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return;
    const o = v as Record<string, unknown>;
    // {baseline, traced, added} (first bench format, unit in the key's name) or {baseline_ns, traced_ns, added_ns}
    const baseline = pointOf(o.baseline) ?? pointOf(o.baseline_ns);
    const traced = pointOf(o.traced) ?? pointOf(o.traced_ns);
    if (baseline !== null && traced !== null) {
      const unit = 'baseline_ns' in o || /_ns$/.test(path) ? 'ns' : /_us$/.test(path) ? 'us' : '';
      const sk = o.sketch_capture as Record<string, unknown> | undefined;
      const skTraced = sk ? pointOf(sk.traced_ns) : null;
      const sketch = skTraced !== null ? { traced: skTraced, added: pointOf(sk!.added_ns) ?? skTraced - baseline } : null;
      const added = pointOf(o.added) ?? pointOf(o.added_ns) ?? traced - baseline;
      rows.push({ measure: path, baseline, traced, added, added_ci_high: ciHighOf(o.added) ?? ciHighOf(o.added_ns), unit, sketch });
      return;
    }
    for (const [k, x] of Object.entries(o)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(r, '');
  const throughput: Overhead['throughput'] = [];
  for (const [run, t] of Object.entries((r.throughput as Record<string, Record<string, unknown>>) ?? {})) {
    if (t && isNum(t.events_per_second)) throughput.push({ run, events_per_second: t.events_per_second, lost: isNum(t.lost) ? t.lost : 0, bytes_per_event: isNum(t.bytes_per_event) ? t.bytes_per_event : null });
  }
  const h = r.http as Record<string, unknown> | undefined;
  const hs = h?.sketch_capture as Record<string, unknown> | undefined;
  const httpSketch = hs && isNum(hs.rps_with) ? { rps_with: hs.rps_with, ratio: pointOf(hs.ratio) ?? hs.rps_with / (h!.rps_without as number) } : null;
  const http = h && isNum(h.rps_without) && isNum(h.rps_with) ? { rps_without: h.rps_without, rps_with: h.rps_with, ratio: pointOf(h.ratio) ?? h.rps_with / h.rps_without, sketch: httpSketch, arrangement: (h.arrangement === 'node' ? 'node' : 'client') as HttpArrangement } : null;
  // bytes per event of both modes from the same blocks: the HTTP section's (real request/response traffic)
  const bytesPerEvent = h && (isNum(h.bytes_per_event) || (hs && isNum(hs.bytes_per_event)))
    ? { full: isNum(h.bytes_per_event) ? h.bytes_per_event : null, sketch: hs && isNum(hs.bytes_per_event) ? hs.bytes_per_event : null, where: 'HTTP server under wrk' }
    : null;
  const machine = r.machine as Record<string, unknown> | undefined;
  const loadBefore = typeof r.load_before === 'string' ? r.load_before : typeof machine?.load_before === 'string' ? machine.load_before : null;
  return { file, date: typeof r.date === 'string' ? r.date : null, load_before: loadBefore, rows, throughput, http, bytes_per_event: bytesPerEvent };
}

/** One sketch configuration's error at its memory size. */
export interface SketchRow {
  sketch: string;
  source: string;
  query_set: string;
  params: string;
  /** 'no', or how many partial sketches (nodes, windows) were merged into the one evaluated: 'merged from 4'. */
  merged: string;
  bytes: number;
  error: number;
  error_median: number | null;
  bound: number | null;
  metric: string;
}

export interface SketchResults {
  file: string;
  dataset: string | null;
  rows: SketchRow[];
}

export function readSketchResults(file: string): SketchResults {
  const r = JSON.parse(readFileSync(file, 'utf8')) as { dataset?: unknown; rows?: unknown };
  const rows: SketchRow[] = [];
  for (const x of Array.isArray(r.rows) ? (r.rows as Record<string, unknown>[]) : []) {
    if (typeof x.sketch !== 'string' || !isNum(x.bytes) || !isNum(x.error)) continue;
    rows.push({
      sketch: x.sketch,
      source: typeof x.source === 'string' ? x.source : '',
      query_set: typeof x.query_set === 'string' ? x.query_set : '',
      params: x.params && typeof x.params === 'object' ? Object.entries(x.params).map(([k, v]) => `${k}=${String(v)}`).join(' ') : '',
      merged: x.merged === true ? `merged from ${isNum(x.parts) ? x.parts : '?'}` : 'no',
      bytes: x.bytes,
      error: x.error,
      error_median: isNum(x.error_median) ? x.error_median : null,
      bound: isNum(x.bound) ? x.bound : null,
      metric: typeof x.metric === 'string' ? x.metric : '',
    });
  }
  return { file, dataset: typeof r.dataset === 'string' ? r.dataset : null, rows };
}
