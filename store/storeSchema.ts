import type { StoreType } from './rowBinary.js';

/**
 * The tables `nitrace store` writes (docs/clickhouse.md). Every table carries `dataset_id` and is partitioned by
 * it: re-storing or cleaning up a dataset is one DROP PARTITION per table, the cheapest and only synchronous
 * delete ClickHouse 18.16 has. Column names and meanings follow docs/capture-schema.md and
 * docs/analysis-schema.md; columns those formats may leave NULL are Nullable here.
 */
export interface StoreColumn {
  name: string;
  type: StoreType;
}

export interface StoreTable {
  name: string;
  columns: readonly StoreColumn[];
  /** MergeTree sorting key: how researchers look rows up (and what compresses well). */
  orderBy: string;
  /** Distributed sharding expression: rows that are joined together land on one shard. */
  shardBy: string;
}

const col = (name: string, type: StoreType): StoreColumn => ({ name, type });
const DATASET = col('dataset_id', 'String');

/** One row per stored dataset, written last: a dataset without its row here is an interrupted load. */
export const DATASETS: StoreTable = {
  name: 'datasets',
  columns: [
    DATASET,
    col('kind', 'String'), // 'capture' | 'analysis'
    col('name', 'String'), // directory name (or the dataset card's name)
    col('source', 'String'), // absolute path it was stored from
    col('captures', 'Array(String)'), // analysis: dataset_ids of the captures it analysed (those found)
    col('stored_by', 'String'), // nitrace version that stored it
    col('stored_at', 'DateTime'),
    col('table_names', 'Array(String)'),
    col('table_rows', 'Array(UInt64)'),
    col('info', 'String'), // analysis: summary.json as written by nitrace analyze
  ],
  orderBy: 'dataset_id',
  shardBy: 'cityHash64(dataset_id)',
};

/** One row per capture directory: the main manifest fields plus the manifest itself. */
export const MANIFESTS: StoreTable = {
  name: 'manifests',
  columns: [
    DATASET,
    col('node', 'String'),
    col('schema_version', 'UInt16'),
    col('nitrace_version', 'String'),
    col('status', 'String'),
    col('started_at', 'Nullable(DateTime)'),
    col('stopped_at', 'Nullable(DateTime)'),
    col('snaplen', 'Nullable(UInt32)'),
    col('segments', 'UInt32'),
    col('events_written', 'Nullable(UInt64)'),
    col('events_lost', 'UInt64'), // sum of manifest.losses
    col('manifest', 'String'), // manifest.json verbatim
  ],
  orderBy: '(dataset_id, node)',
  shardBy: 'cityHash64(dataset_id)',
};

/** Socket events (docs/capture-schema.md), v1 and v2 (gid, parent_gid NULL for v1). */
export const EVENTS: StoreTable = {
  name: 'events',
  columns: [
    DATASET,
    col('ts_ns', 'Int64'),
    col('mono_ns', 'Int64'),
    col('node', 'String'),
    col('pid', 'Int32'),
    col('tid', 'Int32'),
    col('comm', 'Nullable(String)'),
    col('fd', 'Nullable(Int32)'),
    col('event', 'String'),
    col('syscall', 'Nullable(String)'),
    col('direction', 'Nullable(String)'),
    col('conn_id', 'Nullable(UInt64)'),
    col('family', 'Nullable(String)'),
    col('local_addr', 'Nullable(String)'),
    col('local_port', 'Nullable(Int32)'),
    col('remote_addr', 'Nullable(String)'),
    col('remote_port', 'Nullable(Int32)'),
    col('netns', 'Nullable(UInt64)'),
    col('tcp_seq', 'Nullable(UInt64)'),
    col('bytes', 'Int64'),
    col('payload', 'Bytes'),
    col('payload_truncated', 'Bool'),
    col('gid', 'Nullable(UInt64)'),
    col('parent_gid', 'Nullable(UInt64)'),
  ],
  // The order the analysis reads a capture in (node, connection, time): one connection's byte stream is one
  // range, and neighbouring payloads of a connection compress together.
  orderBy: '(dataset_id, node, ifNull(conn_id, 0), mono_ns)',
  shardBy: 'cityHash64(dataset_id, node, ifNull(conn_id, 0))',
};

export const PROCESSES: StoreTable = {
  name: 'processes',
  columns: [
    DATASET,
    col('node', 'String'),
    col('pid', 'Int32'),
    col('ppid', 'Nullable(Int32)'),
    col('comm', 'Nullable(String)'),
    col('exe', 'Nullable(String)'),
    col('cmdline', 'Nullable(String)'),
    col('start_time_ns', 'Nullable(Int64)'),
    col('listen_ports', 'Array(Int32)'),
    col('first_seen_ns', 'Nullable(Int64)'),
  ],
  orderBy: '(dataset_id, node, pid)',
  shardBy: 'cityHash64(dataset_id, node)',
};

