import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { NitraceError } from '../core/errors.js';
import { Diagnostics } from '../analyze/diagnostics.js';
import { readCaptureManifest } from '../analyze/load/captureManifest.js';
import { analysisDatasetId, captureDatasetId } from './datasetId.js';
import { duckdbType, type ParquetQuery, type ParquetRows } from './parquetRows.js';
import { EDGES, EVENTS, MANIFESTS, PROCESSES, SCORES, SPANS, TRACES, type StoreColumn, type StoreTable } from './storeSchema.js';

/** Rows for one table: from Parquet through DuckDB, or (small tables) built in JS. Both without dataset_id. */
export type TableFeed = { table: StoreTable; query: ParquetQuery; rows?: undefined } | { table: StoreTable; rows: unknown[][]; query?: undefined };

/** One directory given to `nitrace store`: what it is, its dataset id, and the rows of each table. */
export interface StoreSource {
  kind: 'capture' | 'analysis';
  dir: string;
  name: string;
  datasetId: string;
  /** analysis: dataset ids of the captures it analysed that were found on disk */
  captures: string[];
  /** analysis: summary.json verbatim ('' if absent) */
  info: string;
  feeds: TableFeed[];
  /** Things the user should know (columns not stored, captures not found), printed as the store runs. */
  notes: string[];
}

/** Columns a source may lack without a note: added by a later format version, NULL for older data. */
const LATER_COLUMNS: Record<string, readonly string[]> = { events: ['gid', 'parent_gid'] };

/** Reads what a directory is: a capture (manifest.json) or an analysis output (spans.parquet). */
export async function describeSource(dirArg: string, reader: ParquetRows): Promise<StoreSource> {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new NitraceError('store', `${dirArg}: not a directory`, 2);
  if (existsSync(join(dir, 'manifest.json'))) return describeCapture(dirArg, dir, reader);
  if (existsSync(join(dir, 'spans.parquet'))) return describeAnalysis(dir, reader);
  const hint = existsSync(join(dir, 'capture', 'manifest.json')) ? ` (its capture is ${join(dirArg, 'capture')})` : '';
  throw new NitraceError(
    'store',
    `${dirArg}: neither a capture directory (manifest.json) nor an analysis output (spans.parquet from nitrace analyze)${hint}`,
    2,
  );
}

