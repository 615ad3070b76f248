/**
 * compareDataPaths: does this checkout's capture data path see the same socket I/O as another nitrace checkout's
 * (the one before the socket-layer data path, say)? Both captures run AT ONCE on the same traffic
 * (bench/datapath/traffic.py: http_pair bulk/keep-alive/large/concurrent, a 200 KB body read in pieces,
 * write/read, writev/readv, sendmsg/recvmsg, sendfile, EAGAIN, shutdown; over IPv4, IPv6 and in a fresh network
 * namespace), each with `--pid <traffic driver>`, and their rows are compared:
 *
 *   node dist/bench/datapath/compareDataPaths.js --baseline DIR [--snaplen N]        (root; DIR = a built checkout)
 *
 * - data rows, per socket and direction, in mono_ns order: syscall, fd, bytes, tcp_seq, payload MD5, pid, tid,
 *   comm must be equal row by row (sendfile: the kernel may send a file in several pieces, so its rows are compared
 *   as one run: total bytes and first tcp_seq);
 * - per thread, the order of all data/block rows (socket, direction, tcp_seq) must be equal;
 * - block, connect and close rows per socket are counted; accept rows are listed (the socket-layer path has none);
 * - gid (salted per capture): the k-th data/block row of each socket must map baseline gids to new gids one to one.
 * Writes bench/results/datapath-compare-<time>.json and exits 1 when anything but the documented differences differs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../core/version.js';
import { query, HTTP_PAIR, PYTHON } from '../../testing/liveTestHelpers.js';
import { machineInfo, loadavg, writeResult } from '../machine.js';
import { startCaptureFrom } from '../captureFrom.js';

const argv = process.argv.slice(2);
const arg = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
const baseline = arg('--baseline');
const snaplen = arg('--snaplen') ?? '2048';
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

type Row = [string, string | null, string | null, number, number, number, string, string, number, string | null, bigint | null, bigint, string, string | null];
const COLS = `event, syscall, direction, pid, tid, fd, comm, coalesce(family || ' ' || local_addr || ' ' || local_port || ' ' || remote_addr || ' ' || remote_port || ' ' || netns, 'no-tuple'),
  local_port, family, tcp_seq, bytes, md5(payload), gid::VARCHAR`;

async function rows(dir: string): Promise<Row[]> {
  return query<Row>(`SELECT ${COLS} FROM read_parquet('${dir}/events/*.parquet') ORDER BY mono_ns`);
}

/** Per socket+direction: the data rows as comparable strings (sendfile runs folded into one). */
function dataBySocket(all: Row[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [event, syscall, direction, pid, tid, fd, comm, sock, , , seq, bytes, md5] of all) {
    if (event !== 'data') continue;
    const key = `${sock} ${direction}`;
    const list = out.get(key) ?? out.set(key, []).get(key)!;
    const last = list.at(-1);
    if (syscall === 'sendfile' && last?.startsWith('sendfile ')) {
      const [, lfd, lpid, ltid, lcomm, lbytes, lseq] = last.split(' ');
      list[list.length - 1] = `sendfile ${lfd} ${lpid} ${ltid} ${lcomm} ${Number(lbytes) + Number(bytes)} ${lseq}`;
      continue;
    }
    list.push(syscall === 'sendfile' ? `sendfile ${fd} ${pid} ${tid} ${comm} ${bytes} ${seq}` : `${syscall} ${fd} ${pid} ${tid} ${comm} ${bytes} ${seq} ${md5}`);
  }
  return out;
}

/**
 * gids are salted per capture, so they are compared as a relation: the data/block rows of each socket and direction
 * (k-th row with k-th row; sendfile rows skipped) must map every baseline gid to one new gid and back (NULL to NULL).
 */
