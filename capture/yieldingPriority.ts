import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Every thread of this process (Linux nice values are per thread; a thread made later inherits its creator's). */
function setProcessNice(nice: number): void {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    tids = [String(process.pid)];
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // a thread that ended meanwhile, or no right to lower the value again (not root): keep what it has
    }
  }
}

/**
 * The capture's own user-space work (decode, redaction, segments) yields the CPU to the traced services during their
 * bursts: it runs at `nice` while the C consumer, started before at the normal priority, keeps draining the kernel's
 * rings into its queue. Work deferred is not lost, only queued, and not for long: once the consumer's queue has stayed
 * over `lowBytes` for `maxLagMs`, or passes `highBytes`, the capture takes the normal priority back until the queue is
 * under `lowBytes` again. A burst is absorbed; a host saturated for long shares its CPU with the capture as without
 * yielding, a second late, so the queue (and the loss risk) stays bounded and benchmarks at saturation see the cost.
 */
export class YieldingPriority {
  private yielding = false;
  /** When the queue last went over lowBytes while yielding (null: it is under). */
  private behindSince: number | null = null;
  /** Times the capture went back to the normal priority because its queue grew or stayed. */
  catchUps = 0;

  constructor(
    private readonly nice: number,
    private readonly lowBytes = 1024 * 1024,
    private readonly maxLagMs = 1000,
    private readonly highBytes = 64 * 1024 * 1024,
  ) {}

  start(): void {
    if (this.nice <= 0) return;
    setProcessNice(this.nice);
    this.yielding = true;
  }

  /** The consumer's queued bytes from its latest stats, at `nowMs` (a monotonic clock). */
  observe(queuedBytes: number, nowMs: number): void {
    if (this.nice <= 0) return;
    if (queuedBytes < this.lowBytes) {
      this.behindSince = null;
      if (!this.yielding) {
        setProcessNice(this.nice);
        this.yielding = true;
      }
      return;
    }
    if (!this.yielding) return;
    this.behindSince ??= nowMs;
    if (queuedBytes > this.highBytes || nowMs - this.behindSince >= this.maxLagMs) {
      setProcessNice(0);
      this.yielding = false;
      this.catchUps++;
    }
  }

  /** The end of the capture: draining what is queued should not wait behind the services. */
  stop(): void {
    if (this.nice > 0 && this.yielding) setProcessNice(0);
    this.yielding = false;
  }
}
