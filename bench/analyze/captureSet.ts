/**
 * Builds a realistic capture set of any size by replaying the shipped OpenStack samples (bench/analyze/README.md).
 * Each replica is one copy of a sample, moved in time, with fresh connection ids, ephemeral ports, TCP sequence
 * numbers, Tempest pids and content ids, its processes placed on nodes (placement.ts); its ground truth is
 * replicated the same way. All the heavy work is SQL in DuckDB: the sample is read once, every replica is a join
 * with a small replica table, and the events are written into per-node zstd Parquet segments of 10 s.
 *
 * Output (under the bench directory, never in the repo), written to a temporary name and renamed when complete:
 *   captures/<key>/generation.json        parameters, replicas (times, nodes), nodes, event counts
 *   captures/<key>/nodes/<node>/          a capture directory (manifest.json, processes.parquet, events/seg-*.parquet)
 *   captures/<key>/truth/                 spans.parquet, edges.parquet, tests.parquet (`nitrace score --truth <key dir>`)
 *   captures/<key>/truth-by-sample/<sample>/truth/   the same, one sample's replicas only
 * The key hashes the parameters, the generator version and the samples, so a second call with the same
 * parameters returns the cached set.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { packageRoot, version } from '../../core/version.js';
import { ID_MACROS, idTemplate, textTemplate } from './idTemplate.js';
import { LANE_PID_STRIDE, MAX_LANES, RUN_PID_BASE, RUN_PID_STRIDE, nodesOf, roleOf, type Layout } from './placement.js';
import { planReplicas, type Replica } from './replicaPlan.js';

/** Bumped whenever the output for the same parameters changes (invalidates cached sets). */
export const GENERATOR_VERSION = 1;

/** The shipped samples, in replay order. */
export const DEFAULT_SAMPLES = ['tempest-identity-image', 'tempest-compute-servers'].map((s) => join(packageRoot, 'datasets', 'samples', s));

/** Where generated data goes unless NITRACE_BENCH_DIR says otherwise. */
export function benchRoot(): string {
  return resolve(process.env.NITRACE_BENCH_DIR ?? '/var/tmp/nitrace-bench');
}

export interface GenerateOptions {
  /** Events in the capture set (exact: the last replica is cut), or */
  events?: number;
  /** a number of whole replicas. */
  replicas?: number;
  /** Dataset directories (each with capture/ and truth/); default the shipped OpenStack samples. */
  samples?: readonly string[];
  lanes?: number;
  layout?: Layout;
  /** Replay only the first S seconds of each sample (fast tests). */
  sliceS?: number | null;
  /** Pause between two runs in a lane (s). */
  gapS?: number;
  /** Segment length (s), like `nitrace capture`'s segment_max_seconds. */
  segmentS?: number;
  /** Bench directory (default benchRoot()). */
  root?: string;
  /** DuckDB memory_limit while generating. */
  memory?: string;
  log?: (line: string) => void;
}

export interface ReplicaInfo {
  r: number;
  sample: string;
  lane: number;
  k: number;
  shift_ns: string;
  /** First and last event time of the replica, shifted (ns). */
  t_start_ns: string;
  t_end_ns: string;
  events: number;
  partial: boolean;
  truth_points: number;
  nodes: string[];
}

export interface CaptureSet {
  format: 'nitrace-bench-capture-set';
  generator_version: number;
  key: string;
  dir: string;
  node_dirs: string[];
  events: number;
  /** The dataset directories replayed (absolute). */
  sample_dirs: string[];
  params: { events: number | null; replicas: number | null; lanes: number; layout: Layout; sliceS: number | null; gapS: number; segmentS: number; samples: string[] };
  samples: { name: string; events: number; duration_s: number; truth_points: number }[];
  replicas: ReplicaInfo[];
  nodes: { name: string; lane: number; roles: string[]; ip: string; events: number; segments: number; bytes: number }[];
  truth_points: number;
  generation_ms: number;
  created: string;
}

const GENERATION_FILE = 'generation.json';
const NS = 1_000_000_000n;

