/** The replay run's outcome as the producer (ring_replay.c, stderr) and the consumer (replayConsumer.ts) report it. */
export interface ProducerReport {
  produced: number;
  dropped: number;
  seconds: number;
}
export interface ConsumerReport {
  events: number;
  read_seconds: number;
  waiting_at_end: number;
}

/**
 * Zero loss at a rate, sustained: no record dropped, every one written, and the consumer kept pace: it had read the
 * last record within 1 s of the producer's end (a backlog the 64 MiB ring hid would show here) with at most one
 * closed segment still being written (two pause reading). The time after the last byte (writing the open segment,
 * up to --segment-mb of events) is a capture's one-time cost when it stops, not a failure to keep pace: counting
 * it, as make bench did until 2026-11-30, failed a run at 50 k/s with 0 drops and every event written because the
 * last 64 MiB segment took 1.5 s to convert.
 */
export function sustained(p: ProducerReport, c: ConsumerReport): boolean {
  return p.dropped === 0 && c.events === p.produced && c.read_seconds <= p.seconds + 1 && c.waiting_at_end <= 1;
}
