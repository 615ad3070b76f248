/**
 * One row of `nitrace sketch-eval`: one sketch (or engine built-in) at one size, on one query set, answered from one
 * single-pass sketch or from sketches merged over parts (node x process x time window).
 */
export interface EvalRow {
  /** ddsketch, hyperloglog, spacesaving, countmin, traceshapes; built-ins by their SQL name (approx_quantile, ...) */
  sketch: string;
  /** 'nitrace' for the sketches in sketches/, else the engine whose built-in answered ('duckdb', 'clickhouse') */
  source: string;
  /** what was asked, e.g. 'latency by (service, kind, operation)' */
  query_set: string;
  /** the sketch's size parameters ({alpha}, {p}, {capacity}, {width, depth}, {sample_size}, {k}) */
  params: Record<string, number>;
  /** true: answered from per-part sketches encoded, decoded and merged */
  merged: boolean;
  /** parts merged (1 for single-pass rows) */
  parts: number;
  /** sketches needed to answer the query set (one per key) */
  sketches: number;
  /** serialized bytes of those sketches (for merged rows: of the merged result); null when the engine does not say */
  bytes: number | null;
  /** bytes of every part's blob (what the nodes would ship); merged rows only */
  part_bytes: number | null;
  queries: number;
  /** the largest normalised error over the queries (see metric) */
  error: number;
  error_median: number;
  /** the theoretical bound on the normalised error; null for built-ins without one */
  bound: number | null;
  /** share of queries whose answer satisfied the bound (null without a bound) */
  within_share: number | null;
  /** share of violations the bound itself allows (0 for deterministic bounds; delta for Count-Min; 1 % for HLL's 3 sigma) */
  allowed_violation_share: number | null;
  /** within_share >= 1 - allowed_violation_share (null without a bound) */
  within_bound: boolean | null;
  /** ms to build the sketches in one pass (built-ins: the query's time) */
  build_ms: number;
  /** ms to decode every part's blob and merge them (merged rows only) */
  merge_ms: number | null;
  /** merged answers identical to the single-pass ones (merged rows of exactly mergeable sketches), else null */
  same_as_single: boolean | null;
  /** what `error` measures */
  metric: string;
  /** up to 3 violating queries, described */
  violations: string[];
}

/** The outcome of one query: its normalised error and whether it met the bound (null: no bound). */
export interface QueryOutcome {
  query: string;
  error: number;
  within: boolean | null;
}

export type RowBase = Omit<EvalRow, 'queries' | 'error' | 'error_median' | 'within_share' | 'within_bound' | 'violations'>;

/** Folds query outcomes into a row. */
export function summarize(base: RowBase, outcomes: readonly QueryOutcome[]): EvalRow {
  const errors = outcomes.map((o) => o.error).sort((a, b) => a - b);
  const judged = outcomes.filter((o) => o.within !== null);
  const within = judged.filter((o) => o.within).length;
  const share = judged.length > 0 ? within / judged.length : null;
  const allowed = base.allowed_violation_share;
  return {
    ...base,
    queries: outcomes.length,
    error: errors.length ? errors[errors.length - 1]! : 0,
    error_median: errors.length ? errors[Math.floor((errors.length - 1) / 2)]! : 0,
    within_share: share,
    within_bound: share === null || allowed === null ? null : share >= 1 - allowed - 1e-12,
    violations: judged
      .filter((o) => !o.within)
      .slice(0, 3)
      .map((o) => `${o.query} (error ${o.error.toPrecision(3)})`),
  };
}

export function relativeError(estimate: number, exact: number): number {
  if (exact === 0) return estimate === 0 ? 0 : Infinity;
  return Math.abs(estimate - exact) / Math.abs(exact);
}
