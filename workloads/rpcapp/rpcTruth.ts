/**
 * The rpcapp's ground truth (what its services logged out of band, workloads/rpcapp/rpcservice.py) and the spans of
 * an analysis that stand for each logged call. Nothing here uses the analysis's own linking: HTTP and Redis calls are
 * named by their connection's ports and position on it; an RPC message is found by the `nt-<hex>` id its sender put in
 * it, located in the captured bytes (a syscall's TCP sequence number + the id's offset in its payload names the byte
 * on both ends of the connection), and the wire spans are those whose byte range holds it.
 */
import { readFileSync } from 'node:fs';

export interface Endpoint {
  kind: 'http' | 'redis';
  local_port: number;
  remote_port: number;
  /** Position of the call on its connection (0 = first). */
  idx: number;
}

export interface RpcOp {
  kind: 'rpc';
  op: 'call' | 'cast' | 'fanout';
  method: string;
  topic: string;
  nt_id: string;
}

export type Outbound = (Endpoint & { what?: string }) | RpcOp;

/** One line of truth.jsonl. */
export interface TruthLine {
  service: string;
  /** driver: null; api: the HTTP request it served. */
  inbound?: ({ client_port: number; server_port: number; idx: number } & Record<string, unknown>) | null;
  /** worker/helper: the RPC it handled. */
  rpc?: { op: RpcOp['op']; method: string; nt_id: string };
  outbound: Outbound[];
}

export function readTruth(file: string): TruthLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TruthLine);
}

/** A row of spans.parquet (the columns the test reads). */
export interface Span {
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  kind: string;
  pid: number;
  tid: number;
  local_port: number;
  remote_port: number;
  protocol: string;
  method: string | null;
  start_ns: bigint;
  end_ns: bigint | null;
  req_seq: bigint | null;
  req_bytes: bigint | null;
  call_index: number | null;
  messaging_op: string | null;
  rpc_kind: string | null;
  gid: bigint | null;
}

export const SPAN_COLUMNS = 'span_id, trace_id, parent_span_id, kind, pid, tid, local_port, remote_port, protocol, method, start_ns, end_ns, req_seq, req_bytes, call_index, messaging_op, rpc_kind, gid';

/** A captured data syscall on an AMQP connection. */
export interface AmqpEvent {
  pid: number;
  direction: 'send' | 'recv';
  local_port: number;
  remote_port: number;
  tcp_seq: bigint;
  payload: Uint8Array;
}

/** One message on one connection that carries an id: sender's and receiver's port, and the id's first byte (TCP sequence). */
export interface IdSighting {
  id: string;
  fromPort: number;
  toPort: number;
  seq: bigint;
}

const ID_RE = /nt-[0-9a-f]{16}/g;
const SEQ_MOD = 1n << 32n;

/**
 * Every place an `nt-` id crossed an AMQP connection, from both ends' payloads (an id cut between two syscalls on one
 * end is usually whole on the other), deduplicated by connection direction and byte.
 */
export function sightIds(events: AmqpEvent[]): IdSighting[] {
  const seen = new Map<string, IdSighting>();
  for (const e of events) {
    const text = Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength).toString('latin1');
    for (const m of text.matchAll(ID_RE)) {
      const seq = (e.tcp_seq + BigInt(m.index!)) % SEQ_MOD;
      const [fromPort, toPort] = e.direction === 'send' ? [e.local_port, e.remote_port] : [e.remote_port, e.local_port];
      const key = `${m[0]}|${fromPort}|${toPort}|${seq}`;
      if (!seen.has(key)) seen.set(key, { id: m[0], fromPort, toPort, seq });
    }
  }
  return [...seen.values()];
}

/** Whether the byte at `seq` lies in the span's request bytes (TCP sequence numbers wrap at 2^32). */
export function holdsByte(span: Span, seq: bigint): boolean {
  if (span.req_seq === null || span.req_bytes === null) return false;
  return (seq - span.req_seq + SEQ_MOD) % SEQ_MOD < span.req_bytes;
}

/** The wire spans (producer at the sender, consumer at the receiver) of the message holding a sighted id. */
export function wireSpans(spans: Span[], s: IdSighting): { producer: Span | undefined; consumer: Span | undefined } {
  const amqp = (kind: string, local: number, remote: number): Span | undefined =>
    spans.find((x) => x.protocol === 'amqp' && x.kind === kind && x.local_port === local && x.remote_port === remote && holdsByte(x, s.seq));
  return { producer: amqp('producer', s.fromPort, s.toPort), consumer: amqp('consumer', s.toPort, s.fromPort) };
}

/** The client span of a logged HTTP or Redis call (made by `pid`), or the server span of an HTTP request served. */
export function endpointSpan(spans: Span[], kind: 'client' | 'server', local: number, remote: number, idx: number): Span | undefined {
  return spans.find((x) => x.kind === kind && x.local_port === local && x.remote_port === remote && x.call_index === idx);
}
