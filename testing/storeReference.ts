/**
 * What a store test compares against: the same numbers computed by DuckDB (the engine that analysed the data)
 * straight from the capture and analysis Parquet files, and the same questions asked of a ClickHouse store.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { ClickHouseServer } from './clickhouseServer.js';

export const QUANTILES = [0.5, 0.9, 0.99] as const;

/** Per edge type (parent service -> child service, edge kind): edge count and child-call latency quantiles. */
export interface EdgeLatency {
  parent_service: string;
  child_service: string;
  edge_kind: string;
  n: number;
  /** ns, one per QUANTILES entry: ClickHouse quantileExact, the value at index floor(q * n) of the sorted latencies */
  q: string[];
}

async function duck<T>(sql: string, params: string[] = []): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql, params)).getRowObjectsJS() as T[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The reference: per-edge latency over OUT/spans.parquet + OUT/edges.parquet, in DuckDB. */
export async function duckdbEdgeLatency(out: string): Promise<EdgeLatency[]> {
  const rows = await duck<{ parent_service: string; child_service: string; edge_kind: string; n: bigint; v: bigint[] }>(
    `WITH s AS (SELECT * FROM read_parquet($1)), e AS (SELECT * FROM read_parquet($2))
     SELECT coalesce(p.service, '') AS parent_service, coalesce(c.service, '') AS child_service, coalesce(e.edge_kind, '') AS edge_kind,
            count(*) AS n, list_sort(list(coalesce(c.end_ns, c.start_ns) - c.start_ns)) AS v
     FROM e JOIN s c ON c.span_id = e.child_span_id JOIN s p ON p.span_id = e.parent_span_id
     GROUP BY ALL ORDER BY parent_service, child_service, edge_kind`,
    [`${out}/spans.parquet`, `${out}/edges.parquet`],
  );
  return rows.map((r) => ({
    parent_service: r.parent_service,
    child_service: r.child_service,
    edge_kind: r.edge_kind,
    n: Number(r.n),
    q: QUANTILES.map((q) => String(r.v[Math.min(Math.floor(q * r.v.length), r.v.length - 1)])),
  }));
}

/**
 * The researcher's query (docs/clickhouse.md) on a store: runs on ClickHouse 18.16 and current servers, over
 * plain or Distributed tables (the joins run on the server that receives the query).
 */
export function edgeLatencySql(db: string, datasetId: string): string {
  const q = QUANTILES.map((x, i) => `quantileExact(${x})(d) AS q${i}`).join(', ');
  return `
    SELECT parent_service, child_service, edge_kind, count() AS n, ${q}
    FROM (
      SELECT parent_span_id, edge_kind, child_service, d
      FROM (SELECT parent_span_id, child_span_id AS span_id, ifNull(edge_kind, '') AS edge_kind FROM ${db}.edges WHERE dataset_id = '${datasetId}')
      ALL INNER JOIN (
        SELECT span_id, ifNull(service, '') AS child_service, ifNull(end_ns, start_ns) - start_ns AS d
        FROM ${db}.spans WHERE dataset_id = '${datasetId}') USING span_id)
    ALL INNER JOIN (
      SELECT span_id AS parent_span_id, ifNull(service, '') AS parent_service FROM ${db}.spans WHERE dataset_id = '${datasetId}')
    USING parent_span_id
    GROUP BY parent_service, child_service, edge_kind
    ORDER BY parent_service, child_service, edge_kind`;
}

export async function clickhouseEdgeLatency(server: ClickHouseServer, db: string, datasetId: string): Promise<EdgeLatency[]> {
  const rows = await server.query<Record<string, string | number>>(edgeLatencySql(db, datasetId));
  return rows.map((r) => ({
    parent_service: String(r.parent_service),
    child_service: String(r.child_service),
    edge_kind: String(r.edge_kind),
    n: Number(r.n),
    q: QUANTILES.map((_, i) => String(r[`q${i}`])),
  }));
}

/** Row counts and distinct traces from the analysis output, as DuckDB reads it. */
export async function duckdbCounts(captureDir: string, out: string): Promise<{ events: number; spans: number; edges: number; traces: number }> {
  const [r] = await duck<Record<string, bigint>>(
    `SELECT (SELECT count(*) FROM read_parquet($1)) AS events, (SELECT count(*) FROM read_parquet($2)) AS spans,
            (SELECT count(*) FROM read_parquet($3)) AS edges, (SELECT count(DISTINCT trace_id) FROM read_parquet($2)) AS traces`,
    [`${captureDir}/events/seg-*.parquet`, `${out}/spans.parquet`, `${out}/edges.parquet`],
  );
  return { events: Number(r!.events), spans: Number(r!.spans), edges: Number(r!.edges), traces: Number(r!.traces) };
}

/**
 * Every event of a capture as one canonical text line (payload as its MD5), sorted: equal sets, equal arrays.
 * Schema 1 captures have no gid/parent_gid: NULL, as the store keeps them.
 */
export async function duckdbEventLines(captureDir: string): Promise<string[]> {
  const files = `${captureDir}/events/seg-*.parquet`;
  const have = new Set((await duck<{ column_name: string }>('DESCRIBE SELECT * FROM read_parquet($1, union_by_name = true)', [files])).map((c) => c.column_name));
  const v2 = (c: string) => (have.has(c) ? c : `NULL AS ${c}`);
  const rows = await duck<Record<string, unknown>>(
    `SELECT ts_ns, mono_ns, node, pid, tid, comm, fd, event, syscall, direction, conn_id, family, local_addr, local_port,
            remote_addr, remote_port, netns, tcp_seq, bytes, upper(md5(payload)) AS payload_md5, payload_truncated::INTEGER AS payload_truncated,
            ${v2('gid')}, ${v2('parent_gid')}
     FROM read_parquet($1, union_by_name = true)`,
    [files],
  );
  return canonical(rows);
}

export async function clickhouseEventLines(server: ClickHouseServer, db: string, datasetId: string): Promise<string[]> {
  const rows = await server.query<Record<string, unknown>>(
    `SELECT ts_ns, mono_ns, node, pid, tid, comm, fd, event, syscall, direction, conn_id, family, local_addr, local_port,
            remote_addr, remote_port, netns, tcp_seq, bytes, hex(MD5(payload)) AS payload_md5, payload_truncated, gid, parent_gid
     FROM ${db}.events WHERE dataset_id = '${datasetId}'`,
  );
  return canonical(rows);
}

/** spans.parquet / the spans table as canonical lines (every documented column). */
export async function duckdbSpanLines(out: string): Promise<string[]> {
  return canonical(await duck<Record<string, unknown>>(`SELECT ${SPAN_COLUMNS.join(', ')} FROM read_parquet($1)`, [`${out}/spans.parquet`]));
}

export async function clickhouseSpanLines(server: ClickHouseServer, db: string, datasetId: string): Promise<string[]> {
  return canonical(await server.query(`SELECT ${SPAN_COLUMNS.join(', ')} FROM ${db}.spans WHERE dataset_id = '${datasetId}'`));
}

const SPAN_COLUMNS = [
  'span_id', 'trace_id', 'parent_span_id', 'kind', 'node', 'pid', 'tid', 'comm', 'service', 'conn_id', 'local_addr', 'local_port',
  'remote_addr', 'remote_port', 'protocol', 'method', 'path', 'status', 'start_ns', 'end_ns', 'req_bytes', 'resp_bytes',
  'request_ids', 'call_index', 'resp_tid', 'netns', 'req_seq', 'resp_seq', 'raw_start_ns', 'raw_end_ns', 'resp_start_ns',
  'head_complete', 'req_seen',
];

function canonical(rows: Record<string, unknown>[]): string[] {
  const v = (x: unknown): string =>
    x === null || x === undefined ? '\\N' : typeof x === 'boolean' ? (x ? '1' : '0') : Array.isArray(x) ? `[${x.map(v).join(',')}]` : String(x);
  return rows.map((r) => Object.values(r).map(v).join('\t')).sort();
}
