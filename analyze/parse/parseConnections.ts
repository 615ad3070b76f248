import { Worker } from 'node:worker_threads';
import type { Diagnostics } from '../diagnostics.js';
import { ColumnBatch, copyColumn, type CopiedColumn, type CopiedColumnType, type TableSchema, type TransferredBatch } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { Progress } from '../progress.js';
import { maskPayloads } from '../load/maskGroundTruth.js';
import { protocols } from '../protocols/registry.js';
import { CALL_IDS_SCHEMA, CALL_SIDES_SCHEMA } from './callSpans.js';
import { blockBuffers, EVENT_COLUMNS, pickRows, type ConnectionDiagnostics, type ConnectionTable, type EventBlock, type FromWorker, type ToWorker, type WorkerSetup } from './eventBlock.js';

/** Rows buffered in JS before they are appended to the engine. */
const FLUSH_ROWS = 50_000;

export interface ParseOptions {
  /** Blank ground truth (maskPayload) in every payload before a parser sees it. */
  mask: boolean;
  /** Progress line on stderr. */
  progress: boolean;
  /**
   * Parse worker threads (default 1); outputs are the same for any number. On 2 cores a second worker took longer
   * (bench/results/parse-workers-dev-2026-12-01.json): the step is CPU-bound with the reader, DuckDB and GC.
   */
  workers?: number;
  /**
   * Bytes of payload the engine may sort at once (default: unbounded), where events must be sorted (see below).
   * Beyond it the connections are read in consecutive ranges, one sort each, in the same order as one sort.
   */
  sortBudgetBytes?: number;
  /** Read captures in their files' order where the engine and the files allow it (default true; false: sort all). */
  scanOrder?: boolean;
}

/**
 * The parse step: every connection's data events, in time order, become call sides and messages.
 *
 * Capture segments hold each node's events in `mono_ns` order already, so where the engine can keep the scan order
 * (Engine.scanOrder) each capture is read in file order, without a sort: block by block, as columns; each event's
 * connection is found by a hash of its connection columns, and blocks go to parse worker threads (one per
 * connection hash range, streamParser.ts: one ConnectionParser per open connection, holding only its open frame)
 * while this thread reads on. The same read checks that order (mono_ns never goes back; events of one
 * connection at the same mono_ns come in (send, tcp_seq) order; ScanOrderCheck): a capture that fails it is read
 * sorted by (connection, time) in a new attempt that starts the parse again (its first results are dropped; a
 * separate checking pass cost more than these rare restarts: 1.5 s CPU of 1.72 M events read once more), as is
 * every capture on an engine that cannot keep the scan order (the engine sorts, spilling to disk when it must;
 * see sortBudgetBytes). Either way every connection sees the same events in the same order,
 * so the results are the same. Results come back as column batches and are appended to `call_sides`, `call_ids`
 * and each messaging protocol's table in bulk; what each connection counted and warned about is merged in
 * connection order. Tables made: `conns` (one row per connection), `threads` (thread names), and those above.
 */
