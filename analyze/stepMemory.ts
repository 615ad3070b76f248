import { highWaterBytes, resetHighWater } from '../core/processMemory.js';

/**
 * The process's peak resident memory per analysis step. Linux keeps one high-water mark per process (VmHWM); writing
 * 5 to /proc/self/clear_refs resets it, so reading it at a step's end and resetting it at the next step's start gives
 * each step its own peak (the engine's buffers, the JS heap and parse workers all count: they share the process).
 * Elsewhere (no /proc, or clear_refs not writable) the peaks are left out: it is a measurement, not a feature.
 */
export class StepMemory {
  /** Known at the first step (nothing is read or reset before: parsers keep Diagnostics of their own, unused here). */
  private enabled: boolean | null = null;
  private overall = 0;

  /** Call at a step's start: later peaks belong to this step. */
  begin(): void {
    if (this.enabled === false) return;
    // The mark so far belongs to whatever ran before (between steps); keep it in the overall peak before resetting.
    const before = highWaterBytes();
    const reset = before !== null && resetHighWater();
    this.enabled ??= reset;
    if (this.enabled) this.overall = Math.max(this.overall, before ?? 0);
  }

  /** Call at a step's end: the step's peak in bytes (null when not measurable here). */
  end(): number | null {
    if (this.enabled !== true) return null;
    const peak = highWaterBytes() ?? 0;
    this.overall = Math.max(this.overall, peak);
    return peak;
  }

  /** The peak over the whole run so far (null when not measurable here). */
  peak(): number | null {
    if (this.enabled !== true) return null;
    return Math.max(this.overall, highWaterBytes() ?? 0);
  }
}
