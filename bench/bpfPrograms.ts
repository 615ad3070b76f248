import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface BpfProgram {
  id: number;
  type: string;
  name: string;
  /** with kernel.bpf_stats_enabled = 1 */
  run_time_ns?: number;
  run_cnt?: number;
}

/** BPF programs loaded now (bpftool; Debian's build lists no owner pids, see programsOf). */
export function bpfPrograms(): BpfProgram[] {
  const r = spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout || '[]') as BpfProgram[];
}

/** Ids of the BPF programs held open by `pids` (their fds' fdinfo names the program: "prog_id: N"). */
export function programsOf(pids: readonly number[]): Set<number> {
  const ids = new Set<number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
        if (m) ids.add(Number(m[1]));
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return ids;
}
