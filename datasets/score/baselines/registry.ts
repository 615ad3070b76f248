import type { ObservedEdge, ObservedSpan } from '../observed.js';
import { deepflowParents } from './deepflow.js';
import { fcfsParents } from './fcfs.js';
import { vpathParents } from './vpath.js';

export type BaselineName = 'fcfs' | 'vpath' | 'deepflow';

/** Every baseline, in report order; each returns a parent map (child span id -> parent span id). */
export const BASELINES: Record<BaselineName, (spans: readonly ObservedSpan[], edges: readonly ObservedEdge[]) => Map<string, string>> = {
  fcfs: fcfsParents,
  vpath: vpathParents,
  deepflow: deepflowParents,
};
