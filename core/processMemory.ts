import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The process's resident high-water mark (Linux VmHWM: the engine's buffers, the JS heap and worker threads all
 * count, they share the process), in bytes; null where /proc does not tell.
 */
export function highWaterBytes(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resets the high-water mark to the current resident size (writing 5 to /proc/self/clear_refs); false if not allowed. */
export function resetHighWater(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
