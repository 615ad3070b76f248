import type { Engine } from '../engine/engine.js';
import type { Diagnostics } from '../diagnostics.js';
import { Progress } from '../progress.js';
import { GappedStream } from '../protocols/gappedStream.js';
import { parseFrames } from '../protocols/parseFrames.js';
import type { ProtocolSpec } from '../protocols/protocol.js';
import { DEFAULT_SERVER_PORTS, protocols } from '../protocols/registry.js';
import type { CallRecord, Chunk, Frame, MessageType } from '../protocols/types.js';
import { spanId } from './spanId.js';

/** Columns of `spans_raw`: one row per call side, times still on each node's own clock. */
export const SPANS_RAW_DDL = `CREATE OR REPLACE TABLE spans_raw (
  span_id VARCHAR, kind VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, resp_tid INTEGER, comm VARCHAR,
  conn_idx INTEGER, conn_id UBIGINT, netns UBIGINT, local_addr VARCHAR, local_port INTEGER, remote_addr VARCHAR,
  remote_port INTEGER, protocol VARCHAR, method VARCHAR, path VARCHAR, status VARCHAR, call_index INTEGER,
  raw_start_ns BIGINT, raw_req_end_ns BIGINT, raw_resp_start_ns BIGINT, raw_end_ns BIGINT,
  req_bytes BIGINT, resp_bytes BIGINT, req_seq UBIGINT, resp_seq UBIGINT, head_complete BOOLEAN, req_seen BOOLEAN)`;

/** Connections fetched per round trip to the engine, bounded by their event count. */
const BATCH_EVENTS = 20_000;
/** Chunks of a connection looked at to recognise its protocol and which side is the client. */
const CLASSIFY_CHUNKS = 64;

interface ConnRow {
  conn_idx: number;
  node: string;
  conn_id: bigint | null;
  netns: bigint | null;
  local_addr: string | null;
  local_port: number | null;
  remote_addr: string | null;
  remote_port: number | null;
  n_events: bigint;
}

interface EventRow {
  conn_idx: number;
  direction: 'send' | 'recv';
  ts_ns: bigint;
  pid: number;
  tid: number;
  comm: string | null;
  tcp_seq: bigint | null;
  bytes: bigint;
  payload: Uint8Array | null;
}

/** Per-chunk facts a Chunk does not carry, indexed like the stream's chunks. */
interface Side {
  stream: GappedStream;
  pid: number[];
  comm: (string | null)[];
  seq: (bigint | null)[];
}

/**
 * Message assembly: orders each connection's data events in SQL, then per connection and direction joins the
 * syscalls into a gapped byte stream, recognises the protocol, frames and stitches calls, and writes one
 * `spans_raw` row per call side plus its content ids (`span_ids`) and frames (`messages`).
 */
export async function buildCalls(
  engine: Engine,
  diag: Diagnostics,
  mask: (payload: Uint8Array) => number,
  showProgress: boolean,
): Promise<void> {
  await engine.exec(`CREATE OR REPLACE TABLE conns AS
    SELECT (row_number() OVER (ORDER BY node, conn_id, local_addr, local_port, remote_addr, remote_port) - 1)::INTEGER AS conn_idx, *
    FROM (SELECT node, conn_id, local_addr, local_port, remote_addr, remote_port, any_value(netns) AS netns,
                 count(*) AS n_events, sum(bytes) AS bytes
          FROM events WHERE event = 'data' AND direction IN ('send', 'recv')
          GROUP BY ALL)`);
  await engine.exec(`CREATE OR REPLACE TABLE conn_events AS
    SELECT c.conn_idx, e.direction, e.ts_ns, e.mono_ns, e.pid, e.tid, e.comm, e.tcp_seq, e.bytes, e.payload
    FROM events e JOIN conns c
      ON e.node = c.node AND e.conn_id IS NOT DISTINCT FROM c.conn_id
     AND e.local_addr IS NOT DISTINCT FROM c.local_addr AND e.local_port IS NOT DISTINCT FROM c.local_port
     AND e.remote_addr IS NOT DISTINCT FROM c.remote_addr AND e.remote_port IS NOT DISTINCT FROM c.remote_port
    WHERE e.event = 'data' AND e.direction IN ('send', 'recv')`);
  await engine.exec(SPANS_RAW_DDL);
  await engine.exec('CREATE OR REPLACE TABLE span_ids (span_id VARCHAR, field VARCHAR, value VARCHAR)');
  await engine.exec(`CREATE OR REPLACE TABLE messages (conn_idx INTEGER, direction VARCHAR, type VARCHAR, protocol VARCHAR,
    start_pos BIGINT, length BIGINT, ts_start_ns BIGINT, ts_end_ns BIGINT, tid INTEGER, summary VARCHAR)`);

  const conns = await engine.query<ConnRow>('SELECT * EXCLUDE (bytes) FROM conns ORDER BY conn_idx');
  diag.add('connections', conns.length);
  const progress = new Progress('analyze: parsing connections', conns.length, showProgress);
  let i = 0;
  while (i < conns.length) {
    let j = i;
    let events = 0;
    while (j < conns.length && (j === i || events + Number(conns[j]!.n_events) <= BATCH_EVENTS)) events += Number(conns[j++]!.n_events);
    const rows = await engine.query<EventRow>(`SELECT conn_idx, direction, ts_ns, pid, tid, comm, tcp_seq, bytes, payload
      FROM conn_events WHERE conn_idx >= ${conns[i]!.conn_idx} AND conn_idx <= ${conns[j - 1]!.conn_idx}
      ORDER BY conn_idx, direction, mono_ns, tcp_seq`);
    const spans: unknown[][] = [];
    const ids: unknown[][] = [];
    const messages: unknown[][] = [];
    let r = 0;
    for (let k = i; k < j; k++) {
      const conn = conns[k]!;
      const send: EventRow[] = [];
      const recv: EventRow[] = [];
      while (r < rows.length && rows[r]!.conn_idx === conn.conn_idx) {
        const e = rows[r++]!;
        (e.direction === 'send' ? send : recv).push(e);
      }
      try {
        const out: unknown[][][] = [[], [], []];
        analyzeConnection(conn, side(send, mask, diag), side(recv, mask, diag), diag, out[0]!, out[1]!, out[2]!);
        for (const [to, from] of [[spans, out[0]!], [ids, out[1]!], [messages, out[2]!]] as const) for (const row of from) to.push(row);
      } catch (e) {
        // A parser bug on one connection must not cost the whole analysis: count it, name it, go on.
        diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
      }
    }
    await engine.insertRows('spans_raw', spans);
    await engine.insertRows('span_ids', ids);
    await engine.insertRows('messages', messages);
    i = j;
    progress.update(i);
  }
  progress.done();
}

