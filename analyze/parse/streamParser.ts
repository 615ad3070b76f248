import { Diagnostics } from '../diagnostics.js';
import { ColumnBatch, type TransferredBatch } from '../engine/columns.js';
import { maskPayloads } from '../load/maskGroundTruth.js';
import { protocols } from '../protocols/registry.js';
import type { Chunk } from '../protocols/types.js';
import { CallSpanWriter } from './callSpans.js';
import { ConnectionParser, type ParseOutputs } from './connectionParser.js';
import type { ConnectionDiagnostics, EventBlock, FromWorker, WorkerSetup } from './eventBlock.js';

/** A connection being parsed: its parser (null once a parser failed on it) and what is left of it. */
interface OpenConnection {
  connIdx: number;
  parser: ConnectionParser | null;
  diag: Diagnostics;
  /** Data events still to come. */
  left: number;
}

/**
 * The parsing half of the parse step, run in a worker thread. Event blocks come in any interleaving of
 * connections (a node's events in capture order, or whole connections one after the other), each connection's
 * events in time order; every connection keeps its ConnectionParser (which holds only the frame still open) from
 * its first event to its last (ConnectionTable.events), so each event's bytes are looked at once. The call sides
 * and messages they make are sent back as ColumnBatches every `flushRows` rows; what each connection counted and
 * warned about is kept apart and sent at the end, so the reader can merge it in connection order whatever the
 * interleaving and the number of workers.
 */
export class StreamParser {
  private readonly calls = new CallSpanWriter();
  private readonly messageBatches: Map<string, ColumnBatch>;
  private readonly out: ParseOutputs;
  private readonly open = new Map<number, OpenConnection>();
  private readonly ended: ConnectionDiagnostics[] = [];
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
    const pb = payload.bytes;
    const po = payload.offsets;
    // Each event's data as a view made on the buffer directly: subarray() looks up the species constructor per call
    // (its line was the hottest of this loop in the 1 M bench set's profile; ~2x slower in a micro-benchmark).
    const pBuffer = pb.buffer;
    const pOffset = pb.byteOffset;
    // Byte counts read as 32-bit halves (little-endian, as DuckDB's vectors): a BigInt made and converted per event
    // only where the high half is not 0 (never for a syscall's count, which stays below 2^31).
    const bv = bytes.values;
    const bytesHalves = new Int32Array(bv.buffer, bv.byteOffset, bv.length * 2);
    // A sequence number's low half is all that is used (Chunk.tcpSeq: mod 2^32): no BigInt per event.
    const sv = seq.values;
    const seqHalves = new Uint32Array(sv.buffer, sv.byteOffset, sv.length * 2);
    if (this.setup.mask) this.masked += maskPayloads(pb, po, block.rows);
    let c: OpenConnection | undefined;
    for (let i = 0; i < block.rows; i++) {
      const connIdx = conn.values[i]!;
      if (c?.connIdx !== connIdx) c = this.open.get(connIdx) ?? this.start(connIdx);
      if (c.parser) {
        const chunk: Chunk = {
          tsNs: ts.values[i]!,
          pid: pid.nulls?.[i] ? (null as unknown as number) : pid.values[i]!,
          tid: tid.nulls?.[i] ? (null as unknown as number) : tid.values[i]!,
          gid: gid.nulls?.[i] ? null : gid.values[i]!,
          tcpSeq: seq.nulls?.[i] ? null : seqHalves[2 * i]!,
          bytes: bytes.nulls?.[i] ? (null as unknown as number) : bytesHalves[2 * i + 1] === 0 ? bytesHalves[2 * i]! >>> 0 : Number(bv[i]!),
          data: new Uint8Array(pBuffer, pOffset + po[i]!, po[i + 1]! - po[i]!),
        };
        try {
          c.parser.push(send.values[i] ? 'send' : 'recv', chunk);
        } catch (e) {
          failed(c, e);
        }
      }
      if (--c.left === 0) {
        this.end(c);
        c = undefined;
      }
    }
    if (this.pending() >= this.setup.flushRows) this.flush();
  }

  /** No more events: connections still open (fewer events came than counted) end, everything goes back. */
  finish(): void {
    for (const c of [...this.open.values()].sort((a, b) => a.connIdx - b.connIdx)) this.end(c);
    this.flush();
    this.send({ type: 'done', diag: this.ended, masked: this.masked }, []);
  }

  private start(connIdx: number): OpenConnection {
    const conns = this.setup.conns;
    const meta = { connIdx, node: conns.node[connIdx]!, localPort: conns.localPort[connIdx]!, remotePort: conns.remotePort[connIdx]! };
    const diag = new Diagnostics();
    const c: OpenConnection = { connIdx, parser: new ConnectionParser(meta, this.out, diag), diag, left: conns.events[connIdx] ?? 0 };
    this.open.set(connIdx, c);
    return c;
  }

  private end(c: OpenConnection): void {
    try {
      c.parser?.end();
    } catch (e) {
      failed(c, e);
    }
    this.open.delete(c.connIdx);
    const { warnings, counts } = c.diag;
    if (warnings.length > 0 || Object.keys(counts).length > 0) this.ended.push({ connIdx: c.connIdx, warnings, counts });
  }

  private pending(): number {
    let n = this.calls.spans.rows;
    for (const b of this.messageBatches.values()) n += b.rows;
    return n;
  }

  private flush(): void {
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
    if (Object.keys(batches).length) this.send({ type: 'result', batches }, transfer);
  }
}

/** A parser threw: the rest of the connection's events are skipped, with a warning. */
function failed(c: OpenConnection, e: unknown): void {
  c.diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
  // Frames parsed before the failure stay counted.
  c.parser?.flushCounts();
  c.parser = null;
}

type Cols<T> = { values: T; nulls: Uint8Array | null };