async function describeCapture(dirArg: string, dir: string, reader: ParquetRows): Promise<StoreSource> {
  const diag = new Diagnostics();
  let m;
  try {
    m = readCaptureManifest(dir, diag);
  } catch (e) {
    if (e instanceof NitraceError) throw new NitraceError('store', e.message, e.exitCode);
    throw e;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const notes = diag.warnings.filter((w) => w.code === 'capture-running' || w.code === 'capture-failed').map((w) => w.message);
  if (m.segmentFiles.length === 0) throw new NitraceError('store', `${dirArg}: no event segments (events/seg-*.parquet)`, 2);
  const datasetId = await captureDatasetId(manifest, m.segmentFiles);
  const files = { params: [listValue(m.segmentFiles)], types: [LIST(VARCHAR)] };
  const feeds: TableFeed[] = [
    { table: MANIFESTS, rows: [manifestRow(manifest, m.node, m.segmentFiles.length)] },
    {
      table: EVENTS,
      query: await parquetQuery(reader, EVENTS, 'read_parquet($1, union_by_name = true)', files, `${dirArg}/events`, notes, { node: m.node }),
    },
  ];
  if (m.processesFile) {
    feeds.push({
      table: PROCESSES,
      query: await parquetQuery(reader, PROCESSES, 'read_parquet($1)', { params: [m.processesFile], types: [VARCHAR] }, m.processesFile, notes, {
        node: m.node,
      }),
    });
  }
  return { kind: 'capture', dir, name: datasetName(dir), datasetId, captures: [], info: '', feeds, notes };
}

async function describeAnalysis(dir: string, reader: ParquetRows): Promise<StoreSource> {
  const spansFile = join(dir, 'spans.parquet');
  const edgesFile = join(dir, 'edges.parquet');
  const summaryFile = join(dir, 'summary.json');
  const scoreFile = join(dir, 'score.json');
  const notes: string[] = [];
  const info = existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '';
  const captures = await analysedCaptures(dir, info, notes);
  const spans = { params: [spansFile], types: [VARCHAR] };
  const feeds: TableFeed[] = [
    { table: SPANS, query: await parquetQuery(reader, SPANS, 'read_parquet($1)', spans, spansFile, notes) },
    { table: TRACES, query: tracesQuery(spans) },
  ];
  if (existsSync(edgesFile)) {
    feeds.push({ table: EDGES, query: await parquetQuery(reader, EDGES, 'read_parquet($1)', { params: [edgesFile], types: [VARCHAR] }, edgesFile, notes) });
  } else notes.push(`${dir}: no edges.parquet: stored without edges`);
  if (existsSync(scoreFile)) feeds.push({ table: SCORES, rows: scoreRows(scoreFile) });
  const datasetId = await analysisDatasetId(spansFile, existsSync(edgesFile) ? edgesFile : null);
  return { kind: 'analysis', dir, name: datasetName(dir), datasetId, captures, info, feeds, notes };
}

/**
 * A query giving `table`'s columns (after dataset_id) from a Parquet source: each column cast to the type its
 * encoder expects; a column the source lacks is NULL (or empty) if the table allows it, else the source is
 * refused; source columns the table does not have are named in a note (the store keeps the documented columns).
 */
async function parquetQuery(
  reader: ParquetRows,
  table: StoreTable,
  from: string,
  args: { params: ParquetQuery['params']; types: ParquetQuery['types'] },
  what: string,
  notes: string[],
  fill: Record<string, string> = {},
): Promise<ParquetQuery> {
  let have: Map<string, string>;
  try {
    have = await reader.describe({ sql: `SELECT * FROM ${from}`, ...args });
  } catch (e) {
    throw new NitraceError('store', `${what}: not readable Parquet (${(e as Error).message.split('\n', 1)[0]})`, 2);
  }
  const params = [...args.params];
  const types = [...args.types];
  const missing: string[] = [];
  // Text goes out as its UTF-8 bytes (encode): the RowBinary writer copies them without a JS string in between.
  const text = (c: StoreColumn, e: string) => (c.type === 'String' || c.type === 'Nullable(String)' ? `encode(${e})` : e);
  const exprs = table.columns.slice(1).map((c) => {
    const t = duckdbType(c.type);
    const q = `"${c.name}"`;
    if (c.name in fill) {
      // A column the capture writes on every row; the manifest's value where a row has none (as analyze does).
      params.push(fill[c.name]!);
      types.push(VARCHAR);
      return text(c, have.has(c.name) ? `coalesce(CAST(${q} AS ${t}), $${params.length})` : `$${params.length}`);
    }
    if (have.has(c.name)) return text(c, `CAST(${q} AS ${t})`);
    if (!c.type.startsWith('Nullable(') && !c.type.startsWith('Array(')) {
      throw new NitraceError('store', `${what}: lacks column ${c.name}, which the ${table.name} table needs`, 2);
    }
    if (!(LATER_COLUMNS[table.name] ?? []).includes(c.name)) missing.push(c.name);
    return c.type.startsWith('Array(') ? `CAST([] AS ${t})` : `CAST(NULL AS ${t})`;
  });
  if (missing.length) notes.push(`${what}: no column ${missing.join(', ')} (stored as NULL)`);
  const extra = [...have.keys()].filter((k) => !table.columns.some((c) => c.name === k));
  if (extra.length) notes.push(`${what}: column ${extra.join(', ')} not in the store's ${table.name} table (not stored)`);
  return { sql: `SELECT ${exprs.join(', ')} FROM ${from}`, params, types };
}

/** One row per trace from spans.parquet: the root (no parent; the earliest if several), extent, members. */
function tracesQuery(spans: { params: ParquetQuery['params']; types: ParquetQuery['types'] }): ParquetQuery {
  return {
    sql: `
      WITH s AS (SELECT * FROM read_parquet($1) WHERE trace_id IS NOT NULL),
      agg AS (
        SELECT trace_id, min(start_ns) AS start_ns, max(coalesce(end_ns, start_ns)) AS end_ns, count(*) AS spans,
               list_sort(list(DISTINCT service) FILTER (WHERE service IS NOT NULL)) AS services,
               list_sort(list(DISTINCT node) FILTER (WHERE node IS NOT NULL)) AS nodes
        FROM s GROUP BY trace_id),
      root AS (
        SELECT trace_id, span_id, service, protocol, method, path, status FROM s WHERE parent_span_id IS NULL
        QUALIFY row_number() OVER (PARTITION BY trace_id ORDER BY start_ns, span_id) = 1)
      SELECT agg.trace_id, root.span_id, root.service, root.protocol, root.method, root.path, root.status,
             CAST(agg.start_ns AS BIGINT), CAST(agg.end_ns AS BIGINT), CAST(agg.spans AS UINTEGER),
             CAST(coalesce(agg.services, []) AS VARCHAR[]), CAST(coalesce(agg.nodes, []) AS VARCHAR[])
      FROM agg LEFT JOIN root USING (trace_id)`,
    ...spans,
  };
}

/** The manifests row (without dataset_id): the fields researchers filter on, and the manifest verbatim. */
function manifestRow(m: Record<string, unknown>, node: string, segments: number): unknown[] {
  const seconds = (v: unknown) => {
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    return Number.isFinite(t) && t >= 0 ? Math.floor(t / 1000) : null;
  };
  const config = (m.config as Record<string, unknown> | undefined) ?? {};
  const events = (m.events as Record<string, unknown> | undefined) ?? {};
  const losses = Object.values((m.losses as Record<string, unknown> | undefined) ?? {}).reduce<number>((a, v) => a + (Number(v) || 0), 0);
  return [
    node,
    Number(m.schema_version),
    String(m.nitrace_version ?? ''),
    String(m.status ?? 'unknown'),
    seconds(m.started_at),
    seconds(m.stopped_at),
    typeof config.snaplen === 'number' ? config.snaplen : null,
    segments,
    typeof events.written === 'number' ? events.written : null,
    losses,
    JSON.stringify(m),
  ];
}

/** score.json (the output of `nitrace score --json`): the reconstruction and each baseline, overall and per scope. */
function scoreRows(file: string): unknown[][] {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new NitraceError('store', `${file}: not valid JSON (${(e as Error).message})`, 2);
  }
  if (typeof report.edge_f1 !== 'number') throw new NitraceError('store', `${file}: not the output of \`nitrace score --json\` (no edge_f1)`, 2);
  const rows: unknown[][] = [];
  const add = (scorer: string, s: Record<string, unknown>, offset: number | null) => {
    const n = (k: string, from = s) => (typeof from[k] === 'number' ? (from[k] as number) : 0);
    const edge = (scope: string, value: string, e: Record<string, unknown>, all: boolean) =>
      rows.push([
        scorer,
        scope,
        value,
        n('edge_f1', e),
        n('precision', e),
        n('recall', e),
        n('tp', e),
        n('fp', e),
        n('fn', e),
        n('truth_edges', e),
        n('coverage', e),
        n('points', e),
        n('points_mapped', e),
        all ? n('strict_accuracy', e) : null,
        all ? n('traces', e) : null,
        all ? n('traces_correct', e) : null,
        all ? offset : null,
      ]);
    edge('all', '', s, true);
    for (const [scope, key] of [
      ['kind', 'by_kind'],
      ['service', 'by_service'],
    ] as const) {
      for (const [k, v] of Object.entries((s[key] as Record<string, Record<string, unknown>> | undefined) ?? {})) edge(scope, k, v, false);
    }
  };
  add('nitrace', report, typeof report.clock_offset_us === 'number' ? report.clock_offset_us : null);
  for (const [name, s] of Object.entries((report.baselines as Record<string, Record<string, unknown>> | undefined) ?? {})) add(name, s, null);
  return rows;
}

