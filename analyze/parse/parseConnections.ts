import { Worker } from 'node:worker_threads';
import type { Diagnostics } from '../diagnostics.js';
import { ColumnBatch, copyColumn, type CopiedColumnType, type TableSchema, type TransferredBatch } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { Progress } from '../progress.js';
import { protocols } from '../protocols/registry.js';
import { CALL_IDS_SCHEMA, CALL_SIDES_SCHEMA } from './callSpans.js';
import { blockBuffers, sliceColumn, type ConnectionTable, type EventBlock, type FromWorker, type ToWorker, type WorkerSetup } from './eventBlock.js';

/** Rows buffered in JS before they are appended to the engine. */
const FLUSH_ROWS = 50_000;

export interface ParseOptions {
  /** Blank ground truth (maskPayload) in every payload before a parser sees it. */
  mask: boolean;
  /** Progress line on stderr. */
  progress: boolean;
  /** Parse worker threads (default 1); outputs are the same for any number. */
  workers?: number;
  /**
   * Bytes of payload the engine may sort at once (default: unbounded). Beyond it the connections are read in
   * consecutive ranges, one sort each, in the same order as one sort would give.
   */
  sortBudgetBytes?: number;
}

/**
 * The parse step: every connection's data events, in (connection, time) order straight from the capture files
 * (the engine sorts, spilling to disk when it must), are read block by block as columns and dealt, in work units of
 * whole connections, to parse worker threads (unitParser.ts: one ConnectionParser per connection at a time); their
 * calls and messages come back as column batches and are appended to `call_sides`, `call_ids` and each messaging
 * protocol's table in bulk, in unit order. This thread reads and appends while the workers parse, so the engine's
 * work and the parsers' overlap on two cores. Tables made: `conns` (one row per
 * connection), `threads` (thread names), and those above.
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

  const conns: ConnectionTable = { node: [], localPort: [], remotePort: [] };
  const sortBytes: number[] = [];
  for (const c of await engine.query<{ conn_idx: number; node: string; local_port: number | null; remote_port: number | null; n_events: bigint; payload_bytes: bigint | null }>(
    'SELECT conn_idx, node, local_port, remote_port, n_events, payload_bytes FROM conns',
  )) {
    conns.node[c.conn_idx] = c.node;
    conns.localPort[c.conn_idx] = c.local_port;
    conns.remotePort[c.conn_idx] = c.remote_port;
    sortBytes[c.conn_idx] = Number(c.payload_bytes ?? 0n) + SORT_ROW_BYTES * Number(c.n_events);
  }

  const schemas = new Map<string, TableSchema>([
    ['call_sides', CALL_SIDES_SCHEMA],
    ['call_ids', CALL_IDS_SCHEMA],
    ...messageTables.map((t) => [t.table, t.schema] as const),
  ]);
  const n = Math.max(1, Math.floor(opts.workers ?? 1));
  const setup: WorkerSetup = { conns, mask: opts.mask, flushRows: FLUSH_ROWS };
  const pool = new ParsePool(n, setup, async (table, batch) => engine.append(table, ColumnBatch.fromTransfer(schemas.get(table)!, batch)), diag);
  let done = 0;
  try {
    // Work units: runs of whole connections of at least UNIT_EVENTS events, dealt to the workers in turn.
    let unit = 0;
    let unitEvents = 0;
    let lastConn = -1;
    const ranges = connectionRanges(sortBytes, opts.sortBudgetBytes ?? Infinity);
    if (ranges.length > 1) diag.add('parse_sort_passes', ranges.length);
    for (const [first, last] of ranges) {
      await engine.stream(
        `SELECT c.conn_idx, (e.direction = 'send')::INTEGER AS send, e.ts_ns, e.pid, e.tid, e.gid, e.tcp_seq, e.bytes, e.payload
         FROM events e JOIN (SELECT * FROM conns WHERE conn_idx BETWEEN ${first} AND ${last}) c
           ON e.node = c.node AND e.conn_id IS NOT DISTINCT FROM c.conn_id
          AND e.local_addr IS NOT DISTINCT FROM c.local_addr AND e.local_port IS NOT DISTINCT FROM c.local_port
          AND e.remote_addr IS NOT DISTINCT FROM c.remote_addr AND e.remote_port IS NOT DISTINCT FROM c.remote_port
         WHERE e.event = 'data' AND e.direction IN ('send', 'recv')
         ORDER BY c.conn_idx, e.mono_ns, send, e.tcp_seq`,
        async (chunk) => {
          const columns = EVENT_COLUMN_TYPES.map((t, i) => copyColumn(chunk, i, t));
          const conn = columns[0]!.values as Int32Array;
          const rows = chunk.rowCount;
          let start = 0;
          for (let i = 0; i < rows; i++) {
            const c = conn[i]!;
            if (c === lastConn) continue;
            if (unitEvents + i - start >= UNIT_EVENTS && lastConn >= 0) {
              if (i > start) await pool.send({ unit, rows: i - start, columns: columns.map((col) => sliceColumn(col, start, i)) });
              pool.endUnit(unit++);
              unitEvents = 0;
              start = i;
            }
            lastConn = c;
          }
          if (rows > start) {
            await pool.send({ unit, rows: rows - start, columns: start === 0 ? columns : columns.map((col) => sliceColumn(col, start, rows)) });
            unitEvents += rows - start;
          }
          done += rows;
          progress.update(done);
        },
      );
    }
    if (lastConn >= 0) pool.endUnit(unit);
    await pool.finish();
  } finally {
    await pool.close();
  }
  if (pool.masked > 0) diag.add('ground_truth_fields_masked', pool.masked);
  progress.done();
}

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

/** Events per work unit (whole connections; a unit is only cut between connections). */
const UNIT_EVENTS = 20_000;
/** Event blocks a worker may have queued before the reader waits for it. */
const MAX_QUEUED_BLOCKS = 8;

