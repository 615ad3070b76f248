import type { CopiedColumn } from '../engine/columns.js';
import type { TransferredBatch } from '../engine/columns.js';
import type { Warning } from '../diagnostics.js';

/**
 * What crosses between the parse step's reader (the thread that streams events out of the engine) and its parse
 * workers. Events travel as column blocks (typed arrays and one payload buffer per block, transferred, not
 * copied), results as ColumnBatches, so no object per event is ever cloned.
 */

/** Columns of the event stream, in SELECT order (parseConnections.ts). */
export const EVENT_COLUMNS = ['conn_idx', 'send', 'ts_ns', 'pid', 'tid', 'gid', 'tcp_seq', 'bytes', 'payload'] as const;

/** Rows of one engine chunk (or the rows of it one worker parses), each connection's rows in time order. */
export interface EventBlock {
  rows: number;
  /** One per EVENT_COLUMNS entry. */
  columns: CopiedColumn[];
}

/** Connection facts every worker gets up front, indexed by conn_idx. */
export interface ConnectionTable {
  node: string[];
  localPort: (number | null)[];
  remotePort: (number | null)[];
  /** Data events of the connection: its parser ends when the last one was pushed. */
  events: number[];
}

export interface WorkerSetup {
  conns: ConnectionTable;
  /** Blank ground truth in payloads before parsing (maskPayload). */
  mask: boolean;
  /** Result rows a worker buffers before it sends them. */
  flushRows: number;
}

/**
 * Event blocks a worker parses before it acks them, in one message: each message to the reader wakes its thread
 * (an eventfd write that, on 2 busy cores, often hands the core over mid-call: the worker's profile showed ~0.8 s
 * of 13 s in postMessage with an ack per 2 048-event block). Must stay well below the reader's queue bound
 * (MAX_QUEUED_BLOCKS in parseConnections.ts), which it waits on.
 */
export const ACK_EVERY = 8;

/** Reader -> worker. */
export type ToWorker = { type: 'events'; block: EventBlock } | { type: 'finish' };

/** What one connection did to the diagnostics, replayed by the reader in connection order. */
export interface ConnectionDiagnostics {
  connIdx: number;
  warnings: Warning[];
  counts: Record<string, number>;
}

/** Worker -> reader. `done` answers `finish`: every connection ended, its results sent before it. */
export type FromWorker =
  | { type: 'ack'; blocks: number }
  | { type: 'result'; batches: Record<string, TransferredBatch> }
  | { type: 'done'; diag: ConnectionDiagnostics[]; masked: number }
  | { type: 'error'; message: string };


/** The rows `rows` (ascending) of a copied column, as a copy of its own. */
export function pickRows(c: CopiedColumn, rows: Uint32Array): CopiedColumn {
  const n = rows.length;
  let nulls: Uint8Array | null = null;
  if (c.nulls) {
    nulls = new Uint8Array(n);
    for (let i = 0; i < n; i++) nulls[i] = c.nulls[rows[i]!]!;
  }
  if (c.bytes && c.offsets) {
    const src = c.offsets;
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + src[rows[i]! + 1]! - src[rows[i]!]!;
    const bytes = new Uint8Array(offsets[n]!);
    for (let i = 0; i < n; i++) bytes.set(c.bytes.subarray(src[rows[i]!]!, src[rows[i]! + 1]!), offsets[i]!);
    return { values: null, bytes, offsets, nulls };
  }
  const v = c.values!;
  const values = new (v.constructor as new (n: number) => typeof v)(n);
  for (let i = 0; i < n; i++) values[i] = v[rows[i]!]!;
  return { values, bytes: null, offsets: null, nulls };
}

/** The buffers of a block, for postMessage's transfer list. */
export function blockBuffers(b: EventBlock): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of b.columns) {
    for (const a of [c.values, c.bytes, c.offsets, c.nulls]) if (a) out.push(a.buffer as ArrayBuffer);
  }
  return out;
}
