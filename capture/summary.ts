import type { CaptureManifest } from './manifest.js';

/** The lines printed at the end of a capture. */
export function formatSummary(out: string, m: CaptureManifest): string {
  const bytes = m.segments.reduce((s, x) => s + x.bytes, 0);
  const lost = m.losses.ringbuf_drops + m.losses.active_map_full + (m.losses.unflushed ?? 0);
  const lines = [
    `nitrace capture: ${m.status}${m.error ? ` (${m.error})` : ''}`,
    `  ${m.events.written} events in ${m.segments.length} segment(s), ${(bytes / 1024).toFixed(1)} KiB, in ${out}`,
    `  kernel emitted ${m.counters.kernel_emitted}, lost ${lost} (ring buffer full ${m.losses.ringbuf_drops}, ` +
      `no slot ${m.losses.active_map_full}, unflushed ${m.losses.unflushed ?? 'unknown'}), payload read faults ${m.losses.payload_faults}`,
    `  ${m.events.redacted} event(s) had secrets redacted${m.config.redact ? '' : ' (redaction was OFF)'}`,
  ];
  return lines.join('\n');
}