function gidRelation(a: Row[], b: Row[]): { pairs: number; with_gid: number; conflicts: string[] } {
  const seq = (all: Row[]) => {
    const m = new Map<string, (string | null)[]>();
    for (const r of all) {
      if ((r[0] !== 'data' && r[0] !== 'block') || r[1] === 'sendfile') continue;
      const k = `${r[0]} ${r[7]} ${r[2]}`;
      (m.get(k) ?? m.set(k, []).get(k)!).push(r[13]);
    }
    return m;
  };
  const [sa, sb] = [seq(a), seq(b)];
  const fwd = new Map<string, string>();
  const back = new Map<string, string>();
  const conflicts: string[] = [];
  let pairs = 0;
  let withGid = 0;
  for (const [k, ga] of sa) {
    const gb = sb.get(k) ?? [];
    for (let i = 0; i < Math.min(ga.length, gb.length); i++) {
      const x = ga[i] ?? 'NULL';
      const y = gb[i] ?? 'NULL';
      pairs++;
      if (x !== 'NULL') withGid++;
      if ((fwd.get(x) ?? y) !== y || (back.get(y) ?? x) !== x) conflicts.push(`${k} #${i}: ${x} -> ${y} (was ${fwd.get(x)} / ${back.get(y)})`);
      fwd.set(x, y);
      back.set(y, x);
    }
  }
  return { pairs, with_gid: withGid, conflicts: conflicts.slice(0, 20) };
}

/** Per thread: the order of its data and block rows (sendfile pieces folded). */
function orderByThread(all: Row[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [event, syscall, direction, , tid, , , sock, , , seq] of all) {
    if (event !== 'data' && event !== 'block') continue;
    const list = out.get(tid) ?? out.set(tid, []).get(tid)!;
    const item = `${event} ${syscall === 'sendfile' ? 'sendfile' : ''} ${sock} ${direction}`;
    if (syscall === 'sendfile' && list.at(-1) === item) continue;
    list.push(syscall === 'sendfile' ? item : `${item} ${seq}`);
  }
  return out;
}

function countBy(all: Row[], event: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of all) if (r[0] === event) out.set(`${r[7]} ${r[1]}`, (out.get(`${r[7]} ${r[1]}`) ?? 0) + 1);
  return out;
}

function diffMaps<V>(a: Map<string | number, V>, b: Map<string | number, V>, eq: (x: V, y: V) => boolean): { only_baseline: string[]; only_new: string[]; different: string[] } {
  const onlyA = [...a.keys()].filter((k) => !b.has(k)).map(String);
  const onlyB = [...b.keys()].filter((k) => !a.has(k)).map(String);
  const different = [...a.keys()].filter((k) => b.has(k) && !eq(a.get(k)!, b.get(k)!)).map(String);
  return { only_baseline: onlyA, only_new: onlyB, different };
}

const sameList = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);

/** The first differing position of two lists, for the report. */
function firstDifference(x: string[], y: string[]): { index: number; baseline: string | null; new: string | null } {
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return { index: i, baseline: x[i] ?? null, new: y[i] ?? null };
}

