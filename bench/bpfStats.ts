/**
 * kernel.bpf_stats_enabled makes every BPF program on the host time itself (two clock reads per run, kvm-clock on
 * the lab VM): cost measurements run with it off, and restore what they found. (It was found on during quiet runs.)
 */
import { execFileSync } from 'node:child_process';

export async function withBpfStatsOff<T>(f: () => Promise<T>): Promise<{ value: T; bpf_stats_enabled_found: string }> {
  const prev = execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled'], { encoding: 'utf8' }).trim();
  if (prev !== '0') execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=0']);
  try {
    return { value: await f(), bpf_stats_enabled_found: prev };
  } finally {
    if (prev !== '0') execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${prev}`]);
  }
}
