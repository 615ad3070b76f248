import { Diagnostics } from '../diagnostics.js';
import { ColumnBatch, type TransferredBatch } from '../engine/columns.js';
import { maskPayloads } from '../load/maskGroundTruth.js';
import { protocols } from '../protocols/registry.js';
import type { Chunk } from '../protocols/types.js';
import { CallSpanWriter } from './callSpans.js';
import { ConnectionParser, type ParseOutputs } from './connectionParser.js';
import type { EventBlock, FromWorker, WorkerSetup } from './eventBlock.js';

/**
 * The parsing half of the parse step, run in a worker thread: event blocks of whole connections, in
 * (connection, time) order, go through one ConnectionParser per connection; the call sides and messages they
 * make are sent back as ColumnBatches every `flushRows` rows and at the end of each work unit, with what the unit
 * counted and warned about, so the reader can append and merge them in unit order whatever thread parsed them.
 */
export class UnitParser {
  private readonly calls = new CallSpanWriter();
  private readonly messageBatches: Map<string, ColumnBatch>;
  private readonly out: ParseOutputs;
  private diag = new Diagnostics();
  private current: ConnectionParser | null = null;
  private currentIdx = -1;
  private unit = -1;
  private masked = 0;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly send: (msg: FromWorker, transfer: ArrayBuffer[]) => void,
  ) {
    const tables = protocols.flatMap((p) => (p.messages ? [p.messages] : []));
    this.messageBatches = new Map(tables.map((t) => [t.table, new ColumnBatch(t.schema)]));
    this.out = { calls: this.calls, messageBatch: (table) => this.messageBatches.get(table)! };
  }

  events(block: EventBlock): void {
    this.unit = block.unit;
    const [conn, send, ts, pid, tid, gid, seq, bytes, payload] = block.columns as unknown as [
      Cols<Int32Array>,
      Cols<Int32Array>,
      Cols<BigInt64Array>,
      Cols<Int32Array>,
      Cols<Int32Array>,
      Cols<BigUint64Array>,
      Cols<BigUint64Array>,
      Cols<BigInt64Array>,
      { bytes: Uint8Array; offsets: Uint32Array },
    ];
    const conns = this.setup.conns;
    const mask = this.setup.mask;
    const pb = payload.bytes;
    const po = payload.offsets;
    if (mask) this.masked += maskPayloads(pb, po, block.rows);
    for (let i = 0; i < block.rows; i++) {
      const connIdx = conn.values[i]!;
      if (connIdx !== this.currentIdx) {
        this.finish();
        this.currentIdx = connIdx;
        const meta = { connIdx, node: conns.node[connIdx]!, localPort: conns.localPort[connIdx]!, remotePort: conns.remotePort[connIdx]! };
        this.current = new ConnectionParser(meta, this.out, this.diag);
      }
      const data = pb.subarray(po[i]!, po[i + 1]!);
      const c: Chunk = {
        tsNs: ts.values[i]!,
        pid: pid.nulls?.[i] ? (null as unknown as number) : pid.values[i]!,
        tid: tid.nulls?.[i] ? (null as unknown as number) : tid.values[i]!,
        gid: gid.nulls?.[i] ? null : gid.values[i]!,
        tcpSeq: seq.nulls?.[i] ? null : seq.values[i]!,
        bytes: bytes.nulls?.[i] ? (null as unknown as number) : Number(bytes.values[i]!),
        data,
      };
      try {
        this.current?.push(send.values[i] ? 'send' : 'recv', c);
      } catch (e) {
        this.diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
        this.current = null; // the rest of this connection's events are skipped
      }
    }
    if (this.pending() >= this.setup.flushRows) this.flush(false);
  }

  /** The unit's last connection ends (units end between connections): its results and diagnostics go back. */
  endUnit(unit: number): void {
    this.unit = unit;
    this.finish();
    this.currentIdx = -1;
    this.flush(true);
  }

  private finish(): void {
    if (!this.current) return;
    try {
      this.current.end();
    } catch (e) {
      this.diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
    }
    this.current = null;
  }

  private pending(): number {
    let n = this.calls.spans.rows;
    for (const b of this.messageBatches.values()) n += b.rows;
    return n;
  }

  private flush(final: boolean): void {
    const batches: Record<string, TransferredBatch> = {};
    const transfer: ArrayBuffer[] = [];
    const add = (table: string, b: ColumnBatch): void => {
      if (b.rows === 0) return;
      const t = b.toTransfer();
      batches[table] = t.batch;
      transfer.push(...t.transfer);
      b.clear();
    };
    add('call_sides', this.calls.spans);
    add('call_ids', this.calls.ids);
    for (const [table, b] of this.messageBatches) add(table, b);
    if (!final) {
      if (Object.keys(batches).length) this.send({ type: 'result', unit: this.unit, final, batches }, transfer);
      return;
    }
    const diag = { warnings: this.diag.warnings, counts: this.diag.counts };
    this.send({ type: 'result', unit: this.unit, final, batches, diag, masked: this.masked }, transfer);
    this.diag = new Diagnostics();
    this.masked = 0;
  }
}

type Cols<T> = { values: T; nulls: Uint8Array | null };
