import type { ScoreReport } from './score.js';
import type { EdgeScore } from './scoreEdges.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}`.padStart(6);

/** The accuracy table `nitrace score` prints: one row per method (nitrace + baselines) and edge kind. */
export function renderScore(r: ScoreReport): string {
  const lines: string[] = [];
  lines.push(`ground truth: ${r.traces} traces with edges, ${r.truth_edges} edges, ${r.points} observable points, coverage ${pct(r.coverage).trim()} %`);
  lines.push(`clock offset (observed - truth): ${(r.clock_offset_us / 1000).toFixed(2)} ms`);
  lines.push('');
  lines.push(`${'method'.padEnd(10)} ${'kind'.padEnd(6)} ${'F1'.padStart(6)} ${'prec'.padStart(6)} ${'recall'.padStart(6)} ${'strict'.padStart(6)} ${'edges'.padStart(6)}`);
  const row = (name: string, kind: string, s: EdgeScore, strict?: number) =>
    lines.push(`${name.padEnd(10)} ${kind.padEnd(6)} ${pct(s.edge_f1)} ${pct(s.precision)} ${pct(s.recall)} ${strict === undefined ? '     -' : pct(strict)} ${String(s.truth_edges).padStart(6)}`);
  const methods: [string, typeof r][] = [['nitrace', r], ...Object.entries(r.baselines).map(([k, v]) => [k, { ...v, clock_offset_us: 0, baselines: {} }] as [string, typeof r])];
  for (const [name, s] of methods) {
    row(name, 'all', s, s.strict_accuracy);
    for (const [kind, ks] of Object.entries(s.by_kind)) if (ks.truth_edges > 0) row('', kind, ks);
  }
  lines.push('');
  lines.push('per service (nitrace): F1 / precision / recall / coverage, edges into the service');
  for (const [svc, s] of Object.entries(r.by_service)) {
    lines.push(`  ${svc.padEnd(28)} ${pct(s.edge_f1)} ${pct(s.precision)} ${pct(s.recall)} ${pct(s.coverage)} ${String(s.truth_edges).padStart(6)}`);
  }
  if (r.by_evidence && Object.keys(r.by_evidence).length) {
    lines.push('');
    lines.push('per evidence (nitrace): precision, right / predicted edges, by the evidence of each hop to the parent');
    for (const [ev, e] of Object.entries(r.by_evidence)) {
      lines.push(`  ${ev.padEnd(40)} ${pct(e.precision)} ${String(e.right).padStart(6)} / ${String(e.predicted).padEnd(6)}`);
    }
  }
  lines.push('(percent; strict = traces with every edge right)');
  return lines.join('\n');
}