export async function parseConnections(engine: Engine, diag: Diagnostics, opts: ParseOptions): Promise<void> {
  const d = engine.dialect;
  await engine.exec(
    d.createTableAs(
      'conns',
      `SELECT (row_number() OVER (ORDER BY node, conn_id, local_addr, local_port, remote_addr, remote_port) - 1)::INTEGER AS conn_idx, *
       FROM (SELECT node, conn_id, local_addr, local_port, remote_addr, remote_port, any_value(netns) AS netns,
                    count(*) AS n_events, sum(bytes) AS bytes, sum(octet_length(payload)) AS payload_bytes
             FROM events WHERE event = 'data' AND direction IN ('send', 'recv')
             GROUP BY ALL)`,
    ),
  );
  await engine.exec(d.createTableAs('threads', `SELECT node, pid, tid, min(comm) AS comm FROM events GROUP BY ALL`));
  await engine.exec(d.createTable('call_sides', CALL_SIDES_SCHEMA));
  await engine.exec(d.createTable('call_ids', CALL_IDS_SCHEMA));
  const messageTables = protocols.flatMap((p) => (p.messages ? [p.messages] : []));
  for (const t of messageTables) await engine.exec(d.createTable(t.table, t.schema));

  const [totals] = await engine.query<{ conns: bigint; events: bigint }>('SELECT count(*) AS conns, coalesce(sum(n_events), 0) AS events FROM conns');
  diag.add('connections', Number(totals?.conns ?? 0n));
  const progress = new Progress('analyze: parsing events', Number(totals?.events ?? 0n), opts.progress);

  const conns: ConnectionTable = { node: [], localPort: [], remotePort: [], events: [] };
  const sortBytes: number[] = [];
  /** Connection key (CONN_KEY) -> conn_idx; null if two connections share a key. */
  let byKey: Map<bigint, number> | null = new Map();
  for (const c of await engine.query<{ conn_idx: number; node: string; local_port: number | null; remote_port: number | null; n_events: bigint; payload_bytes: bigint | null; conn_key: bigint }>(
    `SELECT conn_idx, node, local_port, remote_port, n_events, payload_bytes, ${connKey(d)} AS conn_key FROM conns`,
  )) {
    conns.node[c.conn_idx] = c.node;
    conns.localPort[c.conn_idx] = c.local_port;
    conns.remotePort[c.conn_idx] = c.remote_port;
    conns.events[c.conn_idx] = Number(c.n_events);
    sortBytes[c.conn_idx] = Number(c.payload_bytes ?? 0n) + SORT_ROW_BYTES * Number(c.n_events);
    if (byKey?.has(c.conn_key)) byKey = null;
    else byKey?.set(c.conn_key, c.conn_idx);
  }

  const schemas = new Map<string, TableSchema>([
    ['call_sides', CALL_SIDES_SCHEMA],
    ['call_ids', CALL_IDS_SCHEMA],
    ...messageTables.map((t) => [t.table, t.schema] as const),
  ]);
  const n = Math.max(1, Math.floor(opts.workers ?? 1));
  // The reader masks ground truth in each block before it deals it out (ParsePool.send), not the workers: a worker is
  // the step's longest thread (1 M bench set: ~5.5 s CPU parsing against ~3 s reading and appending in the reader).
  const setup: WorkerSetup = { conns, mask: false, flushRows: FLUSH_ROWS };
  const dataEvents = `event = 'data' AND direction IN ('send', 'recv')`;
  const [captures] = await engine.query<{ list: number[] | null }>(`SELECT ${d.listAgg('capture', 'capture')} AS list FROM (SELECT DISTINCT capture FROM events)`);
  const all = captures?.list ?? [];
  const keys = byKey;
  const scanned = (opts.scanOrder ?? true) && engine.scanOrder && keys !== null;
  /** Captures read sorted: all of them where the scan order cannot be used, else those found out of order. */
  const sorted = new Set<number>(scanned ? [] : all);
  // Each attempt reads every capture once; one that finds a capture out of order is thrown away and the parse
  // starts again with that capture sorted (rare: segments are written in time order).
  for (;;) {
    const pool = new ParsePool(n, setup, opts.mask, async (table, batch) => engine.append(table, ColumnBatch.fromTransfer(schemas.get(table)!, batch)));
    const counted = { done: 0 };
    let outOfOrder: CaptureOutOfOrder | null = null;
    try {
      await readEvents(engine, pool, { all, sorted, keys: scanned ? keys : null, dataEvents, sortBudgetBytes: opts.sortBudgetBytes ?? Infinity, sortBytes, diag, progress, counted });
      const ended = await pool.finish();
      // Each connection's counts and warnings in connection order: the same summary whatever read it and how.
      ended.sort((a, b) => a.connIdx - b.connIdx);
      for (const c of ended) {
        for (const w of c.warnings) diag.warn(w.code, w.message, w.count);
        for (const [k, v] of Object.entries(c.counts)) diag.add(k, v);
      }
      if (pool.masked > 0) diag.add('ground_truth_fields_masked', pool.masked);
    } catch (e) {
      if (!(e instanceof CaptureOutOfOrder)) throw e;
      outOfOrder = e;
    } finally {
      await pool.close();
    }
    if (!outOfOrder) break;
    await pool.appended();
    sorted.add(outOfOrder.capture);
    // What the attempt appended goes: the next one appends everything again.
    for (const [table, schema] of schemas) await engine.exec(d.createTable(table, schema));
  }
  // Only captures found out of order are counted (the summary is the same on every engine).
  if (scanned && sorted.size > 0) diag.add('parse_captures_out_of_order', sorted.size);
  progress.done();
}

