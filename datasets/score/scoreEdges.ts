import type { TruthPoint } from '../truth/types.js';
import { isInbound } from './baselines/ownership.js';
import type { Mapping } from './mapTruth.js';
import type { ObservedSpan } from './observed.js';
import { EDGE_KINDS, effectiveParents, observableOf, serviceOf, type EdgeKind } from './observable.js';

/** Precision / recall / F1 of parent->child edges, with the counts behind them. */
export interface EdgeScore {
  edge_f1: number;
  precision: number;
  recall: number;
  /** truth edges whose child was mapped and whose predicted parent is the mapped truth parent */
  tp: number;
  /** predicted edges (for mapped truth children) that are wrong */
  fp: number;
  /** truth edges not recovered (wrong parent, no parent, or an end not observed) */
  fn: number;
  truth_edges: number;
  /** observable truth points that got a span / observable truth points */
  coverage: number;
  points: number;
  points_mapped: number;
}

/** One wrong or missed edge, for `nitrace score --explain`. */
export interface Mistake {
  base_id: string;
  point: string;
  point_name: string;
  service: string;
  /** the point's span, the span of its truth parent, the parent the reconstruction gave (null: none or unmapped) */
  span: string | null;
  want: string | null;
  got: string | null;
}

/** Predicted edges grouped by the evidence that decided them (see evidenceChain). */
export interface EvidenceScore {
  /** predicted edges for truth children whose parent chain used exactly this evidence */
  predicted: number;
  right: number;
  wrong: number;
  /** right / predicted */
  precision: number;
}

export interface Score extends EdgeScore {
  /** traces (base_ids with >= 1 truth edge) whose every edge is right and that have no wrong edge */
  strict_accuracy: number;
  traces: number;
  traces_correct: number;
  by_kind: Record<string, EdgeScore>;
  by_service: Record<string, EdgeScore>;
  /**
   * Only for a reconstruction with evidence (edges.parquet): predicted edges by the evidence of each hop walked
   * from the child's span to the predicted parent, e.g. `thread`, `spatial > thread` (an HTTP server span whose
   * client side was owned by its thread), `content:_msg_id > spatial`. Sorted by key.
   */
  by_evidence?: Record<string, EvidenceScore>;
  /** the first wrong or missed edges (only when asked for) */
  mistakes?: Mistake[];
}

interface Tally {
  tp: number;
  fp: number;
  fn: number;
  truth: number;
  points: number;
  mapped: number;
}

const newTally = (): Tally => ({ tp: 0, fp: 0, fn: 0, truth: 0, points: 0, mapped: 0 });

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function finish(t: Tally): EdgeScore {
  const precision = ratio(t.tp, t.tp + t.fp);
  const recall = ratio(t.tp, t.truth);
  return {
    edge_f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    precision,
    recall,
    tp: t.tp,
    fp: t.fp,
    fn: t.fn,
    truth_edges: t.truth,
    coverage: ratio(t.mapped, t.points),
    points: t.points,
    points_mapped: t.mapped,
  };
}

/**
 * The parent a reconstruction gives the span of a truth point: walk up `parent` until a span that is itself the
 * image of a truth point, or an inbound request of an application process (the owner). Client spans that are no
 * truth point's image (the caller's side of an HTTP call) and broker/database relay spans are walked through.
 */
export function predictedParent(
  spanId: string,
  parent: ReadonlyMap<string, string>,
  anchors: ReadonlySet<string>,
  spans: ReadonlyMap<string, ObservedSpan>,
): string | null {
  let p = parent.get(spanId);
  for (let guard = 0; p !== undefined && guard < 256; guard++) {
    const s = spans.get(p);
    if (anchors.has(p) || (s && isInbound(s))) return p;
    p = parent.get(p);
  }
  return null;
}

/** Evidence of each hop from `spanId` up to `to` (inclusive), joined with ' > '; 'unknown' for a hop without one. */
export function evidenceChain(spanId: string, to: string, parent: ReadonlyMap<string, string>, evidence: ReadonlyMap<string, string>): string {
  const hops: string[] = [];
  let c = spanId;
  for (let guard = 0; c !== to && guard < 256; guard++) {
    const p = parent.get(c);
    if (p === undefined) break;
    const e = evidence.get(c) ?? 'unknown';
    if (hops[hops.length - 1] !== e) hops.push(e);
    c = p;
  }
  return hops.join(' > ');
}

