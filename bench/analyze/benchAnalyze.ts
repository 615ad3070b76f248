/**
 * benchAnalyze: how `nitrace analyze` scales (issue 8), measured from outside on generated captures.
 *
 *   node dist/bench/analyze/benchAnalyze.js [--sizes 1M,3M,10M] [--runs 3] [--timeout-s 1800[,S2,...]] [--max-rss-gb 8]
 *        [--memory 2GB] [--temp DIR] [--lanes 2] [--layout roles] [--score 3M] [--dir DIR] [--quick]   (`make bench-analyze`)
 *
 * 1. Generates each size once (bench/analyze/captureSet.ts; cached by parameters under $NITRACE_BENCH_DIR or
 *    /var/tmp/nitrace-bench).
 * 2. Runs `nitrace analyze NODES... --out OUT` as a child process, sizes interleaved in alternating order
 *    (1M 3M 10M, 10M 3M 1M, ...) so the drifting load of a shared machine falls on every size alike; per run: wall
 *    time, events/s, peak RSS of the child's process tree, peak size of DuckDB's spill directories, and
 *    summary.json's timings_ms per step. A size that fails or times out is not run again.
 * 3. Scores the last output of each size up to --score with `nitrace score` on the replicated ground truth, per
 *    sample (each replica set against its own truth), beside the score of the sample itself.
 * 4. Writes bench/results/analyze-<time>.json (machine, load averages, commit, every run) and prints a Markdown
 *    table with the targets of issue 8: >= 200 k events/s at 1 M and 10 M, peak RSS <= 2 GB at 10 M,
 *    time(10 M) / time(1 M) <= 12.
 * --memory/--temp are passed to analyze only if `nitrace analyze --help` lists them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../../core/version.js';
import { loadavg, machineInfo, writeResult } from '../machine.js';
import { median } from '../stats.js';
import { benchRoot, generateCaptureSet, type CaptureSet } from './captureSet.js';
import { parseCount } from './generate.js';
import type { Layout } from './placement.js';
import { analysisCounts, replicaStats, type AnalysisCounts, type SetStats } from './replicaStats.js';
import { runWatched, type WatchResult } from './watchChild.js';

const NITRACE = join(packageRoot, 'bin', 'nitrace.js');
const GB = 1024 ** 3;

/** The targets of issue 8, checked on the medians. */
const TARGETS = { eventsPerS: 200_000, peakRssBytes10M: 2 * GB, growth: 12 };

interface Run {
  size: number;
  round: number;
  status: WatchResult['status'];
  exit_code: number | null;
  signal: string | null;
  wall_ms: number;
  events_per_s: number | null;
  peak_rss_bytes: number;
  peak_spill_bytes: number;
  out_bytes: number;
  timings_ms: Record<string, number> | null;
  /** analyze's own peak resident memory per step and `total` (summary.json), null before it had them. */
  peak_rss_bytes_by_step: Record<string, number> | null;
  load_before: string;
  load_after: string;
  stderr_tail: string[];
}

/** Which of --memory/--temp this nitrace's analyze understands. */
function analyzeFlags(): { memory: boolean; temp: boolean } {
  const help = spawnSync(process.execPath, [NITRACE, 'analyze', '--help'], { encoding: 'utf8' });
  const text = `${help.stdout}${help.stderr}`;
  return { memory: /--memory\b/.test(text), temp: /--temp\b/.test(text) };
}

