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

/** Rows of consecutive connections of one work unit, cut from one engine chunk. */
export interface EventBlock {
  unit: number;
  rows: number;
  /** One per EVENT_COLUMNS entry. */
  columns: CopiedColumn[];
}

/** Connection facts every worker gets up front, indexed by conn_idx. */
export interface ConnectionTable {
  node: string[];
  localPort: (number | null)[];
  remotePort: (number | null)[];
}

export interface WorkerSetup {
  conns: ConnectionTable;
  /** Blank ground truth in payloads before parsing (maskPayload). */
  mask: boolean;
  /** Result rows a worker buffers before it sends them. */
  flushRows: number;
}

/** Reader -> worker. */
export type ToWorker = { type: 'events'; block: EventBlock } | { type: 'end-unit'; unit: number } | { type: 'close' };

/** What one unit did to the diagnostics, replayed by the reader in unit order. */
export interface DiagnosticsDelta {
  warnings: Warning[];
  counts: Record<string, number>;
}

/** Worker -> reader. `final` marks a unit's last result, which carries its diagnostics. */
export type FromWorker =
  | { type: 'ack' }
  | { type: 'result'; unit: number; final: boolean; batches: Record<string, TransferredBatch>; diag?: DiagnosticsDelta; masked?: number }
  | { type: 'error'; message: string };

/** Rows [start, end) of a copied column, as a copy of its own (transferable on its own). */
export function sliceColumn(c: CopiedColumn, start: number, end: number): CopiedColumn {
  if (c.bytes && c.offsets) {
    const a = c.offsets[start]!;
    const offsets = c.offsets.slice(start, end + 1);
    for (let i = 0; i < offsets.length; i++) offsets[i]! -= a;
    return { values: null, bytes: c.bytes.slice(a, c.offsets[end]!), offsets, nulls: c.nulls?.slice(start, end) ?? null };
  }
  return { values: c.values!.slice(start, end), bytes: null, offsets: null, nulls: c.nulls?.slice(start, end) ?? null };
}

/** The buffers of a block, for postMessage's transfer list. */
export function blockBuffers(b: EventBlock): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of b.columns) {
    for (const a of [c.values, c.bytes, c.offsets, c.nulls]) if (a) out.push(a.buffer as ArrayBuffer);
  }
  return out;
}