/**
 * Scores one parent map against the truth. Truth edges run between observable points (unobservable function
 * points contracted away); a truth child with a span yields one predicted edge; the edge is right when its
 * parent is the span of the truth parent.
 */
export function scoreEdges(
  points: readonly TruthPoint[],
  mapping: Mapping,
  spans: readonly ObservedSpan[],
  parent: ReadonlyMap<string, string>,
  maxMistakes = 0,
  /** child span -> evidence of its edge (edges.parquet); gives `by_evidence` */
  evidence?: ReadonlyMap<string, string>,
): Score {
  const byEvidence = new Map<string, EvidenceScore>();
  const mistakes: Mistake[] = [];
  const effParent = effectiveParents(points, mapping.inProcess);
  const spanById = new Map(spans.map((s) => [s.span_id, s]));
  const anchors = new Set(mapping.spanOf.values());
  const all = newTally();
  const byKind = new Map<string, Tally>(EDGE_KINDS.map((k) => [k, newTally()]));
  const byService = new Map<string, Tally>();
  const traceOk = new Map<string, boolean>();
  const tallies = (kind: EdgeKind, svc: string) => {
    if (!byService.has(svc)) byService.set(svc, newTally());
    return [all, byKind.get(kind)!, byService.get(svc)!];
  };
  for (const p of points) {
    const o = observableOf(p);
    if (!o || mapping.inProcess.has(p.trace_id)) continue;
    const ts = tallies(o.kind, serviceOf(p));
    const span = mapping.spanOf.get(p.trace_id);
    for (const t of ts) {
      t.points++;
      if (span) t.mapped++;
    }
    const truthParent = effParent.get(p.trace_id) ?? null;
    const wantSpan = truthParent ? mapping.spanOf.get(truthParent) : undefined;
    const got = span ? predictedParent(span, parent, anchors, spanById) : null;
    const right = truthParent !== null && got !== null && got === wantSpan;
    if (truthParent !== null) {
      if (!traceOk.has(p.base_id)) traceOk.set(p.base_id, true);
      for (const t of ts) t.truth++;
      if (right) for (const t of ts) t.tp++;
      else {
        for (const t of ts) t.fn++;
        traceOk.set(p.base_id, false);
      }
    }
    if (!right && (truthParent !== null || got !== null) && mistakes.length < maxMistakes) {
      mistakes.push({ base_id: p.base_id, point: p.trace_id, point_name: p.name, service: serviceOf(p), span: span ?? null, want: wantSpan ?? null, got });
    }
    if (evidence && span && got !== null && truthParent !== null) {
      const key = evidenceChain(span, got, parent, evidence);
      const e = byEvidence.get(key) ?? { predicted: 0, right: 0, wrong: 0, precision: 0 };
      e.predicted++;
      if (right) e.right++;
      else e.wrong++;
      byEvidence.set(key, e);
    }
    if (got !== null && !right) {
      for (const t of ts) t.fp++;
      if (traceOk.has(p.base_id) || truthParent === null) traceOk.set(p.base_id, false);
    }
  }
  // a trace whose only fault is a spurious parent on a top-level point still has truth edges to be counted
  const withEdges = new Set(points.filter((p) => (effParent.get(p.trace_id) ?? null) !== null).map((p) => p.base_id));
  const traces = [...traceOk.entries()].filter(([base]) => withEdges.has(base));
  return {
    ...finish(all),
    strict_accuracy: ratio(traces.filter(([, ok]) => ok).length, traces.length),
    traces: traces.length,
    traces_correct: traces.filter(([, ok]) => ok).length,
    by_kind: Object.fromEntries([...byKind].map(([k, t]) => [k, finish(t)])),
    by_service: Object.fromEntries([...byService].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, t]) => [k, finish(t)])),
    ...(evidence
      ? {
          by_evidence: Object.fromEntries(
            [...byEvidence].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => [k, { ...e, precision: ratio(e.right, e.predicted) }]),
          ),
        }
      : {}),
    ...(maxMistakes > 0 ? { mistakes } : {}),
  };
}