function side(events: EventRow[], mask: (p: Uint8Array) => number, diag: Diagnostics): Side {
  const chunks: Chunk[] = [];
  const s: Omit<Side, 'stream'> = { pid: [], comm: [], seq: [] };
  for (const e of events) {
    const data = e.payload ?? new Uint8Array(0);
    const masked = mask(data);
    if (masked > 0) diag.add('ground_truth_fields_masked', masked);
    chunks.push({ tsNs: e.ts_ns, tid: e.tid, bytes: Number(e.bytes), data });
    s.pid.push(e.pid);
    s.comm.push(e.comm);
    s.seq.push(e.tcp_seq);
  }
  return { stream: new GappedStream(chunks), ...s };
}

/**
 * Which protocol the connection speaks and whether this side is its client: from the first captured bytes, else
 * (a connection already open when the capture began) from a well-known server port.
 */
function recognise(conn: ConnRow, send: Side, recv: Side): { spec: ProtocolSpec<Frame>; client: boolean; byPort: boolean } | null {
  const byBytes = recogniseBytes(send, recv);
  if (byBytes) return { ...byBytes, byPort: false };
  for (const spec of protocols) {
    const ports = DEFAULT_SERVER_PORTS[spec.name] ?? [];
    if (conn.remote_port !== null && ports.includes(conn.remote_port)) return { spec, client: true, byPort: true };
    if (conn.local_port !== null && ports.includes(conn.local_port)) return { spec, client: false, byPort: true };
  }
  return null;
}

function recogniseBytes(send: Side, recv: Side): { spec: ProtocolSpec<Frame>; client: boolean } | null {
  for (const spec of protocols) {
    // Interleave both directions by time so the first message decides even if the capture began mid-stream.
    const heads: { ts: bigint; dir: 'send' | 'recv'; data: Uint8Array }[] = [];
    for (const [dir, s] of [['send', send], ['recv', recv]] as const) {
      for (const c of s.stream.chunks.slice(0, CLASSIFY_CHUNKS)) if (c.data.length) heads.push({ ts: c.tsNs, dir, data: c.data });
    }
    heads.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const h of heads) {
      const t = spec.classify(h.data);
      if (t === null) continue;
      return { spec, client: (h.dir === 'send') === (t === 'request') };
    }
  }
  return null;
}