async function main(): Promise<void> {
  if (!baseline || !existsSync(join(baseline, 'dist', 'cli', 'nitrace.js'))) {
    console.error('usage: compareDataPaths --baseline DIR   (DIR: another nitrace checkout, built with `make build`)');
    process.exit(2);
  }
  if (process.getuid?.() !== 0) throw new Error('compareDataPaths needs root (it loads probes)');
  const date = new Date().toISOString();
  const machine = machineInfo();
  const work = mkdtempSync(join(tmpdir(), 'nitrace-compare-'));
  try {
    const go = join(work, 'go');
    const greenPair = join(packageRoot, 'capture', 'testdata', 'green_pair.py');
    const driver = spawn(PYTHON, [join(packageRoot, 'bench', 'datapath', 'traffic.py'), go, HTTP_PAIR, greenPair], { stdio: ['ignore', 'inherit', 'inherit'] });
    const driverDone = new Promise<number>((resolve) => driver.on('close', (code) => resolve(code ?? 1)));
    const common = ['--pid', String(driver.pid), '--snaplen', snaplen, '--force'];
    const dirs = { baseline: join(work, 'baseline'), new: join(work, 'new') };
    log(`starting both captures (--pid ${driver.pid} --snaplen ${snaplen})`);
    const caps = await Promise.all([startCaptureFrom(baseline, ['--out', dirs.baseline, ...common]), startCaptureFrom(packageRoot, ['--out', dirs.new, ...common])]);
    writeFileSync(go, '');
    const code = await driverDone;
    if (code !== 0) throw new Error(`traffic.py failed with ${code}`);
    await sleep(1000);
    const ends = await Promise.all(caps.map((c) => c.stop()));
    ends.forEach((e, i) => {
      if (e.code !== 0) throw new Error(`capture ${i ? 'new' : 'baseline'} exited with ${e.code}:\n${e.stderr}`);
    });
    const [a, b] = await Promise.all([rows(dirs.baseline), rows(dirs.new)]);
    log(`baseline ${a.length} rows, new ${b.length} rows`);

    const data = diffMaps(dataBySocket(a), dataBySocket(b), sameList);
    const dataA = dataBySocket(a);
    const dataB = dataBySocket(b);
    const dataDetails = data.different.map((k) => ({ socket: k, baseline_rows: dataA.get(k)!.length, new_rows: dataB.get(k)!.length, first: firstDifference(dataA.get(k)!, dataB.get(k)!) }));
    const ordA = orderByThread(a);
    const ordB = orderByThread(b);
    const order = diffMaps(ordA, ordB, sameList);
    const orderDetails = order.different.map((k) => ({ tid: k, first: firstDifference(ordA.get(Number(k))!, ordB.get(Number(k))!) }));
    const gids = gidRelation(a, b);
    const perEvent = Object.fromEntries(['data', 'block', 'connect', 'close', 'accept', 'green_spawn'].map((ev) => [ev, { baseline: a.filter((r) => r[0] === ev).length, new: b.filter((r) => r[0] === ev).length }]));
    const blocks = diffMaps(countBy(a, 'block'), countBy(b, 'block'), (x, y) => x === y);
    const connects = diffMaps(countBy(a, 'connect'), countBy(b, 'connect'), (x, y) => x === y);
    const families = Object.fromEntries(['ipv4', 'ipv6'].map((f) => [f, { baseline: a.filter((r) => r[0] === 'data' && r[9] === f).length, new: b.filter((r) => r[0] === 'data' && r[9] === f).length }]));
    const netnsOf = (all: Row[]) => new Set(all.filter((r) => r[0] === 'data').map((r) => r[7].split(' ').at(-1))).size;
    const netnses = { baseline: netnsOf(a), new: netnsOf(b) };
    const syscalls = Object.fromEntries([...new Set([...a, ...b].filter((r) => r[0] === 'data').map((r) => r[1]!))].map((s) => [s, { baseline: a.filter((r) => r[0] === 'data' && r[1] === s).length, new: b.filter((r) => r[0] === 'data' && r[1] === s).length }]));
    const equal = data.only_baseline.length + data.only_new.length + data.different.length + order.different.length + order.only_baseline.length + order.only_new.length === 0 &&
      blocks.different.length + blocks.only_baseline.length + blocks.only_new.length === 0 && connects.different.length + connects.only_baseline.length + connects.only_new.length === 0 &&
      gids.conflicts.length === 0 && gids.with_gid > 0;
    const result = {
      date, kind: 'datapath-compare', machine, load_after: loadavg(),
      baseline: { root: baseline, git_commit: spawnGit(baseline) },
      traffic: 'bench/datapath/traffic.py (see its docstring)', snaplen: Number(snaplen),
      rows: { baseline: a.length, new: b.length }, per_event: perEvent, data_rows_per_family: families, netns_count: netnses, data_rows_per_syscall: syscalls,
      data_per_socket: { sockets: dataA.size, ...data, details: dataDetails.slice(0, 20) },
      order_per_thread: { threads: ordA.size, ...order, details: orderDetails.slice(0, 20) },
      block_per_socket: blocks, connect_per_socket: connects, gid_relation: gids,
      equal,
    };
    const file = writeResult('datapath-compare', date, result);
    console.log(`data rows: baseline ${perEvent.data!.baseline}, new ${perEvent.data!.new}; sockets x direction ${dataA.size}: ${data.different.length} differ, ${data.only_baseline.length} only in baseline, ${data.only_new.length} only in new`);
    console.log(`per-thread order: ${ordA.size} threads, ${order.different.length} differ; block rows ${perEvent.block!.baseline}/${perEvent.block!.new}; connect ${perEvent.connect!.baseline}/${perEvent.connect!.new}; close ${perEvent.close!.baseline}/${perEvent.close!.new}; accept ${perEvent.accept!.baseline}/${perEvent.accept!.new}; green_spawn ${perEvent.green_spawn!.baseline}/${perEvent.green_spawn!.new}`);
    console.log(`gid: ${gids.pairs} matched rows, ${gids.with_gid} with a gid, ${gids.conflicts.length} conflicts`);
    console.log(`${equal ? 'EQUAL' : 'DIFFERENT'}; written to ${file}`);
    if (!equal) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

function spawnGit(root: string): string | null {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

main().catch((e: unknown) => {
  console.error(`compareDataPaths: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
