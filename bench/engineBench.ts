/**
 * make bench-engines: DuckDB and embedded ClickHouse (chdb) side by side on the same capture in one run, and the
 * rate of `nitrace store` into a ClickHouse server and a 2-shard cluster (Debian's 18.16, started here).
 *
 * Every measurement is a block in its own process (engineBlock.ts), so its peak RSS is its own. Engines run in
 * pairs whose order alternates (duckdb,chdb / chdb,duckdb / ...) and the chdb/duckdb ratio is taken per pair, so
 * the drifting load of a shared machine cancels instead of favouring one side; the same for server vs cluster.
 *
 *   node dist/bench/engineBench.js [--pairs N] [--capture DIR] [--quick] [--no-store]
 *
 * Result: bench/results/engines-<time>.json (raw blocks, medians, t intervals, paired ratios with bootstrap CIs).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/version.js';
import { startClickHouseCluster, startClickHouseServer } from '../testing/clickhouseServer.js';
import { CORE_QUERIES } from '../testing/engineCoreQueries.js';
import { loadavg, machineInfo, writeResult } from './machine.js';
import { fmtRatio, median, pairedRatio, tInterval, type Interval } from './stats.js';

type Block = Record<string, unknown> & { peak_rss_mb: number };

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const pairs = Number(option('--pairs') ?? (quick ? 2 : 5));
const capture = option('--capture') ?? join(packageRoot, 'datasets', 'samples', quick ? 'tempest-compute-servers' : 'tempest-identity-image', 'capture');
const BLOCK = join(packageRoot, 'dist', 'bench', 'engineBlock.js');

function block(argv: string[]): Block {
  const r = spawnSync(process.execPath, [BLOCK, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`engineBlock ${argv.join(' ')} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Block;
}

function summary(xs: number[]): { median: number; mean: Interval } {
  return { median: median(xs), mean: tInterval(xs) };
}

function datasetInfo(dir: string): Record<string, unknown> {
  const files = readdirSync(join(dir, 'events')).filter((f) => f.endsWith('.parquet'));
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { events?: { written?: number }; schema_version?: number };
  return {
    capture: dir.replace(packageRoot, ''),
    schema_version: manifest.schema_version,
    events: manifest.events?.written ?? null,
    parquet_bytes: files.reduce((s, f) => s + statSync(join(dir, 'events', f)).size, 0),
  };
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const machine = machineInfo();
  const log = (s: string) => process.stderr.write(`bench-engines: ${s}\n`);
  log(`${pairs} pairs on ${capture} (load ${loadavg()})`);

  // Engines: load + core queries, and the full analysis (`nitrace analyze --engine`), on both.
  const engines: { order: string[]; duckdb: Block; clickhouse: Block; analyze_duckdb: Block; analyze_clickhouse: Block }[] = [];
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? ['duckdb', 'clickhouse'] : ['clickhouse', 'duckdb'];
    const loads: Record<string, Block> = {};
    for (const e of order) loads[e] = block(['load', e, capture]);
    const analyses: Record<string, Block> = {};
    for (const e of order) analyses[e] = block(['analyze', e, capture]);
    engines.push({
      order,
      duckdb: loads.duckdb!,
      clickhouse: loads.clickhouse!,
      analyze_duckdb: analyses.duckdb!,
      analyze_clickhouse: analyses.clickhouse!,
    });
    log(
      `pair ${p + 1}/${pairs}: load duckdb ${Math.round(loads.duckdb!.load_ms as number)} ms, chdb ${Math.round(loads.clickhouse!.load_ms as number)} ms; ` +
        `analyze duckdb ${Math.round(analyses.duckdb!.analyze_ms as number)} ms, chdb ${Math.round(analyses.clickhouse!.analyze_ms as number)} ms`,
    );
  }
  const rows = engines[0]!.duckdb.rows as number;
  const metric = (side: 'duckdb' | 'clickhouse', f: (b: Block) => number) => engines.map((x) => f(x[side]));
  const ratio = (f: (b: Block) => number) => pairedRatio(engines.map((x) => ({ off: f(x.duckdb), on: f(x.clickhouse) })));
  const engineSummary: Record<string, unknown> = {};
  const metrics: Record<string, (b: Block) => number> = {
    load_ms: (b) => b.load_ms as number,
    load_rows_per_s: (b) => (b.rows as number) / ((b.load_ms as number) / 1000),
    peak_rss_mb: (b) => b.peak_rss_mb,
    ...Object.fromEntries(Object.keys(CORE_QUERIES).map((q) => [`${q}_ms`, (b: Block) => (b.queries as Record<string, number>)[q]!])),
  };
  for (const [name, f] of Object.entries(metrics)) {
    engineSummary[name] = { duckdb: summary(metric('duckdb', f)), clickhouse: summary(metric('clickhouse', f)), ratio_clickhouse_over_duckdb: ratio(f) };
  }
  // The full analysis: time, events/s and peak RSS per engine, and the chdb/duckdb ratio per pair.
  const analysis = (b: Block) => ({ ms: b.analyze_ms as number, events_per_s: (b.events as number) / ((b.analyze_ms as number) / 1000), peak_rss_mb: b.peak_rss_mb });
  engineSummary.analyze = Object.fromEntries(
    (['ms', 'events_per_s', 'peak_rss_mb'] as const).map((m) => [
      m,
      {
        duckdb: summary(engines.map((x) => analysis(x.analyze_duckdb)[m])),
        clickhouse: summary(engines.map((x) => analysis(x.analyze_clickhouse)[m])),
        ratio_clickhouse_over_duckdb: pairedRatio(engines.map((x) => ({ off: analysis(x.analyze_duckdb)[m], on: analysis(x.analyze_clickhouse)[m] }))),
      },
    ]),
  );
  // Same results (a full comparison is analyze/engineParity.test.ts): the counts of every block agree.
  const same = engines.every((x) => (['spans', 'edges', 'traces'] as const).every((k) => x.analyze_duckdb[k] === x.analyze_clickhouse[k]));
  if (!same) throw new Error('duckdb and chdb analyses differ in spans/edges/traces counts: see analyze/engineParity.test.ts');

  // Store: nitrace store into one server and into a 2-shard cluster, alternating.
  let store: Record<string, unknown> = { skipped: '--no-store' };
  if (!flag('--no-store')) {
    const server = await startClickHouseServer();
    const cluster = await startClickHouseCluster(2);
    try {
      const blocks: { order: string[]; server: Block; cluster: Block }[] = [];
      for (let p = 0; p < pairs; p++) {
        const order = p % 2 === 0 ? ['server', 'cluster'] : ['cluster', 'server'];
        const b: Record<string, Block> = {};
        for (const kind of order) {
          b[kind] =
            kind === 'server'
              ? block(['store', capture, server.url, `bench_${p}`])
              : block(['store', capture, cluster.servers[0]!.url, `bench_${p}`, cluster.name, ...cluster.servers.map((s) => s.url)]);
        }
        blocks.push({ order, server: b.server!, cluster: b.cluster! });
        log(`store pair ${p + 1}/${pairs}: server ${Math.round(b.server!.store_ms as number)} ms, cluster ${Math.round(b.cluster!.store_ms as number)} ms`);
      }
      const rate = (b: Block) => ((b.rows as Record<string, number>).events ?? 0) / ((b.store_ms as number) / 1000);
      const serverRss = [server, ...cluster.servers].map((s) => ({ url: s.url, peak_rss_mb: s.peakRssMb() }));
      store = {
        blocks,
        events_per_s: {
          server: summary(blocks.map((x) => rate(x.server))),
          cluster: summary(blocks.map((x) => rate(x.cluster))),
          ratio_cluster_over_server: pairedRatio(blocks.map((x) => ({ off: rate(x.server), on: rate(x.cluster) }))),
        },
        client_peak_rss_mb: { server: summary(blocks.map((x) => x.server.peak_rss_mb)), cluster: summary(blocks.map((x) => x.cluster.peak_rss_mb)) },
        server_peak_rss_mb: serverRss,
      };
    } finally {
      await server.stop();
      await cluster.stop();
    }
  }

  const result = {
    benchmark: 'engines',
    started,
    finished: new Date().toISOString(),
    machine,
    load_after: loadavg(),
    noisy: 'numbers are only comparable side by side within this run; final numbers need a quiet machine',
    dataset: { ...datasetInfo(capture), rows },
    engines: { duckdb: '@duckdb/node-api 1.5.6-r.1', clickhouse: 'chdb 3.4.0 (ClickHouse 26.7, embedded)' },
    core_queries: CORE_QUERIES,
    pairs,
    engine_blocks: engines,
    engine_summary: engineSummary,
    store,
  };
  const file = writeResult('engines', started, result);
  const s = engineSummary as Record<string, { duckdb: { median: number }; clickhouse: { median: number }; ratio_clickhouse_over_duckdb: Interval }>;
  const line = (name: string, unit: string) =>
    `  ${name.padEnd(20)} duckdb ${s[name]!.duckdb.median.toFixed(0).padStart(8)} ${unit}  chdb ${s[name]!.clickhouse.median.toFixed(0).padStart(8)} ${unit}  chdb/duckdb ${fmtRatio(s[name]!.ratio_clickhouse_over_duckdb)}`;
  process.stdout.write(
    [
      `bench-engines: ${rows} events, ${pairs} pairs (medians; ratio = geometric mean of per-pair ratios, 95 % bootstrap CI)`,
      line('load_ms', 'ms'),
      line('load_rows_per_s', '/s'),
      line('peak_rss_mb', 'MB'),
      ...Object.keys(CORE_QUERIES).map((q) => line(`${q}_ms`, 'ms')),
      ...(['ms', 'peak_rss_mb'] as const).map((m) => {
        const a = (engineSummary.analyze as Record<string, { duckdb: { median: number }; clickhouse: { median: number }; ratio_clickhouse_over_duckdb: Interval }>)[m]!;
        return `  analyze ${m.padEnd(12)} duckdb ${a.duckdb.median.toFixed(0).padStart(8)}     chdb ${a.clickhouse.median.toFixed(0).padStart(8)}     chdb/duckdb ${fmtRatio(a.ratio_clickhouse_over_duckdb)}`;
      }),
      ...('events_per_s' in store
        ? [
            `  store events/s       server ${(store.events_per_s as { server: { median: number } }).server.median.toFixed(0)}  2-shard cluster ${(store.events_per_s as { cluster: { median: number } }).cluster.median.toFixed(0)}`,
          ]
        : []),
      `result: ${file}`,
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-engines: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
