import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { V1_EVENT_COLUMNS } from '../analyze/load/loadCaptures.js';

/** One end of a TCP connection in a synthetic capture. */
export interface Endpoint {
  node: string;
  pid: number;
  comm: string;
  addr: string;
  port: number;
}

interface Ev {
  ts: bigint;
  node: string;
  pid: number;
  tid: number;
  comm: string;
  direction: 'send' | 'recv';
  connId: bigint;
  local: Endpoint;
  remote: Endpoint;
  seq: bigint;
  bytes: number;
  payload: Uint8Array;
}

/** A connection with each direction's next sequence number. */
export interface SynthConn {
  client: Endpoint;
  server: Endpoint;
  clientConnId: bigint;
  serverConnId: bigint;
  c2s: bigint;
  s2c: bigint;
}

/**
 * Writes capture directories that follow docs/capture-schema.md exactly, from calls described in a test: for
 * unit tests of each step while live captures are not at hand, and for clock-skew cases one machine cannot make.
 * Times are ns; `skew` adds a per-node clock error to ts_ns.
 */
export class SyntheticCapture {
  private readonly events: Ev[] = [];
  private nextConn = 1n;
  readonly skew = new Map<string, bigint>();
  snaplen = 4096;

  connect(client: Endpoint, server: Endpoint, seqBase = 1000n): SynthConn {
    const id = this.nextConn++;
    return { client, server, clientConnId: id * 2n, serverConnId: id * 2n + 1n, c2s: seqBase, s2c: seqBase * 7n };
  }

  /** `from` sends `text` (in syscalls of `parts` sizes) at ts; the other end reads it at `recvTs`. */
  message(conn: SynthConn, fromClient: boolean, text: string | Uint8Array, sendTs: bigint, recvTs: bigint, sendTid: number, recvTid: number, lose?: 'send' | 'recv'): void {
    const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    const seq = fromClient ? conn.c2s : conn.s2c;
    const [s, r] = fromClient ? [conn.client, conn.server] : [conn.server, conn.client];
    const [sid, rid] = fromClient ? [conn.clientConnId, conn.serverConnId] : [conn.serverConnId, conn.clientConnId];
    const payload = data.subarray(0, this.snaplen);
    // `lose`: that side's syscall is not in the capture (e.g. a recv already blocked when the probes attached).
    if (lose !== 'send') this.events.push({ ts: sendTs, node: s.node, pid: s.pid, tid: sendTid, comm: s.comm, direction: 'send', connId: sid, local: s, remote: r, seq, bytes: data.length, payload });
    if (lose !== 'recv') this.events.push({ ts: recvTs, node: r.node, pid: r.pid, tid: recvTid, comm: r.comm, direction: 'recv', connId: rid, local: r, remote: s, seq, bytes: data.length, payload });
    if (fromClient) conn.c2s += BigInt(data.length);
    else conn.s2c += BigInt(data.length);
  }

  /** A whole HTTP call: request sent at t, read at t+1µs, response sent at tResp, read at tResp+1µs. */
  http(conn: SynthConn, o: { t: bigint; tResp: bigint; clientTid: number; serverTid: number; path: string; headers?: Record<string, string>; respHeaders?: Record<string, string>; status?: number; body?: string }): void {
    const h = Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    this.message(conn, true, `GET ${o.path} HTTP/1.1\r\nHost: ${conn.server.addr}\r\n${h}\r\n`, o.t, o.t + 1000n, o.clientTid, o.serverTid);
    const body = o.body ?? 'ok';
    const rh = Object.entries(o.respHeaders ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    this.message(conn, false, `HTTP/1.1 ${o.status ?? 200} OK\r\nContent-Length: ${body.length}\r\n${rh}\r\n${body}`, o.tResp, o.tResp + 1000n, o.serverTid, o.clientTid);
  }

  /** Writes one capture directory per node under `root`; returns their paths in node order. */
  async write(root: string, nodes: readonly string[], processes: { node: string; pid: number; comm: string; cmdline: string }[] = []): Promise<string[]> {
    const e = await DuckDbEngine.open();
    const dirs: string[] = [];
    try {
      for (const node of nodes) {
        const dir = join(root, node);
        mkdirSync(join(dir, 'events'), { recursive: true });
        await e.exec(`CREATE OR REPLACE TABLE ev (${V1_EVENT_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
        const skew = this.skew.get(node) ?? 0n;
        const rows = this.events
          .filter((x) => x.node === node)
          .map((x) => [x.ts + skew, x.ts, x.node, x.pid, x.tid, x.comm, 3, 'data', x.direction === 'send' ? 'write' : 'read', x.direction, x.connId, 'ipv4', x.local.addr, x.local.port, x.remote.addr, x.remote.port, 4026531840n, x.seq, BigInt(x.bytes), x.payload, x.payload.length < x.bytes]);
        await e.insertRows('ev', rows);
        await e.writeParquet('SELECT * FROM ev ORDER BY mono_ns', join(dir, 'events', 'seg-000001.parquet'));
        await e.exec('CREATE OR REPLACE TABLE pr (node VARCHAR, pid INTEGER, ppid INTEGER, comm VARCHAR, exe VARCHAR, cmdline VARCHAR, start_time_ns BIGINT, listen_ports INTEGER[], first_seen_ns BIGINT)');
        await e.insertRows('pr', processes.filter((p) => p.node === node).map((p) => [p.node, p.pid, 1, p.comm, null, p.cmdline, 0n, null, 0n]));
        await e.writeParquet('pr', join(dir, 'processes.parquet'));
        writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest(node, rows.length, this.snaplen), null, 2));
        dirs.push(dir);
      }
    } finally {
      e.close();
    }
    return dirs;
  }
}

function manifest(node: string, rows: number, snaplen: number): unknown {
  return {
    format: 'nitrace-capture',
    schema_version: 1,
    nitrace_version: '0.1.0',
    status: 'complete',
    error: null,
    node,
    config: { snaplen, redact: true, pids: [], comms: [], ports: [], netns: [], command: [] },
    clock: { mono_to_realtime_ns: '0', samples: [], drift_ns: 0, source: 'synthetic' },
    segments: [{ file: 'events/seg-000001.parquet', rows }],
    events: { written: rows, redacted: 0 },
    losses: { ringbuf_drops: 0, active_map_full: 0, payload_faults: 0, unflushed: 0 },
  };
}
