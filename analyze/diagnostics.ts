import { NitraceError } from '../core/errors.js';
import { StepMemory } from './stepMemory.js';

/** A problem found in the input that the analysis worked around; reported, never silently dropped. */
export interface Warning {
  /** Stable code for tests and scripts, e.g. 'segment-corrupt', 'clock-unaligned', 'http-invalid'. */
  code: string;
  message: string;
  /** How many times it happened (bytes or events, as the message says). */
  count: number;
}

/** The property an unexpected error thrown inside a step carries: the step's name (stepOf reads it). */
const STEP_KEY = 'analyzeStep';

/** The analysis step an unexpected error was thrown in, if any. */
export function stepOf(err: unknown): string | undefined {
  const step = err instanceof Error ? (err as Error & { [STEP_KEY]?: unknown })[STEP_KEY] : undefined;
  return typeof step === 'string' ? step : undefined;
}

/** Collects warnings, counters and step timings for summary.json and the end-of-run summary. */
export class Diagnostics {
  readonly warnings: Warning[] = [];
  readonly counts: Record<string, number> = {};
  readonly timingsMs: Record<string, number> = {};
  /** Peak resident memory of the process per step, and `total` over the run (empty where Linux's /proc is missing). */
  readonly peakRssBytes: Record<string, number> = {};
  private readonly memory = new StepMemory();

  warn(code: string, message: string, count = 1): void {
    const w = this.warnings.find((x) => x.code === code && x.message === message);
    if (w) w.count += count;
    else this.warnings.push({ code, message, count });
  }

  add(counter: string, n: number): void {
    this.counts[counter] = (this.counts[counter] ?? 0) + n;
  }

  /** Runs `fn` as a named step and records how long it took and its peak resident memory. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    this.memory.begin();
    try {
      return await fn();
    } catch (err) {
      // A bug or an engine failure (out of memory) names the step it broke, for the CLI's internal-error line.
      if (err instanceof Error && !(err instanceof NitraceError) && !(STEP_KEY in err)) {
        Object.defineProperty(err, STEP_KEY, { value: name, enumerable: false });
      }
      throw err;
    } finally {
      this.timingsMs[name] = Math.round(performance.now() - t0);
      const peak = this.memory.end();
      if (peak !== null) this.peakRssBytes[name] = peak;
    }
  }

  /** Records the run's overall peak resident memory as `total`. */
  finishMemory(): void {
    const peak = this.memory.peak();
    if (peak !== null) this.peakRssBytes.total = peak;
  }
}