/** spans.parquet (docs/analysis-schema.md). Spans, edges and traces shard by trace: a trace is on one shard. */
export const SPANS: StoreTable = {
  name: 'spans',
  columns: [
    DATASET,
    col('span_id', 'String'),
    col('trace_id', 'String'),
    col('parent_span_id', 'Nullable(String)'),
    col('kind', 'String'),
    col('node', 'String'),
    col('pid', 'Nullable(Int32)'),
    col('tid', 'Nullable(Int32)'),
    col('comm', 'Nullable(String)'),
    col('service', 'Nullable(String)'),
    col('conn_id', 'Nullable(UInt64)'),
    col('local_addr', 'Nullable(String)'),
    col('local_port', 'Nullable(Int32)'),
    col('remote_addr', 'Nullable(String)'),
    col('remote_port', 'Nullable(Int32)'),
    col('protocol', 'Nullable(String)'),
    col('method', 'Nullable(String)'),
    col('path', 'Nullable(String)'),
    col('status', 'Nullable(String)'),
    col('start_ns', 'Int64'),
    col('end_ns', 'Nullable(Int64)'),
    col('req_bytes', 'Nullable(Int64)'),
    col('resp_bytes', 'Nullable(Int64)'),
    col('request_ids', 'Array(String)'),
    col('call_index', 'Nullable(Int32)'),
    col('resp_tid', 'Nullable(Int32)'),
    col('netns', 'Nullable(UInt64)'),
    col('req_seq', 'Nullable(UInt64)'),
    col('resp_seq', 'Nullable(UInt64)'),
    col('raw_start_ns', 'Nullable(Int64)'),
    col('raw_end_ns', 'Nullable(Int64)'),
    col('resp_start_ns', 'Nullable(Int64)'),
    col('head_complete', 'Nullable(Bool)'),
    col('req_seen', 'Nullable(Bool)'),
  ],
  orderBy: '(dataset_id, trace_id, start_ns, span_id)',
  shardBy: 'cityHash64(dataset_id, trace_id)',
};

export const EDGES: StoreTable = {
  name: 'edges',
  columns: [
    DATASET,
    col('trace_id', 'String'),
    col('parent_span_id', 'String'),
    col('child_span_id', 'String'),
    col('edge_kind', 'Nullable(String)'),
    col('evidence', 'Nullable(String)'),
    col('all_evidence', 'Array(String)'),
    col('confidence', 'Nullable(Float64)'),
    col('alternatives', 'Nullable(Int32)'),
  ],
  orderBy: '(dataset_id, trace_id, child_span_id)',
  shardBy: 'cityHash64(dataset_id, trace_id)',
};

/** One row per trace, derived from spans.parquet at store time (its root span, extent and members). */
export const TRACES: StoreTable = {
  name: 'traces',
  columns: [
    DATASET,
    col('trace_id', 'String'),
    col('root_span_id', 'Nullable(String)'),
    col('root_service', 'Nullable(String)'),
    col('root_protocol', 'Nullable(String)'),
    col('root_method', 'Nullable(String)'),
    col('root_path', 'Nullable(String)'),
    col('root_status', 'Nullable(String)'),
    col('start_ns', 'Int64'),
    col('end_ns', 'Int64'),
    col('spans', 'UInt32'),
    col('services', 'Array(String)'),
    col('nodes', 'Array(String)'),
  ],
  orderBy: '(dataset_id, trace_id)',
  shardBy: 'cityHash64(dataset_id, trace_id)',
};

/** OUT/score.json (`nitrace score OUT --truth D --json > OUT/score.json`): one row per scorer and scope. */
export const SCORES: StoreTable = {
  name: 'scores',
  columns: [
    DATASET,
    col('scorer', 'String'), // 'nitrace' or a baseline name
    col('scope', 'String'), // 'all', 'kind' or 'service'
    col('scope_value', 'String'), // '' for 'all'
    col('edge_f1', 'Float64'),
    col('precision', 'Float64'),
    col('recall', 'Float64'),
    col('tp', 'UInt32'),
    col('fp', 'UInt32'),
    col('fn', 'UInt32'),
    col('truth_edges', 'UInt32'),
    col('coverage', 'Float64'),
    col('points', 'UInt32'),
    col('points_mapped', 'UInt32'),
    col('strict_accuracy', 'Nullable(Float64)'),
    col('traces', 'Nullable(UInt32)'),
    col('traces_correct', 'Nullable(UInt32)'),
    col('clock_offset_us', 'Nullable(Float64)'),
  ],
  orderBy: '(dataset_id, scorer, scope, scope_value)',
  shardBy: 'cityHash64(dataset_id)',
};

/** Every table, the commit record (datasets) last. */
export const STORE_TABLES: readonly StoreTable[] = [MANIFESTS, EVENTS, PROCESSES, SPANS, EDGES, TRACES, SCORES, DATASETS];
