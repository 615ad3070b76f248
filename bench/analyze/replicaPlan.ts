/**
 * Which copies of which sample go where and when. Replicas are dealt to lanes (independent deployments running at
 * the same time); within a lane they follow each other like the test runs of a long Tempest session: the
 * daemons keep their pids, each run starts `gapNs` after the previous one ended. Each lane cycles through the
 * samples starting at a different one, and the next replica always goes to the lane that is free first, so lanes
 * stay about equally long. The last replica is cut (by time) so that the set has exactly the events asked for.
 */

export interface SampleExtent {
  /** Events in the sample (after slicing). */
  events: number;
  /** First and last event time (ns), as recorded. */
  t0Ns: bigint;
  t1Ns: bigint;
}

export interface Replica {
  /** Global replica number: ids, ports, sequence numbers and Tempest pids are derived from it. */
  r: number;
  sample: number;
  lane: number;
  /** Position in its lane (0 = first run of the lane). */
  k: number;
  /** Added to every time of the sample. */
  shiftNs: bigint;
  /** Events taken from the sample: all of them, or the first `events` in time order for the last replica. */
  events: number;
  partial: boolean;
}

export interface PlanOptions {
  /** Events in the set (the last replica is cut), or */
  events?: number;
  /** whole replicas in the set. */
  replicas?: number;
  lanes: number;
  /** Pause between two runs of one lane (ns). */
  gapNs: bigint;
  /** Lane l starts l * laneStaggerNs after lane 0. */
  laneStaggerNs: bigint;
}

export function planReplicas(samples: readonly SampleExtent[], opts: PlanOptions): Replica[] {
  if (samples.length === 0) throw new Error('no sample to replay');
  if (samples.some((s) => s.events === 0)) throw new Error('a sample has no events');
  const want = opts.events ?? Number.POSITIVE_INFINITY;
  const count = opts.replicas ?? Number.POSITIVE_INFINITY;
  if (!(want > 0 && count > 0) || (opts.events === undefined) === (opts.replicas === undefined)) {
    throw new Error('give events > 0 or replicas > 0 (one of them)');
  }
  const start = samples[0]!.t0Ns;
  const cursor = Array.from({ length: opts.lanes }, (_, l) => start + BigInt(l) * opts.laneStaggerNs);
  const runs = new Array<number>(opts.lanes).fill(0);
  const out: Replica[] = [];
  let total = 0;
  while (total < want && out.length < count) {
    let lane = 0;
    for (let l = 1; l < opts.lanes; l++) if (cursor[l]! < cursor[lane]!) lane = l;
    const k = runs[lane]!++;
    const sample = (k + lane) % samples.length;
    const s = samples[sample]!;
    const take = Math.min(s.events, want - total);
    const shiftNs = cursor[lane]! - s.t0Ns;
    out.push({ r: out.length, sample, lane, k, shiftNs, events: take, partial: take < s.events });
    total += take;
    cursor[lane] = cursor[lane]! + (s.t1Ns - s.t0Ns) + opts.gapNs;
  }
  return out;
}