/** Dataset ids of the captures summary.json names, for those still found (as given, or next to OUT). */
async function analysedCaptures(out: string, summary: string, notes: string[]): Promise<string[]> {
  if (!summary) {
    notes.push(`${out}: no summary.json: stored without a link to its captures`);
    return [];
  }
  let dirs: string[] = [];
  try {
    dirs = ((JSON.parse(summary) as { captures?: { dir?: string }[] }).captures ?? []).map((c) => c.dir ?? '').filter(Boolean);
  } catch {
    notes.push(`${out}/summary.json: not valid JSON: stored without a link to its captures`);
    return [];
  }
  const ids: string[] = [];
  for (const d of dirs) {
    const found = [resolve(d), resolve(dirname(out), d)].find((p) => existsSync(join(p, 'manifest.json')));
    if (!found) {
      notes.push(`${out}: its capture ${d} is not found from here: stored without a link to it`);
      continue;
    }
    const manifest = JSON.parse(readFileSync(join(found, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const m = readCaptureManifest(found, new Diagnostics());
    ids.push(await captureDatasetId(manifest, m.segmentFiles));
  }
  return ids;
}

/** The dataset card's name for a capture inside a dataset directory (datasets/samples/X/capture), else the dir name. */
function datasetName(dir: string): string {
  const card = join(dirname(dir), 'card.json');
  if (existsSync(card)) {
    try {
      const name = (JSON.parse(readFileSync(card, 'utf8')) as { name?: unknown }).name;
      if (typeof name === 'string' && name) return `${name}/${basename(dir)}`;
    } catch {
      // an unreadable card only costs the nicer name
    }
  }
  return basename(dir);
}
