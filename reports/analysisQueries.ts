/**
 * The report's questions to an analysis output (OUT/spans.parquet, OUT/edges.parquet; docs/analysis-schema.md),
 * answered in DuckDB: every aggregate is computed in SQL, and only small results (one row per service pair, per
 * operation, or the spans of a handful of chosen traces) come back to JS. Only documented columns are named, so
 * columns added by later schema versions are ignored.
 */
import { join } from 'node:path';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { sqlString } from '../analyze/engine/engine.js';

/** caller service -> callee (service of the matched server side, else protocol:port), over all client spans */
export interface Dependency {
  caller: string;
  callee: string;
  protocol: string;
  calls: number;
  p50_ms: number | null;
  p95_ms: number | null;
  errors: number;
}

/** latency of one server-side operation (service, protocol, method, path template), quantiles in ms */
export interface Operation {
  service: string;
  protocol: string;
  operation: string;
  count: number;
  p05_ms: number;
  p25_ms: number;
  p50_ms: number;
  p75_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** one request type (root span's service, method and path template) and its typical trace */
export interface RequestType {
  label: string;
  traces: number;
  median_ms: number;
  /** the trace whose duration is closest to the median (ties: smallest trace_id) */
  trace_id: string;
  trace_ms: number;
  trace_spans: number;
}

export interface WaterfallSpan {
  span_id: string;
  parent_span_id: string | null;
  kind: string;
  service: string;
  protocol: string | null;
  method: string | null;
  path: string | null;
  status: string | null;
  start_ms: number;
  end_ms: number;
}

/** Path template: ids, numbers and SQL literals replaced, so calls of one kind group together. At most 60 chars. */
const TEMPLATE = `left(CASE WHEN protocol = 'mysql'
    THEN regexp_replace(regexp_replace(coalesce(path, ''), '''[^'']*''', '?', 'g'), '\\b[0-9]+\\b', '?', 'g')
    ELSE regexp_replace(regexp_replace(regexp_replace(coalesce(path, ''),
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '{id}', 'g'),
      '[0-9a-fA-F]{16,}', '{id}', 'g'), '/[0-9]+(/|$)', '/{n}\\1', 'g') END, 60)`;
const WHO = `coalesce(service, comm, '(unknown)')`;
/** method + template, without repeating the method when the template starts with it (SQL heads do) */
const OPERATION = `CASE WHEN method IS NULL OR starts_with(upper(${TEMPLATE}), upper(method)) THEN ${TEMPLATE} ELSE method || ' ' || ${TEMPLATE} END`;
const MS = `(end_ns - start_ns) / 1e6`;

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

export class AnalysisQueries {
  private constructor(private readonly db: DuckDbEngine) {}

  /** Opens an in-memory DuckDB with views over OUT's Parquet files. */
  static async open(out: string): Promise<AnalysisQueries> {
    const db = await DuckDbEngine.open();
    await db.exec(`CREATE VIEW spans AS SELECT * FROM read_parquet(${sqlString(join(out, 'spans.parquet'))})`);
    await db.exec(`CREATE VIEW edges AS SELECT * FROM read_parquet(${sqlString(join(out, 'edges.parquet'))})`);
    return new AnalysisQueries(db);
  }

  close(): void {
    this.db.close();
  }

  async dependencies(): Promise<Dependency[]> {
    const rows = await this.db.query(`
      WITH callee AS (
        SELECT e.parent_span_id AS client_id, min(coalesce(s.service, s.comm, '(unknown)')) AS callee
        FROM edges e JOIN spans s ON s.span_id = e.child_span_id
        WHERE e.evidence = 'spatial' AND s.kind = 'server' GROUP BY 1)
      SELECT ${WHO} AS caller, coalesce(callee.callee, coalesce(protocol, '?') || ':' || coalesce(CAST(remote_port AS VARCHAR), '?')) AS callee,
             coalesce(protocol, '?') AS protocol, count(*) AS calls,
             quantile_cont(${MS}, 0.5) AS p50_ms, quantile_cont(${MS}, 0.95) AS p95_ms,
             count(*) FILTER (WHERE status = 'error' OR TRY_CAST(status AS INTEGER) >= 500) AS errors
      FROM spans LEFT JOIN callee ON callee.client_id = spans.span_id
      WHERE kind = 'client'
      GROUP BY ALL ORDER BY calls DESC, caller, callee, protocol`);
    return rows.map((r) => ({
      caller: r.caller as string,
      callee: r.callee as string,
      protocol: r.protocol as string,
      calls: num(r.calls),
      p50_ms: numOrNull(r.p50_ms),
      p95_ms: numOrNull(r.p95_ms),
      errors: num(r.errors),
    }));
  }

  /** The `limit` most frequent server-side operations with a response. */
  async operations(limit: number): Promise<Operation[]> {
    const rows = await this.db.query(`
      SELECT ${WHO} AS service, coalesce(protocol, '?') AS protocol,
             ${OPERATION} AS operation, count(*) AS count,
             quantile_cont(${MS}, 0.05) AS p05_ms, quantile_cont(${MS}, 0.25) AS p25_ms, quantile_cont(${MS}, 0.5) AS p50_ms,
             quantile_cont(${MS}, 0.75) AS p75_ms, quantile_cont(${MS}, 0.95) AS p95_ms, quantile_cont(${MS}, 0.99) AS p99_ms,
             max(${MS}) AS max_ms
      FROM spans WHERE kind = 'server' AND end_ns IS NOT NULL
      GROUP BY ALL ORDER BY count DESC, service, protocol, operation LIMIT ${limit}`);
    return rows.map((r) => ({
      service: r.service as string,
      protocol: r.protocol as string,
      operation: r.operation as string,
      count: num(r.count),
      p05_ms: num(r.p05_ms),
      p25_ms: num(r.p25_ms),
      p50_ms: num(r.p50_ms),
      p75_ms: num(r.p75_ms),
      p95_ms: num(r.p95_ms),
      p99_ms: num(r.p99_ms),
      max_ms: num(r.max_ms),
    }));
  }

  /**
   * The `limit` most frequent request types among traces of at least two spans (HTTP entry points first: those
   * are the users' requests; RPC-rooted traces after), each with its typical trace. A trace's duration is its
   * extent, first start to last end.
   */
  async requestTypes(limit: number): Promise<RequestType[]> {
    const rows = await this.db.query(`
      WITH sizes AS (SELECT trace_id, count(*) AS n, (max(coalesce(end_ns, start_ns)) - min(start_ns)) / 1e6 AS ms FROM spans GROUP BY 1),
      roots AS (
        SELECT s.trace_id, ${WHO} || ' ' || ${OPERATION} AS label, protocol = 'http' AS http, sizes.ms, sizes.n
        FROM spans s JOIN sizes USING (trace_id)
        WHERE parent_span_id IS NULL AND sizes.n >= 2),
      types AS (
        SELECT label, bool_or(http) AS http, count(*) AS traces, quantile_disc(ms, 0.5) AS median_ms FROM roots GROUP BY 1
        ORDER BY http DESC, traces DESC, label LIMIT ${limit})
      SELECT t.label, t.traces, t.median_ms,
             first(r.trace_id ORDER BY abs(r.ms - t.median_ms), r.trace_id) AS trace_id,
             first(r.ms ORDER BY abs(r.ms - t.median_ms), r.trace_id) AS trace_ms,
             first(r.n ORDER BY abs(r.ms - t.median_ms), r.trace_id) AS trace_spans
      FROM types t JOIN roots r USING (label)
      GROUP BY t.label, t.http, t.traces, t.median_ms ORDER BY t.http DESC, t.traces DESC, t.label`);
    return rows.map((r) => ({
      label: r.label as string,
      traces: num(r.traces),
      median_ms: num(r.median_ms),
      trace_id: r.trace_id as string,
      trace_ms: num(r.trace_ms),
      trace_spans: num(r.trace_spans),
    }));
  }

  /** The spans of one trace (at most `limit`, earliest first), times in ms from the trace's first start. */
  async traceSpans(traceId: string, limit: number): Promise<WaterfallSpan[]> {
    const rows = await this.db.query(`
      WITH t AS (SELECT * FROM spans WHERE trace_id = ${sqlString(traceId)}), t0 AS (SELECT min(start_ns) AS t0 FROM t)
      SELECT span_id, parent_span_id, kind, ${WHO} AS service, protocol, method, path, status,
             (start_ns - t0) / 1e6 AS start_ms, (coalesce(end_ns, start_ns) - t0) / 1e6 AS end_ms
      FROM t, t0 ORDER BY start_ns, span_id LIMIT ${limit}`);
    return rows.map((r) => ({
      span_id: r.span_id as string,
      parent_span_id: (r.parent_span_id as string | null) ?? null,
      kind: r.kind as string,
      service: r.service as string,
      protocol: (r.protocol as string | null) ?? null,
      method: (r.method as string | null) ?? null,
      path: (r.path as string | null) ?? null,
      status: (r.status as string | null) ?? null,
      start_ms: num(r.start_ms),
      end_ms: num(r.end_ms),
    }));
  }
}

/** Depth-first order (children by start time) and depth of each span, for a waterfall. */
export function waterfallOrder(spans: readonly WaterfallSpan[]): { span: WaterfallSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, WaterfallSpan[]>();
  for (const s of spans) {
    const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    if (!children.has(p)) children.set(p, []);
    children.get(p)!.push(s);
  }
  const out: { span: WaterfallSpan; depth: number }[] = [];
  const visit = (p: string | null, depth: number) => {
    for (const s of children.get(p) ?? []) {
      out.push({ span: s, depth });
      visit(s.span_id, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}