/** Thrown by the file-order read when a capture's events go back in time: it must be read sorted. */
class CaptureOutOfOrder extends Error {
  constructor(readonly capture: number) {
    super(`parse: capture ${capture} is not in time order in its files`);
  }
}

interface ReadPlan {
  all: number[];
  sorted: ReadonlySet<number>;
  /** Connection key -> conn_idx, or null if no capture is read in file order. */
  keys: Map<bigint, number> | null;
  dataEvents: string;
  sortBudgetBytes: number;
  sortBytes: number[];
  diag: Diagnostics;
  progress: Progress;
  counted: { done: number };
}

/**
 * Deals every data event to the pool: the captures not in `sorted` in file order (one stream; throws
 * CaptureOutOfOrder at the first event that breaks the parsers' order, see ScanOrderCheck), then the sorted ones.
 */
async function readEvents(engine: Engine, pool: ParsePool, plan: ReadPlan): Promise<void> {
  const d = engine.dialect;
  const { keys, dataEvents, progress, counted } = plan;
  const scan = plan.all.filter((c) => !plan.sorted.has(c));
  if (keys && scan.length > 0) {
    const order = new ScanOrderCheck();
    // One stream for all of them (a stream start commits the results appended so far, see DuckDbEngine.stream).
    await engine.stream(
      `SELECT ${connKey(d)} AS conn_key, (direction = 'send')::INTEGER AS send, ts_ns, pid, tid, gid, tcp_seq, bytes, payload, capture, mono_ns
       FROM events WHERE capture IN (${scan.join(', ')}) AND ${dataEvents}`,
      async (chunk) => {
        const rows = chunk.rowCount;
        const key = copyColumn(chunk, 0, 'UBIGINT').values as BigUint64Array;
        const columns = EVENT_COLUMN_TYPES.map((t, i) => (i === 0 ? null : copyColumn(chunk, i, t)));
        const bad = order.check(rows, copyColumn(chunk, 9, 'INTEGER').values as Int32Array, copyColumn(chunk, 10, 'BIGINT'), key, columns[1]!.values as Int32Array, columns[6]!);
        if (bad !== null) throw new CaptureOutOfOrder(bad);
        const conn = new Int32Array(rows);
        for (let i = 0; i < rows; i++) {
          const c = keys.get(key[i]!);
          if (c === undefined) throw new Error(`parse: an event matches no connection (key ${key[i]})`);
          conn[i] = c;
        }
        columns[0] = { values: conn, bytes: null, offsets: null, nulls: null };
        await pool.send(rows, columns as CopiedColumn[]);
        counted.done += rows;
        progress.update(counted.done);
      },
      { scanOrder: true },
    );
  }
  const sorted = plan.all.filter((c) => plan.sorted.has(c));
  if (sorted.length === 0) return;
  const ranges = connectionRanges(plan.sortBytes, plan.sortBudgetBytes);
  if (ranges.length > 1) plan.diag.add('parse_sort_passes', ranges.length);
  for (const [first, last] of ranges) {
    await engine.stream(
      `SELECT c.conn_idx, (e.direction = 'send')::INTEGER AS send, e.ts_ns, e.pid, e.tid, e.gid, e.tcp_seq, e.bytes, e.payload
       FROM events e JOIN (SELECT * FROM conns WHERE conn_idx BETWEEN ${first} AND ${last}) c
         ON e.node = c.node AND e.conn_id IS NOT DISTINCT FROM c.conn_id
        AND e.local_addr IS NOT DISTINCT FROM c.local_addr AND e.local_port IS NOT DISTINCT FROM c.local_port
        AND e.remote_addr IS NOT DISTINCT FROM c.remote_addr AND e.remote_port IS NOT DISTINCT FROM c.remote_port
       WHERE e.capture IN (${sorted.join(', ')}) AND e.${dataEvents.replace(' AND ', ' AND e.')}
       ORDER BY c.conn_idx, e.mono_ns, send, e.tcp_seq`,
      async (chunk) => {
        const rows = chunk.rowCount;
        await pool.send(
          rows,
          EVENT_COLUMN_TYPES.map((t, i) => copyColumn(chunk, i, t)),
        );
        counted.done += rows;
        progress.update(counted.done);
      },
    );
  }
}