function fmtCount(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)} k` : String(n);
}
const fmtGB = (b: number): string => `${(b / GB).toFixed(2)} GB`;

const USAGE = `usage: node dist/bench/analyze/benchAnalyze.js [--sizes 1M,3M,10M] [--runs 3] [--timeout-s 1800[,S2,...]]
  [--max-rss-gb 8] [--memory 2GB] [--temp DIR] [--lanes 2] [--layout roles|single] [--score 3M|none] [--dir DIR]
  [--keep-outputs] [--quick] [--finalize WORKDIR]        (bench/analyze/README.md)`;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1M,3M,10M' },
      runs: { type: 'string', default: '3' },
      'timeout-s': { type: 'string', default: '1800' },
      'max-rss-gb': { type: 'string', default: '8' },
      memory: { type: 'string' },
      temp: { type: 'string' },
      lanes: { type: 'string', default: '2' },
      layout: { type: 'string', default: 'roles' },
      score: { type: 'string', default: '3M' },
      dir: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'keep-outputs': { type: 'boolean', default: false },
      finalize: { type: 'string' },
    },
  });
  const quick = values.quick!;
  const sizes = (quick ? '100k,300k' : values.sizes!).split(',').map(parseCount).sort((a, b) => a - b);
  const runs = quick ? 1 : Number(values.runs);
  // One timeout for all sizes, or one per size (in --sizes order, smallest first).
  const timeouts = values['timeout-s']!.split(',').map(Number);
  const timeoutS = (n: number): number => timeouts[Math.min(sizes.indexOf(n), timeouts.length - 1)]!;
  const scoreUpTo = values.score === 'none' ? 0 : parseCount(values.score!);
  const root = values.dir ?? benchRoot();
  // --finalize WORKDIR: summarize, score and write the result of a bench stopped before it finished, from the
  // runs.json it kept (no new measurement; outputs of its last good run per size are still in WORKDIR).
  const resume = values.finalize ?? null;
  const date = resume ? basename(resume).replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3') : new Date().toISOString();
  const work = resume ?? join(root, 'runs', date.replaceAll(':', '-'));
  mkdirSync(work, { recursive: true });
  const log = (l: string): void => void process.stderr.write(`bench-analyze: ${l}\n`);

  const flags = analyzeFlags();
  const extra: string[] = [];
  if (values.memory) {
    if (flags.memory) extra.push('--memory', values.memory);
    else log(`--memory ${values.memory} not passed: this nitrace analyze has no --memory`);
  }
  const tempDir = values.temp ?? join(work, 'duckdb-temp');
  if (flags.temp) extra.push('--temp', tempDir);
  else if (values.temp) log(`--temp ${values.temp} not passed: this nitrace analyze has no --temp`);

  const result: Record<string, unknown> = {
    bench: 'analyze',
    date,
    machine: machineInfo(),
    load_before: loadavg(),
    noisy_note: 'shared 2-core machine: compare only runs taken in a quiet window (load averages recorded per run)',
    params: { sizes, runs, timeout_s: sizes.map(timeoutS), max_rss_gb: Number(values['max-rss-gb']), lanes: Number(values.lanes), layout: values.layout, quick },
    analyze_flags: { supported: flags, passed: extra },
    targets: TARGETS,
  };

  // 1. Capture sets.
  const sets = new Map<number, CaptureSet>();
  for (const n of sizes) {
    sets.set(n, await generateCaptureSet({ events: n, lanes: Number(values.lanes), layout: values.layout as Layout, root, log }));
  }
  result.capture_sets = [...sets.values()].map((s) => ({
    events: s.events,
    dir: s.dir,
    key: s.key,
    nodes: s.nodes.length,
    replicas: s.replicas.length,
    partial_replicas: s.replicas.filter((r) => r.partial).length,
    segments: s.nodes.reduce((a, n) => a + n.segments, 0),
    bytes: s.nodes.reduce((a, n) => a + n.bytes, 0),
    truth_points: s.truth_points,
    generation_ms: s.generation_ms,
  }));

  // 2. Interleaved runs.
  const all: Run[] = resume ? (JSON.parse(readFileSync(join(work, 'runs.json'), 'utf8')) as Run[]) : [];
  const dead = new Set<number>();
  const lastOut = new Map<number, string>();
  if (resume) {
    result.finalized_from = { work_dir: work, note: 'runs measured by an earlier invocation stopped before its end; summarized and scored afterwards' };
    result.load_before = all[0]?.load_before ?? null;
    for (const r of all) if (r.status === 'ok' && existsSync(join(work, `out-${r.size}-${r.round}`, 'summary.json'))) lastOut.set(r.size, join(work, `out-${r.size}-${r.round}`));
  }
  for (let round = 0; round < (resume ? 0 : runs); round++) {
    const order = round % 2 === 0 ? sizes : [...sizes].reverse();
    for (const n of order) {
      if (dead.has(n)) continue;
      const set = sets.get(n)!;
      const out = join(work, `out-${n}-${round}`);
      rmSync(out, { recursive: true, force: true });
      rmSync(tempDir, { recursive: true, force: true });
      const load_before = loadavg();
      log(`round ${round + 1}/${runs}: analyze ${fmtCount(n)} events (${set.nodes.length} nodes), load ${load_before}`);
      const w = await runWatched(process.execPath, [NITRACE, 'analyze', ...set.node_dirs, '--out', out, ...extra], {
        timeoutMs: timeoutS(n) * 1000,
        maxRssBytes: Number(values['max-rss-gb']) * GB,
        // DuckDB spills next to its database file unless told otherwise (--temp).
        spillDirs: [join(out, 'analysis.duckdb.tmp'), tempDir],
      });
      const summaryFile = join(out, 'summary.json');
      const summary =
        w.status === 'ok' && existsSync(summaryFile)
          ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as { timings_ms?: Record<string, number>; peak_rss_bytes?: Record<string, number> })
          : null;
      const run: Run = {
        size: n,
        round,
        status: w.status,
        exit_code: w.exitCode,
        signal: w.signal,
        wall_ms: w.wallMs,
        events_per_s: w.status === 'ok' ? Math.round(n / (w.wallMs / 1000)) : null,
        // analyze measures its own peak per step (VmHWM reset at each step's start): a peak between two polls counts
        peak_rss_bytes: Math.max(w.peakRssBytes, summary?.peak_rss_bytes?.total ?? 0),
        peak_spill_bytes: w.peakSpillBytes,
        out_bytes: dirSize(out),
        timings_ms: summary?.timings_ms ?? null,
        peak_rss_bytes_by_step: summary?.peak_rss_bytes ?? null,
        load_before,
        load_after: loadavg(),
        stderr_tail: w.status === 'ok' ? [] : w.stderrTail,
      };
      all.push(run);
      log(`  ${run.status} in ${(run.wall_ms / 1000).toFixed(1)} s, ${run.events_per_s ?? '-'} events/s, peak RSS ${fmtGB(run.peak_rss_bytes)}, spill ${fmtGB(run.peak_spill_bytes)}${run.status === 'ok' ? '' : `; last output: ${w.stderrTail.at(-1) ?? ''}`}`);
      if (run.status !== 'ok') {
        dead.add(n);
        rmSync(out, { recursive: true, force: true });
      } else {
        const prev = lastOut.get(n);
        if (prev && !values['keep-outputs']) rmSync(prev, { recursive: true, force: true });
        lastOut.set(n, out);
      }
      // Results so far survive an interrupted bench.
      writeFileSync(join(work, 'runs.json'), JSON.stringify(all, null, 2));
    }
  }
  rmSync(tempDir, { recursive: true, force: true });
  result.runs = all;

  // 3. Per size: medians, spread, stages.
  const perSize = sizes.map((n) => {
    const ok = all.filter((r) => r.size === n && r.status === 'ok');
    const times = ok.map((r) => r.wall_ms);
    const stages: Record<string, { median_ms: number; events_per_s: number; peak_rss_bytes?: number }> = {};
    const names = [...new Set(ok.flatMap((r) => Object.keys(r.timings_ms ?? {})))];
    for (const s of names) {
      const ms = ok.map((r) => r.timings_ms?.[s]).filter((x): x is number => x !== undefined);
      const rss = ok.map((r) => r.peak_rss_bytes_by_step?.[s]).filter((x): x is number => x !== undefined);
      if (ms.length) stages[s] = { median_ms: median(ms), events_per_s: Math.round(n / (Math.max(median(ms), 1) / 1000)), ...(rss.length ? { peak_rss_bytes: Math.max(...rss) } : {}) };
    }
    const failed = all.filter((r) => r.size === n && r.status !== 'ok');
    return {
      events: n,
      runs_ok: ok.length,
      runs_failed: failed.map((r) => ({ status: r.status, wall_ms: r.wall_ms, peak_rss_bytes: r.peak_rss_bytes, last_output: r.stderr_tail.at(-1) ?? null })),
      median_ms: ok.length ? median(times) : null,
      min_ms: ok.length ? Math.min(...times) : null,
      max_ms: ok.length ? Math.max(...times) : null,
      /** (max - min) / median of the wall times. */
      spread: ok.length ? (Math.max(...times) - Math.min(...times)) / median(times) : null,
      events_per_s: ok.length ? Math.round(n / (median(times) / 1000)) : null,
      peak_rss_bytes: ok.length ? Math.max(...ok.map((r) => r.peak_rss_bytes)) : null,
      peak_spill_bytes: ok.length ? Math.max(...ok.map((r) => r.peak_spill_bytes)) : null,
      stages,
    };
  });
  result.sizes = perSize;
  const small = perSize[0]!;
  const big = perSize.at(-1)!;
  const growth = small.median_ms && big.median_ms && big !== small ? big.median_ms / small.median_ms : null;
  result.growth = { small_events: small.events, large_events: big.events, ratio: growth, linear_ratio: big.events / small.events };
  const at = (n: number) => perSize.find((s) => s.events === n);
  const s1 = at(1e6);
  const s10 = at(1e7);
  result.verdict = {
    events_per_s_1M: { target: `>= ${TARGETS.eventsPerS}`, value: s1?.events_per_s ?? null, pass: s1?.events_per_s != null ? s1.events_per_s >= TARGETS.eventsPerS : null },
    events_per_s_10M: { target: `>= ${TARGETS.eventsPerS}`, value: s10?.events_per_s ?? null, pass: s10?.events_per_s != null ? s10.events_per_s >= TARGETS.eventsPerS : null },
    peak_rss_10M: { target: `<= ${fmtGB(TARGETS.peakRssBytes10M)}`, value: s10?.peak_rss_bytes ?? null, pass: s10?.peak_rss_bytes != null ? s10.peak_rss_bytes <= TARGETS.peakRssBytes10M : null },
    growth_10M_over_1M: {
      target: `<= ${TARGETS.growth}`,
      value: s1?.median_ms && s10?.median_ms ? s10.median_ms / s1.median_ms : null,
      pass: s1?.median_ms && s10?.median_ms ? s10.median_ms / s1.median_ms <= TARGETS.growth : null,
    },
  };

  // The timings are kept even if scoring below is interrupted (the same file is rewritten with accuracy).
  writeResult('analyze', date, result);

  // 4. Accuracy at scale: per-replica counts, and the score on the replicated truth per sample.
  const accuracy: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const out = lastOut.get(n);
    if (!out) continue;
    const set = sets.get(n)!;
    const stats = await replicaStats(out, set);
    const entry: Record<string, unknown> = { events: n, cross_replica_edges: stats.cross_replica_edges, cross_replica_edges_by_evidence: stats.cross_replica_edges_by_evidence, unattributed_spans: stats.unattributed_spans, per_sample: summarizeReplicas(stats) };
    if (n <= scoreUpTo) {
      log(`scoring ${fmtCount(n)}`);
      entry.score = scoreSet(out, set);
    }
    accuracy.push(entry);
  }
  if (scoreUpTo > 0 && accuracy.some((a) => a.score)) {
    log('analyzing and scoring the samples themselves (the reference)');
    result.sample_reference = await sampleReference(sets.values().next().value!, join(work, 'samples'), root, result.machine as { git_commit: string | null; git_dirty: boolean | null });
  }
  result.accuracy = accuracy;
  result.load_after = loadavg();

  const file = writeResult('analyze', date, result);
  process.stdout.write(renderTable(result, perSize) + `\nresult file: ${file}\nwork dir: ${work}\n`);
  if (!values['keep-outputs']) for (const o of lastOut.values()) rmSync(o, { recursive: true, force: true });
}

/** Per sample: replicas, and how many of them have the sample's own span and edge counts (whole replicas only). */
function summarizeReplicas(stats: SetStats): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...new Set(stats.replicas.map((r) => r.sample))]) {
    const whole = stats.replicas.filter((r) => r.sample === name && !r.partial);
    const spans = whole.map((r) => r.spans);
    const edges = whole.map((r) => r.edges);
    out[name] = {
      whole_replicas: whole.length,
      spans_min: spans.length ? Math.min(...spans) : null,
      spans_max: spans.length ? Math.max(...spans) : null,
      edges_min: edges.length ? Math.min(...edges) : null,
      edges_max: edges.length ? Math.max(...edges) : null,
      edges_by_evidence_first: whole[0]?.edges_by_evidence ?? null,
    };
  }
  return out;
}

/** `nitrace score` of one output against the replicated truth of each sample (its own directory per sample). */
function scoreSet(out: string, set: CaptureSet): Record<string, unknown> {
  const res: Record<string, unknown> = {};
  for (const name of new Set(set.replicas.map((r) => r.sample))) {
    const truthDir = join(set.dir, 'truth-by-sample', name);
    res[name] = score(out, truthDir);
  }
  res.all = score(out, set.dir);
  return res;
}

function score(out: string, truthDir: string): Record<string, unknown> | { error: string } {
  const r = spawnSync(process.execPath, [NITRACE, 'score', out, '--truth', truthDir, '--json', '--baseline', 'none'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).split('\n').slice(0, 3).join(' ') };
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  const pick = ['edge_f1', 'precision', 'recall', 'strict_accuracy', 'coverage', 'truth_points', 'truth_edges'];
  return Object.fromEntries(pick.filter((k) => k in s).map((k) => [k, s[k]]));
}

/**
 * Each sample analyzed and scored as it is: what every replica of it should reproduce. Cached under the bench
 * directory per commit when the checkout is clean (the same code gives the same answer).
 */
async function sampleReference(set: CaptureSet, work: string, root: string, m: { git_commit: string | null; git_dirty: boolean | null }): Promise<Record<string, unknown>> {
  const ref: Record<string, unknown> = {};
  for (const dir of set.sample_dirs) {
    const name = dir.split('/').pop()!;
    const cache = m.git_commit && m.git_dirty === false ? join(root, 'reference', `${m.git_commit}-${name}.json`) : null;
    if (cache && existsSync(cache)) {
      ref[name] = JSON.parse(readFileSync(cache, 'utf8'));
      continue;
    }
    const out = join(work, name);
    const r = spawnSync(process.execPath, [NITRACE, 'analyze', join(dir, 'capture'), '--out', out, '--quiet'], { encoding: 'utf8' });
    if (r.status !== 0) {
      ref[name] = { error: r.stderr.split('\n', 1)[0] };
      continue;
    }
    const counts: AnalysisCounts = await analysisCounts(out);
    ref[name] = { ...counts, score: score(out, dir) };
    rmSync(out, { recursive: true, force: true });
    if (cache) {
      mkdirSync(join(root, 'reference'), { recursive: true });
      writeFileSync(cache, JSON.stringify(ref[name]));
    }
  }
  return ref;
}

function dirSize(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split('\t')[0]) : 0;
}

function renderTable(result: Record<string, unknown>, perSize: { events: number; runs_ok: number; runs_failed: { status: string; wall_ms: number }[]; median_ms: number | null; min_ms: number | null; max_ms: number | null; events_per_s: number | null; peak_rss_bytes: number | null; peak_spill_bytes: number | null; stages: Record<string, { median_ms: number; events_per_s: number; peak_rss_bytes?: number }> }[]): string {
  const lines: string[] = [];
  const m = result.machine as { cpus: number; git_commit: string | null; git_dirty: boolean | null };
  lines.push(`## nitrace analyze at scale (${String(result.date)}, ${m.cpus} CPUs, commit ${m.git_commit?.slice(0, 10) ?? '?'}${m.git_dirty ? ' dirty' : ''}, load before ${String(result.load_before)})`);
  lines.push('');
  lines.push('| events | runs ok | median s (min-max) | events/s | peak RSS | peak spill |');
  lines.push('|---:|---:|---:|---:|---:|---:|');
  for (const s of perSize) {
    const failed = s.runs_failed.length ? ` (+${s.runs_failed.length} ${s.runs_failed.map((f) => `${f.status} after ${(f.wall_ms / 1000).toFixed(0)} s`).join(', ')})` : '';
    lines.push(
      `| ${fmtCount(s.events)} | ${s.runs_ok}${failed} | ${s.median_ms === null ? '-' : `${(s.median_ms / 1000).toFixed(1)} (${(s.min_ms! / 1000).toFixed(1)}-${(s.max_ms! / 1000).toFixed(1)})`} | ${s.events_per_s === null ? '-' : fmtCount(s.events_per_s)} | ${s.peak_rss_bytes === null ? '-' : fmtGB(s.peak_rss_bytes)} | ${s.peak_spill_bytes === null ? '-' : fmtGB(s.peak_spill_bytes)} |`,
    );
  }
  const stageNames = [...new Set(perSize.flatMap((s) => Object.keys(s.stages)))];
  if (stageNames.length) {
    lines.push('', `| step (median s; events/s; peak RSS) | ${perSize.map((s) => fmtCount(s.events)).join(' | ')} |`, `|---|${perSize.map(() => '---:').join('|')}|`);
    for (const st of stageNames) {
      const cell = (x: { median_ms: number; events_per_s: number; peak_rss_bytes?: number }): string =>
        `${(x.median_ms / 1000).toFixed(1)}; ${fmtCount(x.events_per_s)}${x.peak_rss_bytes === undefined ? '' : `; ${fmtGB(x.peak_rss_bytes)}`}`;
      lines.push(`| ${st} | ${perSize.map((s) => (s.stages[st] ? cell(s.stages[st]!) : '-')).join(' | ')} |`);
    }
  }
  const v = result.verdict as Record<string, { target: string; value: number | null; pass: boolean | null }>;
  lines.push('', '| target (issue 8) | wanted | measured | |', '|---|---|---:|---|');
  for (const [k, t] of Object.entries(v)) {
    const val = t.value === null ? 'not measured' : k.startsWith('peak') ? fmtGB(t.value) : k.startsWith('growth') ? t.value.toFixed(2) : fmtCount(t.value);
    lines.push(`| ${k} | ${t.target} | ${val} | ${t.pass === null ? '-' : t.pass ? 'pass' : 'FAIL'} |`);
  }
  const g = result.growth as { small_events: number; large_events: number; ratio: number | null; linear_ratio: number };
  if (g.ratio !== null) lines.push('', `time(${fmtCount(g.large_events)}) / time(${fmtCount(g.small_events)}) = ${g.ratio.toFixed(2)} (linear would be ${g.linear_ratio.toFixed(1)})`);
  const acc = (result.accuracy ?? []) as { events: number; cross_replica_edges: number; cross_replica_edges_by_evidence: Record<string, number>; score?: Record<string, Record<string, number> | { error: string }> }[];
  const ref = (result.sample_reference ?? {}) as Record<string, { spans?: number; edges?: number; score?: Record<string, number> }>;
  if (acc.length) {
    const f = (x: unknown): string => (typeof x === 'number' ? x.toFixed(3) : '-');
    lines.push('', '| accuracy | edges joining two replicas | ' + Object.keys(ref).map((n) => `${n}: edge F1 / precision / recall`).join(' | ') + ' |');
    lines.push(`|---|---:|${Object.keys(ref).map(() => '---:').join('|')}|`);
    lines.push(`| sample alone | - | ${Object.values(ref).map((r) => `${f(r.score?.edge_f1)} / ${f(r.score?.precision)} / ${f(r.score?.recall)}`).join(' | ')} |`);
    for (const a of acc) {
      const cross = `${a.cross_replica_edges}${a.cross_replica_edges ? ` (${Object.entries(a.cross_replica_edges_by_evidence).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
      const cells = Object.keys(ref).map((n) => {
        const sc = a.score?.[n] as Record<string, number> | { error: string } | undefined;
        if (!sc) return 'not scored';
        if ('error' in sc) return `error: ${String(sc.error).slice(0, 60)}`;
        return `${f(sc.edge_f1)} / ${f(sc.precision)} / ${f(sc.recall)}`;
      });
      lines.push(`| ${fmtCount(a.events)} | ${cross} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('', 'Shared machine: numbers are only comparable when taken in a quiet window (see load averages per run in the result file).');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error & { code?: string }) => {
    process.stderr.write(`bench-analyze: ${e.code?.startsWith('ERR_PARSE_ARGS') ? `${e.message}\n${USAGE}` : (e.stack ?? e.message)}\n`);
    process.exit(1);
  });
}
