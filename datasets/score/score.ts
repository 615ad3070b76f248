import type { TruthPoint } from '../truth/types.js';
import { BASELINES, type BaselineName } from './baselines/registry.js';
import { DEFAULT_MAP_OPTIONS, mapTruth, type MapOptions } from './mapTruth.js';
import { parentMapOf, type Observed } from './observed.js';
import { scoreEdges, type Score } from './scoreEdges.js';

/** What `nitrace score --json` prints: the reconstruction's score, then the same keys per baseline. */
export interface ScoreReport extends Score {
  /** clock offset applied to the truth (observed - truth, µs) */
  clock_offset_us: number;
  baselines: Partial<Record<BaselineName, Score>>;
}

/** Maps the truth onto the observed spans once, then scores the reconstruction and each requested baseline. */
export function scoreAll(
  points: readonly TruthPoint[],
  observed: Observed,
  baselines: readonly BaselineName[],
  opts: MapOptions = DEFAULT_MAP_OPTIONS,
  maxMistakes = 0,
): ScoreReport {
  const mapping = mapTruth(points, observed.spans, opts);
  const evidence = new Map(observed.edges.filter((e) => e.evidence).map((e) => [e.child_span_id, e.evidence!]));
  const main = scoreEdges(points, mapping, observed.spans, parentMapOf(observed), maxMistakes, evidence);
  const out: ScoreReport = { ...main, clock_offset_us: mapping.offsetUs, baselines: {} };
  for (const name of baselines) {
    out.baselines[name] = scoreEdges(points, mapping, observed.spans, BASELINES[name](observed.spans, observed.edges));
  }
  return out;
}