/** A connection's identity within the whole analysis as one 64-bit hash (same columns as `conns`' key). */
function connKey(d: Engine['dialect']): string {
  return d.hash('node', 'conn_id', 'local_addr', 'local_port', 'remote_addr', 'remote_port');
}

/**
 * Checks, chunk by chunk, that the events of a file-order read come in the order the parsers need (the order of
 * the sorted read): within a capture mono_ns never goes back, and events of one connection at the same mono_ns
 * come in (send, tcp_seq) order (the sort's tie-breakers; NULL tcp_seq last); each capture's events in one run.
 * Done on the stream that feeds the parsers (no pass of its own): numbers already copied, no payload looked at.
 */
class ScanOrderCheck {
  private capture = -1;
  private readonly seen = new Set<number>();
  private prev: bigint | null = null;
  private prevKey = 0n;
  private prevSend = 0;
  private prevSeq = 0n;
  /** Ties are rare (4 in 1.37 M events of a Tempest run): the events at mono_ns `prev` so far, key -> (send, seq). */
  private tie: Map<bigint, [number, bigint]> | null = null;

  /** The capture of the first event out of order in these rows, or null if all are in order. */
  check(rows: number, cap: Int32Array, mono: CopiedColumn, keys: BigUint64Array, send: Int32Array, seq: CopiedColumn): number | null {
    const monoV = mono.values as BigInt64Array;
    const seqV = seq.values as BigUint64Array;
    for (let i = 0; i < rows; i++) {
      if (cap[i] !== this.capture) {
        this.capture = cap[i]!;
        // A capture seen twice (its events not in one run) is not in scan order either.
        if (this.seen.has(this.capture)) return this.capture;
        this.seen.add(this.capture);
        this.prev = null;
        this.tie = null;
      }
      const m = monoV[i]!;
      if (mono.nulls?.[i] || (this.prev !== null && m < this.prev)) return this.capture;
      const k = keys[i]!;
      const sq = seq.nulls?.[i] ? MAX_U64 : seqV[i]!;
      if (m === this.prev) {
        this.tie ??= new Map([[this.prevKey, [this.prevSend, this.prevSeq]]]);
        const last = this.tie.get(k);
        if (last && (last[0] > send[i]! || (last[0] === send[i]! && last[1] > sq))) return this.capture;
        this.tie.set(k, [send[i]!, sq]);
      } else this.tie = null;
      this.prev = m;
      this.prevKey = k;
      this.prevSend = send[i]!;
      this.prevSeq = sq;
    }
    return null;
  }
}

/** NULL tcp_seq sorts last (ORDER BY's default). */
const MAX_U64 = 2n ** 64n - 1n;

/** Index of the payload column in EVENT_COLUMNS. */
const PAYLOAD = EVENT_COLUMNS.indexOf('payload');

/** Engine types of the event stream's columns (EVENT_COLUMNS). */
const EVENT_COLUMN_TYPES: CopiedColumnType[] = ['INTEGER', 'INTEGER', 'BIGINT', 'INTEGER', 'INTEGER', 'UBIGINT', 'UBIGINT', 'BIGINT', 'BLOB'];

/** What the engine's sort holds per event besides its payload (keys and fixed columns), for sortBudgetBytes. */
const SORT_ROW_BYTES = 64;

/**
 * Consecutive connection ranges [first, last] whose events' sort bytes stay within the budget (a connection beyond
 * it alone is a range of its own). DuckDB 1.5 fails instead of spilling when it sorts events whose payloads exceed
 * its memory limit (measured: 9.9 M events with 2.0 GB of payload, `--memory 2GB`: "failed to pin block"), so a
 * big capture is sorted a range at a time; the ranges follow each other, so the stream order is the same.
 */
export function connectionRanges(sortBytes: readonly number[], budget: number): [number, number][] {
  const ranges: [number, number][] = [];
  let first = 0;
  let sum = 0;
  for (let i = 0; i < sortBytes.length; i++) {
    const b = sortBytes[i] ?? 0;
    if (i > first && sum + b > budget) {
      ranges.push([first, i - 1]);
      first = i;
      sum = 0;
    }
    sum += b;
  }
  if (sortBytes.length > 0) ranges.push([first, sortBytes.length - 1]);
  return ranges;
}

