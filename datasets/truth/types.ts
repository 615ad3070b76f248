/**
 * Ground truth from OSProfiler, flattened. One `TruthPoint` per OSProfiler trace point (a `<name>-start` /
 * `<name>-stop` pair); `base_id` is the trace (one Tempest test method, or one `--os-profile` CLI call).
 * Rows of DATASET/truth/spans.parquet; `TruthEdge` rows are DATASET/truth/edges.parquet.
 */
export interface TruthPoint {
  /** OSProfiler trace id of the whole trace (Tempest: one UUID per test method). */
  base_id: string;
  /** This point's id (OSProfiler calls it trace_id). */
  trace_id: string;
  /** Parent point id; equals base_id for the top-level points (the caller, e.g. Tempest, has no point). */
  parent_id: string;
  /** OSProfiler point name: `wsgi`, `db`, `rpc`, `neutron_api`, ... */
  name: string;
  /** OSProfiler project (`keystone`, `glance`, `nova`, `placement`) and service (`public`, `api`, `nova-conductor`, ...). */
  project: string;
  service: string;
  host: string | null;
  /** Absolute UTC wall clock of the start and stop notifications, in nanoseconds (OSProfiler has µs resolution). */
  started_ns: bigint;
  /** NULL when the stop notification is missing (crashed or still running when exported). */
  finished_ns: bigint | null;
  /** Depth below the trace root: 1 for top-level points. */
  depth: number;
  /** wsgi: HTTP method and path (no query) and the query string. */
  method: string | null;
  path: string | null;
  query: string | null;
  /** db: the SQL statement as SQLAlchemy sent it (placeholders `%(name)s`), cut to STATEMENT_MAX chars. */
  statement: string | null;
  /** rpc / neutron_api / other function points: the Python function's qualified name. */
  function: string | null;
  /** `exception` of the stop event when it is not "None". */
  exception: string | null;
}

/** One parent -> child link between two points of the same trace (top-level points have no edge). */
export interface TruthEdge {
  base_id: string;
  parent_id: string;
  child_id: string;
  parent_name: string;
  child_name: string;
  /** `project/service` of each side */
  parent_service: string;
  child_service: string;
}

/** Longest SQL statement kept in spans.parquet (the raw JSON keeps it whole). */
export const STATEMENT_MAX = 512;
