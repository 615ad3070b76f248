/**
 * The replay's steady state: CPU per event once the consumer is warm. A replay run of a few seconds is the first one
 * to three segments of a capture: builders, the writer's scratch and the sorted copy are fresh memory then, and a
 * fresh page costs ~17 us on the lab VM (~3 us/event of a 6 s run, docs/benchmarks.md); a long capture recycles that
 * memory (capture/segmentPipeline.ts hands a written segment's builder to the next one). So the window is measured
 * between two moments a segment is on disk: from the end of the `warmSegments`-th segment to the last segment
 * written while the producer was still running. Between two such moments the consumer read, built and wrote about
 * the segments in between (it reads ahead of the writer by the same amount at both ends), so CPU over the window
 * divided by their rows is the sustained cost per event, without start-up or the final flush.
 */
export interface SegmentMark {
  /** Rows of the segment just written. */
  rows: number;
  /** CPU of the consumer (user + system, all threads) from its first byte to this moment. */
  cpu_ns: number;
  /** Seconds from the first byte to this moment. */
  seconds: number;
}

export interface SteadyWindow {
  warm_segments: number;
  measured_segments: number;
  measured_events: number;
  seconds: number;
  cpu_ns_per_event: number;
  /** What one core could sustain at this CPU per event. */
  events_per_second_one_core_from_cpu: number;
  /** Events per second the consumer wrote in the window (the producer's rate when it keeps pace). */
  events_per_second_through: number;
}

/**
 * The steady window of a run whose segments were written at `marks` (in order) and whose last byte was read at
 * `readSeconds`; null when fewer than `warmSegments` + 2 segments were written while reading (the run was too
 * short to show a steady state).
 */
export function steadyWindow(marks: SegmentMark[], readSeconds: number, warmSegments: number): SteadyWindow | null {
  const whileReading = marks.filter((m) => m.seconds <= readSeconds);
  if (warmSegments < 1 || whileReading.length < warmSegments + 2) return null;
  const from = whileReading[warmSegments - 1]!;
  const to = whileReading[whileReading.length - 1]!;
  const measured = whileReading.slice(warmSegments);
  const events = measured.reduce((s, m) => s + m.rows, 0);
  const cpu = (to.cpu_ns - from.cpu_ns) / events;
  return {
    warm_segments: warmSegments,
    measured_segments: measured.length,
    measured_events: events,
    seconds: to.seconds - from.seconds,
    cpu_ns_per_event: cpu,
    events_per_second_one_core_from_cpu: 1e9 / cpu,
    events_per_second_through: events / (to.seconds - from.seconds),
  };
}