/**
 * Event blocks a worker may have queued before the reader waits for it. The reader also appends the workers'
 * results, synchronously (dev, loaded machine: ~0.4 s CPU per 50 000-row batch of call_sides), and reads nothing
 * meanwhile: the queue must hold more than a worker parses in that time (~0.15 s per 16 k events, 8 blocks) or the
 * worker idles through every append. 64 blocks of 2 048 events are ~130 k events, ~30 MB with payloads (~200 bytes per event).
 */
const MAX_QUEUED_BLOCKS = 64;

/**
 * The parse workers: connection c is parsed by worker c mod n (its events in the order they were read), so each
 * connection's parser lives in one thread. Results are appended as they come; each connection's diagnostics
 * come back at the end (finish), to be merged in connection order.
 */
class ParsePool {
  masked = 0;
  private readonly workers: Worker[];
  private readonly queued: number[];
  private readonly waiting: (() => void)[] = [];
  private readonly ended: ConnectionDiagnostics[] = [];
  private doneCount = 0;
  private appending: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private finished: (() => void) | null = null;

  constructor(
    n: number,
    setup: WorkerSetup,
    /** Blank ground truth in every block before it is dealt out (maskPayloads). */
    private readonly mask: boolean,
    private readonly append: (table: string, batch: TransferredBatch) => Promise<void>,
  ) {
    this.queued = new Array<number>(n).fill(0);
    this.workers = Array.from({ length: n }, (_, w) => {
      const worker = new Worker(new URL('./parseWorker.js', import.meta.url), { workerData: setup });
      worker.on('message', (msg: FromWorker) => this.onMessage(w, msg));
      worker.on('error', (e) => this.fail(e));
      return worker;
    });
  }

  /** Deals rows of a block (columns of EVENT_COLUMNS) to the workers of their connections. */
  async send(rows: number, columns: CopiedColumn[]): Promise<void> {
    if (this.mask) this.masked += maskPayloads(columns[PAYLOAD]!.bytes!, columns[PAYLOAD]!.offsets!, rows);
    const n = this.workers.length;
    if (n === 1) return this.post(0, { rows, columns });
    const conn = columns[0]!.values as Int32Array;
    const counts = new Uint32Array(n);
    for (let i = 0; i < rows; i++) counts[conn[i]! % n]!++;
    const picks = Array.from(counts, (c) => new Uint32Array(c));
    counts.fill(0);
    for (let i = 0; i < rows; i++) {
      const w = conn[i]! % n;
      picks[w]![counts[w]!++] = i;
    }
    for (let w = 0; w < n; w++) {
      const pick = picks[w]!;
      if (pick.length > 0) await this.post(w, { rows: pick.length, columns: columns.map((c) => pickRows(c, pick)) });
    }
  }

  /** Queues a block on a worker; waits while that worker is MAX_QUEUED_BLOCKS behind. */
  private async post(w: number, block: EventBlock): Promise<void> {
    while (this.queued[w]! >= MAX_QUEUED_BLOCKS && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    this.queued[w]!++;
    this.workers[w]!.postMessage({ type: 'events', block } satisfies ToWorker, blockBuffers(block));
  }

  /** Ends every connection; resolves with their diagnostics once every result is appended. */
  async finish(): Promise<ConnectionDiagnostics[]> {
    if (this.failure) throw this.failure;
    const done = new Promise<void>((r) => (this.finished = r));
    for (const w of this.workers) w.postMessage({ type: 'finish' } satisfies ToWorker);
    await done;
    await this.appending;
    if (this.failure) throw this.failure;
    return this.ended;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Resolves once every result received so far is appended (or failed to be). */
  async appended(): Promise<void> {
    await this.appending;
  }

  private onMessage(w: number, msg: FromWorker): void {
    if (msg.type === 'ack') {
      this.queued[w]! -= msg.blocks;
      for (const r of this.waiting.splice(0)) r();
    } else if (msg.type === 'error') this.fail(new Error(`parse worker: ${msg.message}`));
    else if (msg.type === 'result') {
      for (const [table, batch] of Object.entries(msg.batches)) {
        this.appending = this.appending.then(() => this.append(table, batch)).catch((e: Error) => this.fail(e));
      }
    } else {
      for (const c of msg.diag) this.ended.push(c);
      this.masked += msg.masked;
      if (++this.doneCount === this.workers.length) this.finished?.();
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const r of this.waiting.splice(0)) r();
    this.finished?.();
  }
}
