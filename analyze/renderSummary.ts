import type { AnalyzeSummary } from './analyze.js';

/** The end-of-run summary: what was found, what had to be skipped, where the outputs are. */
export function renderSummary(s: AnalyzeSummary): string {
  const lines = [
    `analyze: ${s.spans} spans (${s.client_spans} client, ${s.server_spans} server), ${s.edges} edges, ${s.traces} traces in ${s.timings_ms.total} ms`,
    `  edges by evidence: ${Object.entries(s.edges_by_evidence).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  clocks: ${s.clocks.map((c) => `${c.node} ${c.method}${c.method === 'estimated' ? ` ${c.offset_ns} ns ±${BigInt(c.uncertainty_ns ?? 0) / 2n} (${c.pairs} calls)` : ''}`).join('; ')}`,
  ];
  for (const w of s.warnings) lines.push(`  warning [${w.code}] ${w.message}${w.count > 1 ? ` (${w.count})` : ''}`);
  lines.push(`  outputs: ${s.outputs.spans}, ${s.outputs.edges}, ${s.outputs.otlp}, ${s.outputs.jaeger}, ${s.outputs.database}`);
  return lines.join('\n') + '\n';
}