/**
 * The parse workers: blocks of unit u go to worker u mod n; results are appended, and each unit's diagnostics
 * merged, strictly in unit order (a worker's results for a later unit wait for the earlier units), so the tables
 * and summary are the same whatever the number of workers.
 */
class ParsePool {
  masked = 0;
  private readonly workers: Worker[];
  private readonly queued: number[];
  private readonly waiting: (() => void)[] = [];
  private readonly results = new Map<number, Extract<FromWorker, { type: 'result' }>[]>();
  private nextUnit = 0;
  private lastUnit = -1;
  private appending: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private finished: (() => void) | null = null;

  constructor(
    n: number,
    setup: WorkerSetup,
    private readonly append: (table: string, batch: TransferredBatch) => Promise<void>,
    private readonly diag: Diagnostics,
  ) {
    this.queued = new Array<number>(n).fill(0);
    this.workers = Array.from({ length: n }, (_, w) => {
      const worker = new Worker(new URL('./parseWorker.js', import.meta.url), { workerData: setup });
      worker.on('message', (msg: FromWorker) => this.onMessage(w, msg));
      worker.on('error', (e) => this.fail(e));
      return worker;
    });
  }

  /** Queues a block on its unit's worker; waits while that worker is MAX_QUEUED_BLOCKS behind. */
  async send(block: EventBlock): Promise<void> {
    const w = block.unit % this.workers.length;
    while (this.queued[w]! >= MAX_QUEUED_BLOCKS && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    this.queued[w]!++;
    this.workers[w]!.postMessage({ type: 'events', block } satisfies ToWorker, blockBuffers(block));
  }

  endUnit(unit: number): void {
    this.lastUnit = unit;
    this.workers[unit % this.workers.length]!.postMessage({ type: 'end-unit', unit } satisfies ToWorker);
  }

  /** Resolves once every unit's results are appended. */
  async finish(): Promise<void> {
    if (this.nextUnit <= this.lastUnit && !this.failure) await new Promise<void>((r) => (this.finished = r));
    await this.appending;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(w: number, msg: FromWorker): void {
    if (msg.type === 'ack') {
      this.queued[w]!--;
      for (const r of this.waiting.splice(0)) r();
    } else if (msg.type === 'error') this.fail(new Error(`parse worker: ${msg.message}`));
    else {
      const list = this.results.get(msg.unit) ?? [];
      list.push(msg);
      this.results.set(msg.unit, list);
      this.drain();
    }
  }

  /** Appends results of the next units in order, as far as they have arrived. */
  private drain(): void {
    for (;;) {
      const list = this.results.get(this.nextUnit);
      if (!list?.length) return;
      const r = list.shift()!;
      for (const [table, batch] of Object.entries(r.batches)) {
        this.appending = this.appending.then(() => this.append(table, batch)).catch((e: Error) => this.fail(e));
      }
      if (!r.final) continue;
      for (const x of r.diag!.warnings) this.diag.warn(x.code, x.message, x.count);
      for (const [k, v] of Object.entries(r.diag!.counts)) this.diag.add(k, v);
      this.masked += r.masked ?? 0;
      this.results.delete(this.nextUnit);
      this.nextUnit++;
      if (this.nextUnit > this.lastUnit && this.finished) this.finished();
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const r of this.waiting.splice(0)) r();
    this.finished?.();
  }
}