/** Generates the capture set (or returns the cached one with the same key). */
export async function generateCaptureSet(opts: GenerateOptions): Promise<CaptureSet> {
  const log = opts.log ?? (() => {});
  const samples = (opts.samples ?? DEFAULT_SAMPLES).map((s) => resolve(s));
  if ((opts.events === undefined) === (opts.replicas === undefined)) throw new Error('give events or replicas (one of them)');
  const params: CaptureSet['params'] = {
    events: opts.events === undefined ? null : Math.round(opts.events),
    replicas: opts.replicas ?? null,
    lanes: opts.lanes ?? 2,
    layout: opts.layout ?? 'roles',
    sliceS: opts.sliceS ?? null,
    gapS: opts.gapS ?? 5,
    segmentS: opts.segmentS ?? 10,
    samples: samples.map((s) => s.split('/').pop()!),
  };
  if (!Number.isInteger(params.lanes) || params.lanes < 1 || params.lanes > MAX_LANES) throw new Error(`lanes must be 1..${MAX_LANES} (got ${params.lanes})`);
  if (params.layout !== 'roles' && params.layout !== 'single') throw new Error(`layout must be roles or single (got ${String(params.layout)})`);
  for (const s of samples) {
    for (const f of ['capture/manifest.json', 'capture/processes.parquet', 'truth/spans.parquet', 'truth/edges.parquet']) {
      if (!existsSync(join(s, f))) throw new Error(`${s}: ${f} missing (a sample is a dataset directory with capture/ and truth/)`);
    }
  }
  const key = createHash('sha256')
    .update(JSON.stringify({ GENERATOR_VERSION, params, samples: samples.map(fingerprint) }))
    .digest('hex')
    .slice(0, 16);
  const root = opts.root ? resolve(opts.root) : benchRoot();
  const dir = join(root, 'captures', `${params.events ?? `r${params.replicas}`}-${key}`);
  if (existsSync(join(dir, GENERATION_FILE))) {
    log(`capture set ${dir} (cached)`);
    return JSON.parse(readFileSync(join(dir, GENERATION_FILE), 'utf8')) as CaptureSet;
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'duckdb-tmp'), { recursive: true });
  const t0 = performance.now();
  // A database file in the temporary directory: DuckDB compresses its tables, the replicated events stay on disk.
  const instance = await DuckDBInstance.create(join(tmp, 'duckdb-tmp', 'generate.duckdb'), {
    memory_limit: opts.memory ?? '3GB',
    temp_directory: join(tmp, 'duckdb-tmp'),
    preserve_insertion_order: 'true',
  });
  const db = await instance.connect();
  try {
    const set = await generate(db, samples, params, key, dir, tmp, log);
    set.generation_ms = Math.round(performance.now() - t0);
    writeFileSync(join(tmp, GENERATION_FILE), JSON.stringify(set, null, 2) + '\n');
    db.closeSync();
    instance.closeSync();
    rmSync(join(tmp, 'duckdb-tmp'), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    log(`capture set ${dir}: ${set.events} events, ${set.nodes.length} nodes, ${set.replicas.length} replicas, ${(set.generation_ms / 1000).toFixed(1)} s`);
    return set;
  } catch (e) {
    try {
      db.closeSync();
      instance.closeSync();
    } catch {
      /* already closed */
    }
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** What identifies a sample's content cheaply: its manifest and the names and sizes of its files. */
function fingerprint(sample: string): string {
  const h = createHash('sha256').update(readFileSync(join(sample, 'capture', 'manifest.json')));
  for (const sub of ['capture/events', 'capture', 'truth']) {
    const d = join(sample, sub);
    for (const f of readdirSync(d).sort()) if (f.endsWith('.parquet')) h.update(`${sub}/${f}:${statSync(join(d, f)).size};`);
  }
  return h.digest('hex');
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

async function rows<T>(db: DuckDBConnection, sql: string): Promise<T[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as T[];
}

type Params = CaptureSet['params'];

async function generate(db: DuckDBConnection, samples: string[], params: Params, key: string, dir: string, tmp: string, logLine: (l: string) => void): Promise<CaptureSet> {
  const started = performance.now();
  const log = (l: string): void => logLine(`${l} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  for (const m of ID_MACROS) await db.run(m);
  await db.run(`CREATE MACRO bench_port(r, p) AS CASE WHEN p >= 32768 AND p < 61000 THEN 32768 + ((p - 32768 + r * 7919) % 28232) ELSE p END`);
  await db.run(`CREATE MACRO bench_truth_id(r, id) AS CASE
    WHEN regexp_full_match(id, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}') THEN bench_id(r, id)
    ELSE id || '-r' || r::VARCHAR END`);

  // 1. The samples: events (with their rank in time, to cut the last replica exactly), processes, truth.
  log('generate: reading samples');
  const manifests = samples.map((s) => JSON.parse(readFileSync(join(s, 'capture', 'manifest.json'), 'utf8')) as Record<string, unknown>);
  const segs = (s: string): string => `[${readdirSync(join(s, 'capture', 'events')).filter((f) => /^seg-\d+\.parquet$/.test(f)).sort().map((f) => lit(join(s, 'capture', 'events', f))).join(', ')}]`;
  const union = (part: (s: string, i: number) => string): string => samples.map((s, i) => `SELECT ${i} AS sample, * FROM ${part(s, i)}`).join(' UNION ALL BY NAME ');
  await db.run(`CREATE TABLE raw AS ${union((s) => `read_parquet(${segs(s)}, union_by_name = true)`)}`);
  if (params.sliceS !== null) {
    await db.run(`DELETE FROM raw WHERE ts_ns >= (SELECT min(r2.ts_ns) FROM raw r2 WHERE r2.sample = raw.sample) + ${BigInt(Math.round(params.sliceS * 1e9))}`);
  }
  await db.run(`CREATE TABLE src AS SELECT (row_number() OVER (PARTITION BY sample ORDER BY ts_ns, mono_ns))::BIGINT AS rid, * FROM raw`);
  await db.run('DROP TABLE raw');
  await db.run(`CREATE TABLE procs AS ${union((s) => `read_parquet(${lit(join(s, 'capture', 'processes.parquet'))})`)}`);
  await db.run(`CREATE TABLE tpoints AS SELECT (row_number() OVER ())::BIGINT AS trid, * FROM (${union((s) => `read_parquet(${lit(join(s, 'truth', 'spans.parquet'))})`)})`);
  await db.run(`CREATE TABLE tedges AS ${union((s) => `read_parquet(${lit(join(s, 'truth', 'edges.parquet'))})`)}`);
  const hasTests = samples.every((s) => existsSync(join(s, 'truth', 'tests.parquet')));
  if (hasTests) await db.run(`CREATE TABLE ttests AS ${union((s) => `read_parquet(${lit(join(s, 'truth', 'tests.parquet'))})`)}`);

  const extents = await rows<{ sample: number; n: bigint; t0: bigint; t1: bigint }>(db, 'SELECT sample, count(*) AS n, min(ts_ns) AS t0, max(ts_ns) AS t1 FROM src GROUP BY sample ORDER BY sample');
  if (extents.length !== samples.length) throw new Error('a sample has no events (in the slice)');
  const extentOf = extents.map((e) => ({ events: Number(e.n), t0Ns: e.t0, t1Ns: e.t1 }));

  // 2. The plan: replicas, lanes, nodes.
  const replicas = planReplicas(extentOf, {
    events: params.events ?? undefined,
    replicas: params.replicas ?? undefined,
    lanes: params.lanes,
    gapNs: BigInt(Math.round(params.gapS * 1e9)),
    laneStaggerNs: 7n * NS,
  });
  // Segments are 10 s windows of one clock for all nodes, from the first event of the set.
  const setT0 = extentOf[0]!.t0Ns;
  const sliced = params.sliceS !== null;
  const reps = replicas.map((x) => `(${x.r}, ${x.sample}, ${x.lane}, ${x.shiftNs}, ${x.partial || sliced ? x.events : 'NULL'})`);
  await db.run(`CREATE TABLE reps (r INTEGER, sample INTEGER, lane INTEGER, shift_ns BIGINT, take BIGINT)`);
  await db.run(`INSERT INTO reps VALUES ${reps.join(', ')}`);
  // Truth points of a cut replica are kept if they ended before its last event.
  await db.run(`ALTER TABLE reps ADD COLUMN cut_ts BIGINT`);
  await db.run(`UPDATE reps SET cut_ts = (SELECT max(ts_ns) FROM src WHERE src.sample = reps.sample AND src.rid <= reps.take) WHERE take IS NOT NULL`);

  const nodes = nodesOf(params.layout, params.lanes);
  const nodeNames = [...new Set(nodes.map((n) => n.name))];
  await db.run(`CREATE TABLE nodes (lane INTEGER, role VARCHAR, node VARCHAR, ip VARCHAR, node_idx INTEGER)`);
  await db.run(`INSERT INTO nodes VALUES ${nodes.map((n) => `(${n.lane}, ${lit(n.role)}, ${lit(n.name)}, ${lit(n.ip)}, ${nodeNames.indexOf(n.name)})`).join(', ')}`);

  // 3. Roles of the processes; Tempest processes are numbered for their fresh pids.
  const procs = await rows<{ sample: number; pid: number; comm: string | null; cmdline: string | null }>(db, 'SELECT DISTINCT sample, pid, comm, cmdline FROM procs ORDER BY sample, pid');
  const runIdx = new Map<number, number>();
  const roleRows = procs.map((p) => {
    const role = roleOf(p.comm, p.cmdline);
    let idx: number | null = null;
    if (role === 'tempest') {
      idx = runIdx.get(p.sample) ?? 0;
      runIdx.set(p.sample, idx + 1);
      if (idx >= RUN_PID_STRIDE) throw new Error(`${samples[p.sample]}: more than ${RUN_PID_STRIDE} Tempest processes`);
    }
    return `(${p.sample}, ${p.pid}, ${lit(role)}, ${idx ?? 'NULL'})`;
  });
  await db.run(`CREATE TABLE roles (sample INTEGER, pid INTEGER, role VARCHAR, run_idx INTEGER)`);
  if (roleRows.length) await db.run(`INSERT INTO roles SELECT DISTINCT ON (sample, pid) * FROM (VALUES ${roleRows.join(', ')}) v(sample, pid, role, run_idx)`);

  // 4. The process at the other end of every socket: the mirrored socket (ports swapped) that carried the same
  // sequence numbers, else the one nearest in time (a socket seen only at connect), else the port's listener.
  // Their events need not overlap in time: a request sent just before the capture ended is read after it.
  await db.run(`CREATE TABLE socks AS SELECT sample, conn_id, local_port, remote_port, any_value(pid) AS pid, min(ts_ns) AS t0, max(ts_ns) AS t1,
      min(tcp_seq) AS s0, max(tcp_seq) AS s1
    FROM src WHERE conn_id IS NOT NULL GROUP BY ALL`);
  await db.run(`CREATE TABLE peers AS SELECT a.sample, a.conn_id, a.local_port, a.remote_port, coalesce(
      (SELECT arg_min(b.pid, CASE WHEN a.s0 <= b.s1 AND b.s0 <= a.s1 THEN 0 ELSE 1000000000000000000 END + greatest(0, b.t0 - a.t1, a.t0 - b.t1))
        FROM socks b WHERE b.sample = a.sample AND b.local_port = a.remote_port AND b.remote_port = a.local_port AND b.conn_id <> a.conn_id),
      (SELECT min(p.pid) FROM procs p WHERE p.sample = a.sample AND list_contains(p.listen_ports, a.remote_port))) AS peer_pid
    FROM socks a`);

  // 5. Id templates of payloads and truth text (found once per sample, rewritten per replica in SQL).
  log('generate: finding ids in payloads');
  await db.run('CREATE TABLE tpl (sample INTEGER, rid BIGINT, parts VARCHAR, toks VARCHAR)');
  const app = await db.createAppender('tpl');
  const found = await db.stream('SELECT sample, rid, payload FROM src WHERE octet_length(payload) >= 32');
  for await (const chunk of found.yieldRowsJs()) {
    for (const [sample, rid, payload] of chunk as [number, bigint, Uint8Array][]) {
      const t = idTemplate(payload);
      if (!t) continue;
      app.appendInteger(sample);
      app.appendBigInt(rid);
      app.appendVarchar(t.parts);
      app.appendVarchar(t.toks);
      app.endRow();
    }
  }
  app.flushSync();
  app.closeSync();
  const TEXT = ['path', 'query', 'statement', 'function', 'exception'] as const;
  await db.run(`CREATE TABLE ttpl (trid BIGINT, col VARCHAR, parts VARCHAR, toks VARCHAR)`);
  const tapp = await db.createAppender('ttpl');
  for (const p of await rows<Record<string, string | null> & { trid: bigint }>(db, `SELECT trid, ${TEXT.map((c) => `"${c}"`).join(', ')} FROM tpoints`)) {
    for (const c of TEXT) {
      const t = textTemplate(p[c] ?? null);
      if (!t) continue;
      tapp.appendBigInt(p.trid);
      tapp.appendVarchar(c);
      tapp.appendVarchar(t.parts);
      tapp.appendVarchar(t.toks);
      tapp.endRow();
    }
  }
  tapp.flushSync();
  tapp.closeSync();

  // 6. Events of every replica, clustered by (node, 10 s segment), then one ordered COPY per segment file.
  // (A partitioned COPY would be one statement, but DuckDB 1.5 does not keep rows in order within its files.)
  log(`generate: replicating ${replicas.reduce((a, x) => a + x.events, 0)} events (${replicas.length} replicas, ${nodeNames.length} nodes)`);
  const segNs = BigInt(Math.round(params.segmentS * 1e9));
  const newPid = `CASE WHEN ro.run_idx IS NOT NULL THEN ${RUN_PID_BASE} + x.r * ${RUN_PID_STRIDE} + ro.run_idx ELSE e.pid + x.lane * ${LANE_PID_STRIDE} END`;
  const loopback = (a: string): string => `${a} IN ('127.0.0.1', '::1')`;
  await db.run(`CREATE TABLE gen AS
      SELECT e.* EXCLUDE (sample, rid) REPLACE (
        e.ts_ns + x.shift_ns AS ts_ns,
        e.mono_ns + x.shift_ns AS mono_ns,
        n.node AS node,
        (${newPid})::INTEGER AS pid,
        (e.tid - e.pid + ${newPid})::INTEGER AS tid,
        CASE WHEN e.conn_id IS NULL THEN NULL ELSE hash(x.r, e.conn_id) & 9223372036854775807 END AS conn_id,
        CASE WHEN ${loopback('e.local_addr')} AND n.node <> pn.node THEN n.ip ELSE e.local_addr END AS local_addr,
        bench_port(x.r, e.local_port)::INTEGER AS local_port,
        CASE WHEN ${loopback('e.remote_addr')} AND n.node <> pn.node THEN pn.ip ELSE e.remote_addr END AS remote_addr,
        bench_port(x.r, e.remote_port)::INTEGER AS remote_port,
        CASE WHEN e.tcp_seq IS NULL THEN NULL
             ELSE (e.tcp_seq + hash(x.r, least(e.local_port, e.remote_port), greatest(e.local_port, e.remote_port)) % 4294967296) % 4294967296 END AS tcp_seq,
        CASE WHEN t.toks IS NULL THEN e.payload ELSE bench_rewrite(x.r, t.parts, t.toks) END AS payload
      ), (n.node_idx::BIGINT * 1000000 + (e.ts_ns + x.shift_ns - ${setT0}) // ${segNs}) AS pk
      FROM src e JOIN reps x ON x.sample = e.sample AND (x.take IS NULL OR e.rid <= x.take)
      LEFT JOIN roles ro ON ro.sample = e.sample AND ro.pid = e.pid
      JOIN nodes n ON n.lane = x.lane AND n.role = coalesce(ro.role, 'controller')
      LEFT JOIN peers pe ON pe.sample = e.sample AND pe.conn_id = e.conn_id AND pe.local_port IS NOT DISTINCT FROM e.local_port
        AND pe.remote_port IS NOT DISTINCT FROM e.remote_port
      LEFT JOIN roles pr ON pr.sample = e.sample AND pr.pid = pe.peer_pid
      JOIN nodes pn ON pn.lane = x.lane AND pn.role = coalesce(pr.role, ro.role, 'controller')
      LEFT JOIN tpl t ON t.sample = e.sample AND t.rid = e.rid
      ORDER BY pk`);
  const segRows = await rows<{ pk: bigint; n: bigint; first: bigint; last: bigint }>(db, 'SELECT pk, count(*) AS n, min(mono_ns) AS first, max(mono_ns) AS last FROM gen GROUP BY pk ORDER BY pk');
  log(`generate: writing ${segRows.length} segment files`);
  const nodeOut: CaptureSet['nodes'] = [];
  const nodeDirs: string[] = [];
  for (const [idx, name] of nodeNames.entries()) {
    // A node with no event in this set (a lane not reached by a small set) is left out: it was not captured.
    if (!segRows.some((x) => Number(x.pk / 1_000_000n) === idx)) continue;
    const ndir = join(tmp, 'nodes', name);
    mkdirSync(join(ndir, 'events'), { recursive: true });
    const segments = [];
    for (const [i, s] of segRows.filter((x) => Number(x.pk / 1_000_000n) === idx).entries()) {
      const file = `events/seg-${String(i + 1).padStart(6, '0')}.parquet`;
      await db.run(`COPY (SELECT * EXCLUDE (pk) FROM gen WHERE pk = ${s.pk} ORDER BY mono_ns) TO ${lit(join(ndir, file))} (FORMAT parquet, COMPRESSION zstd)`);
      const bytes = statSync(join(ndir, file)).size;
      segments.push({ file, rows: Number(s.n), bytes, sha256: await sha256(join(ndir, file)), first_mono_ns: String(s.first), last_mono_ns: String(s.last) });
    }
    const spec = nodes.filter((n) => n.name === name);
    const lane = spec[0]!.lane;
    const sampleIdx = replicas.find((x) => x.lane === lane)?.sample ?? 0;
    writeFileSync(join(ndir, 'manifest.json'), JSON.stringify(manifestOf(name, manifests[sampleIdx]!, manifests, segments, key), null, 2) + '\n');
    nodeOut.push({ name, lane, roles: spec.map((n) => n.role), ip: spec[0]!.ip, events: segments.reduce((a, s) => a + s.rows, 0), segments: segments.length, bytes: segments.reduce((a, s) => a + s.bytes, 0) });
    nodeDirs.push(join(dir, 'nodes', name));
  }
  await db.run('DROP TABLE gen');

  // 7. processes.parquet per node: daemons once per lane (first seen over its runs), Tempest processes once per run.
  await db.run(`CREATE TABLE gprocs AS SELECT DISTINCT ON (node, pid) * FROM (
      SELECT p.* EXCLUDE (sample) REPLACE (
        n.node AS node,
        (${newPid.replaceAll('e.pid', 'p.pid')})::INTEGER AS pid,
        CASE WHEN p.ppid IS NULL OR p.ppid <= 1 THEN p.ppid ELSE p.ppid + x.lane * ${LANE_PID_STRIDE} END AS ppid,
        CASE WHEN ro.run_idx IS NOT NULL THEN p.start_time_ns + x.shift_ns ELSE p.start_time_ns END AS start_time_ns,
        p.first_seen_ns + x.shift_ns AS first_seen_ns)
      FROM procs p JOIN reps x ON x.sample = p.sample
      LEFT JOIN roles ro ON ro.sample = p.sample AND ro.pid = p.pid
      JOIN nodes n ON n.lane = x.lane AND n.role = coalesce(ro.role, 'controller'))
    ORDER BY node, pid, first_seen_ns`);
  for (const name of nodeOut.map((n) => n.name)) {
    await db.run(`COPY (SELECT * FROM gprocs WHERE node = ${lit(name)} ORDER BY pid) TO ${lit(join(tmp, 'nodes', name, 'processes.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  }

  // 8. Ground truth, replicated with the same time shifts and id rewrite.
  log('generate: replicating ground truth');
  mkdirSync(join(tmp, 'truth'), { recursive: true });
  const text = (c: string): string =>
    `CASE WHEN tt_${c}.toks IS NULL THEN t."${c}" ELSE decode(bench_rewrite(x.r, tt_${c}.parts, tt_${c}.toks)) END AS "${c}"`;
  await db.run(`CREATE TABLE gpoints AS SELECT x.r, t.* EXCLUDE (trid, sample) REPLACE (
      bench_truth_id(x.r, t.base_id) AS base_id, bench_truth_id(x.r, t.trace_id) AS trace_id, bench_truth_id(x.r, t.parent_id) AS parent_id,
      t.started_ns + x.shift_ns AS started_ns, t.finished_ns + x.shift_ns AS finished_ns,
      ${TEXT.map(text).join(',\n      ')})
    FROM tpoints t JOIN reps x ON x.sample = t.sample
    ${TEXT.map((c) => `LEFT JOIN ttpl tt_${c} ON tt_${c}.trid = t.trid AND tt_${c}.col = '${c}'`).join('\n    ')}
    WHERE x.cut_ts IS NULL OR coalesce(t.finished_ns, t.started_ns) <= x.cut_ts`);
  await db.run(`COPY (SELECT * EXCLUDE (r) FROM gpoints ORDER BY base_id, started_ns) TO ${lit(join(tmp, 'truth', 'spans.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  await db.run(`COPY (SELECT * FROM (SELECT e.* EXCLUDE (sample) REPLACE (bench_truth_id(x.r, e.base_id) AS base_id,
        bench_truth_id(x.r, e.parent_id) AS parent_id, bench_truth_id(x.r, e.child_id) AS child_id)
      FROM tedges e JOIN reps x ON x.sample = e.sample) g
    WHERE child_id IN (SELECT trace_id FROM gpoints) AND (parent_id = base_id OR parent_id IN (SELECT trace_id FROM gpoints))
    ORDER BY base_id) TO ${lit(join(tmp, 'truth', 'edges.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  if (hasTests) {
    await db.run(`COPY (SELECT * FROM (SELECT t.* EXCLUDE (sample) REPLACE (bench_truth_id(x.r, t.base_id) AS base_id) FROM ttests t JOIN reps x ON x.sample = t.sample) g
      WHERE base_id IN (SELECT base_id FROM gpoints) ORDER BY test_id, base_id) TO ${lit(join(tmp, 'truth', 'tests.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  }
  // The same truth split by sample, so each sample's replicas can be scored against their own truth.
  for (const [i, name] of params.samples.entries()) {
    const d = join(tmp, 'truth-by-sample', name, 'truth');
    mkdirSync(d, { recursive: true });
    const mine = `(SELECT r FROM reps WHERE sample = ${i})`;
    await db.run(`COPY (SELECT * EXCLUDE (r) FROM gpoints WHERE r IN ${mine} ORDER BY base_id, started_ns) TO ${lit(join(d, 'spans.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
    await db.run(`COPY (SELECT e.* FROM read_parquet(${lit(join(tmp, 'truth', 'edges.parquet'))}) e
      WHERE e.child_id IN (SELECT trace_id FROM gpoints WHERE r IN ${mine}) ORDER BY base_id) TO ${lit(join(d, 'edges.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
    if (hasTests) {
      await db.run(`COPY (SELECT t.* FROM read_parquet(${lit(join(tmp, 'truth', 'tests.parquet'))}) t
        WHERE t.base_id IN (SELECT base_id FROM gpoints WHERE r IN ${mine}) ORDER BY test_id) TO ${lit(join(d, 'tests.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
    }
  }
  const truthPerReplica = new Map((await rows<{ r: number; n: bigint }>(db, 'SELECT r, count(*) AS n FROM gpoints GROUP BY r')).map((x) => [x.r, Number(x.n)]));
  const truthPerSample = await rows<{ sample: number; n: bigint }>(db, 'SELECT sample, count(*) AS n FROM tpoints GROUP BY sample ORDER BY sample');

  // 9. Replica facts for checks and reports.
  const spans = await rows<{ r: number; t0: bigint; t1: bigint }>(db, `SELECT x.r, min(e.ts_ns) + any_value(x.shift_ns) AS t0, max(e.ts_ns) + any_value(x.shift_ns) AS t1
    FROM src e JOIN reps x ON x.sample = e.sample AND (x.take IS NULL OR e.rid <= x.take) GROUP BY x.r`);
  const spanOf = new Map(spans.map((s) => [s.r, s]));
  const info = (x: Replica): ReplicaInfo => ({
    r: x.r,
    sample: params.samples[x.sample]!,
    lane: x.lane,
    k: x.k,
    shift_ns: String(x.shiftNs),
    t_start_ns: String(spanOf.get(x.r)!.t0),
    t_end_ns: String(spanOf.get(x.r)!.t1),
    events: x.events,
    partial: x.partial,
    truth_points: truthPerReplica.get(x.r) ?? 0,
    nodes: [...new Set(nodes.filter((n) => n.lane === x.lane).map((n) => n.name))],
  });
  return {
    format: 'nitrace-bench-capture-set',
    generator_version: GENERATOR_VERSION,
    key,
    dir,
    node_dirs: nodeDirs,
    events: nodeOut.reduce((a, n) => a + n.events, 0),
    params,
    sample_dirs: samples,
    samples: extentOf.map((e, i) => ({
      name: params.samples[i]!,
      events: e.events,
      duration_s: Number(e.t1Ns - e.t0Ns) / 1e9,
      truth_points: Number(truthPerSample.find((t) => t.sample === i)?.n ?? 0n),
    })),
    replicas: replicas.map(info),
    nodes: nodeOut,
    truth_points: [...truthPerReplica.values()].reduce((a, b) => a + b, 0),
    generation_ms: 0,
    created: new Date().toISOString(),
  };
}

function sha256(file: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

/**
 * A capture manifest (docs/capture-schema.md) for a generated node: the recorded sample's kernel, config and clock
 * offset, this node's segments. Losses are zero (the samples' own losses are listed under `generated`).
 */
function manifestOf(node: string, base: Record<string, unknown>, all: Record<string, unknown>[], segments: { rows: number; first_mono_ns: string; last_mono_ns: string }[], key: string): Record<string, unknown> {
  const clock = (base.clock ?? {}) as Record<string, unknown>;
  const offset = BigInt(String(clock.mono_to_realtime_ns ?? '0'));
  const rowsTotal = segments.reduce((a, s) => a + s.rows, 0);
  const first = segments.length ? BigInt(segments[0]!.first_mono_ns) : 0n;
  const last = segments.length ? BigInt(segments.at(-1)!.last_mono_ns) : 0n;
  const iso = (mono: bigint): string => new Date(Number((mono + offset) / 1_000_000n)).toISOString();
  return {
    format: 'nitrace-capture',
    schema_version: Math.max(...all.map((m) => Number(m.schema_version ?? 1))),
    nitrace_version: version,
    status: 'complete',
    agent: null,
    error: null,
    node,
    kernel: base.kernel ?? null,
    config: base.config ?? {},
    clock: {
      mono_to_realtime_ns: String(offset),
      samples: [
        { realtime_ns: String(first + offset), monotonic_ns: String(first), uncertainty_ns: 0, when: 'start' },
        { realtime_ns: String(last + offset), monotonic_ns: String(last), uncertainty_ns: 0, when: 'stop' },
      ],
      drift_ns: 0,
      source: 'generated by bench/analyze (replayed samples keep their recorded offset)',
    },
    started_at: iso(first),
    stopped_at: iso(last),
    segments,
    events: { written: rowsTotal, redacted: 0 },
    losses: { ringbuf_drops: 0, active_map_full: 0, payload_faults: 0, unflushed: 0, decoder_malformed: 0 },
    counters: { kernel_emitted: rowsTotal, filtered_in_kernel: 0, agent_records: rowsTotal },
    generated: {
      by: 'bench/analyze/captureSet.ts',
      generator_version: GENERATOR_VERSION,
      key,
      source_losses: all.map((m) => m.losses ?? null),
    },
  };
}