function analyzeConnection(
  conn: ConnRow,
  send: Side,
  recv: Side,
  diag: Diagnostics,
  spans: unknown[][],
  ids: unknown[][],
  messages: unknown[][],
): void {
  const found = recognise(conn, send, recv);
  if (found?.byPort) diag.add(`${found.spec.name}_connections_recognised_by_port`, 1);
  if (!found) {
    diag.add('connections_unrecognised', 1);
    if (send.stream.length + recv.stream.length > 0) diag.add('bytes_unrecognised', send.stream.length + recv.stream.length);
    return;
  }
  const { spec, client } = found;
  const reqSide = client ? send : recv;
  const respSide = client ? recv : send;
  const reqs = parseFrames(spec, reqSide.stream, 'request');
  const resps = parseFrames(spec, respSide.stream, 'response');
  for (const [res, type] of [[reqs, 'request'], [resps, 'response']] as const) {
    if (res.invalidCount > 0) {
      diag.warn(`${spec.name}-invalid`, `${spec.name}: bytes that are not ${spec.name} ${type}s skipped (count = bytes)`, res.skippedBytes);
    } else if (res.skippedBytes > 0) diag.add(`${spec.name}_bytes_skipped_in_gaps`, res.skippedBytes);
    if (res.incompleteBytes > 0) diag.add(`${spec.name}_bytes_incomplete_at_end`, res.incompleteBytes);
    diag.add(`${spec.name}_${type}s`, res.frames.length);
  }
  for (const [frames, type, dir] of [
    [reqs.frames, 'request', client ? 'send' : 'recv'],
    [resps.frames, 'response', client ? 'recv' : 'send'],
  ] as const) {
    for (const f of frames) {
      messages.push([conn.conn_idx, dir, type, spec.name, f.startPos, f.length, f.tsStartNs, f.tsEndNs, f.tid, frameSummary(f)]);
    }
  }
  const stitched = spec.stitch(reqs.frames, resps.frames);
  if (stitched.errorCount > 0) diag.warn(`${spec.name}-unpaired`, `${spec.name}: requests or responses without their other half`, stitched.errorCount);
  const connKind = client ? 'client' : 'server';
  const records: (CallRecord & { role?: 'client' | 'server' })[] = [...stitched.records];
  if (spec.name === 'http' && !client) {
    // A server thread already blocked in recv when the capture began is never seen returning its request, but its
    // response is captured: keep it as a server span without request (req_seen false); the spatial step matches
    // it by the response's sequence number and completes it from the client side.
    const used = new Set(records.map((r) => r.resp));
    for (const f of resps.frames) {
      if (used.has(f)) continue;
      const status = (f as Frame & { status?: number | null }).status;
      records.push({ protocol: 'http', method: null, path: null, status: status == null ? null : String(status), req: { ...f, length: 0, tsEndNs: f.tsStartNs }, resp: f, ids: {}, orphan: true } as CallRecord & { orphan: boolean });
    }
    records.sort((a, b) => (a.req.tsStartNs < b.req.tsStartNs ? -1 : a.req.tsStartNs > b.req.tsStartNs ? 1 : 0));
  }
  records.forEach((rec: CallRecord & { role?: 'client' | 'server'; orphan?: boolean }, callIndex: number) => {
    // Messaging protocols say per call which side this process plays (an RPC server also sends to its broker);
    // then the call's request travelled on the other stream.
    const kind = rec.role ?? connKind;
    const [rq, rs] = kind === connKind && !rec.orphan ? [reqSide, respSide] : [respSide, reqSide];
    const reqChunk = rq.stream.chunkIndexAt(rec.req.startPos);
    const id = spanId(conn.node, conn.conn_id, conn.local_addr, conn.local_port, conn.remote_addr, conn.remote_port, kind, callIndex);
    spans.push([
      id,
      kind,
      conn.node,
      rq.pid[reqChunk] ?? null,
      rec.req.tid,
      rec.resp?.tid ?? null,
      rq.comm[reqChunk] ?? null,
      conn.conn_idx,
      conn.conn_id,
      conn.netns,
      conn.local_addr,
      conn.local_port,
      conn.remote_addr,
      conn.remote_port,
      rec.protocol,
      rec.method,
      rec.path,
      rec.status,
      callIndex,
      rec.req.tsStartNs,
      rec.req.tsEndNs,
      rec.resp?.tsStartNs ?? null,
      rec.resp?.tsEndNs ?? rec.req.tsEndNs,
      rec.req.length,
      rec.resp?.length ?? null,
      rec.orphan ? null : seqAt(rq, rec.req.startPos),
      rec.resp ? seqAt(rec.orphan ? rq : rs, rec.resp.startPos) : null,
      (rec.req as Frame & { headComplete?: boolean }).headComplete ?? true,
      !rec.orphan,
    ]);
    for (const [field, values] of Object.entries(rec.ids)) for (const v of values) ids.push([id, field, v]);
  });
}

/** TCP sequence number of stream position `pos`: the chunk's first-byte seq plus the offset, mod 2^32. */
function seqAt(s: Side, pos: number): bigint | null {
  const i = s.stream.chunkIndexAt(pos);
  const base = s.seq[i];
  if (i < 0 || base === null || base === undefined) return null;
  return (base + BigInt(pos - s.stream.chunkStart(i))) & 0xffffffffn;
}

function frameSummary(f: Frame): string {
  const h = f as Frame & { method?: string | null; path?: string | null; status?: number | null };
  return [h.method, h.path, h.status].filter((x) => x !== null && x !== undefined).join(' ');
}
