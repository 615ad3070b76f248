import { startBackgroundCapture, type BackgroundCapture } from '../capture/backgroundCapture.js';

/**
 * `nitrace capture ARGS` from another checkout ROOT (built), in the background, optionally under `prefix`
 * (`taskset -c 0`); resolves once its probes are attached. Benchmarks use it to run an older data path side by
 * side with this checkout's.
 */
export function startCaptureFrom(root: string, args: string[], prefix: string[] = [], startTimeoutMs = 300_000): Promise<BackgroundCapture> {
  return startBackgroundCapture(args, prefix, startTimeoutMs, root);
}
