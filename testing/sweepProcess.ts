import { createCandidates } from '../analyze/correlate/candidates.js';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';

const S = 1_000_000_000;

/** One span of the process, times in seconds; the response ends 1 ms after it starts unless `end` says otherwise. */
export interface SweepSpan {
  id: string;
  kind: 'client' | 'server' | 'producer' | 'consumer';
  protocol: string;
  t: number;
  gid?: number | null;
  rpcKind?: string | null;
  msg?: number | null;
  resp?: number | null;
  end?: number | null;
}

/**
 * The input of the ownership sweep (correlate/ownership.ts) for one process (node `n`, pid 5, one OS thread 5),
 * written span by span: the tables `spans_raw`, `amqp_msgs` and `events` with the columns the sweep reads. Tests of
 * the sweep build the eventlet scene they assert on with it, then call `done()` (creates `candidates`).
 */
export async function sweepProcess(): Promise<{
  engine: DuckDbEngine;
  span: (s: SweepSpan) => Promise<void>;
  msg: (idx: number, dir: 'send' | 'recv', osloKind: string | null, msgId: string | null) => Promise<void>;
  spawn: (gid: number, parentGid: number, t: number) => Promise<void>;
  done: () => Promise<DuckDbEngine>;
}> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, resp_tid INTEGER,
    resp_gid UBIGINT, kind VARCHAR, protocol VARCHAR, broker BOOLEAN, rpc_kind VARCHAR, msg_idx INTEGER,
    raw_start_ns BIGINT, raw_resp_start_ns BIGINT, raw_end_ns BIGINT)`);
  await engine.exec(`CREATE TABLE amqp_msgs (msg_idx INTEGER, node VARCHAR, pid INTEGER, dir VARCHAR, oslo_kind VARCHAR, msg_id VARCHAR)`);
  await engine.exec(`CREATE TABLE events (event VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER, gid UBIGINT, parent_gid UBIGINT, ts_ns BIGINT)`);
  const ns = (t: number | null | undefined): string => (t == null ? 'NULL' : String(Math.round(t * S)));
  const text = (v: string | null | undefined): string => (v == null ? 'NULL' : `'${v}'`);
  return {
    engine,
    span: (s) => {
      const resp = s.resp ?? null;
      const end = s.end ?? (resp === null ? null : resp + 0.001);
      return engine.exec(`INSERT INTO spans_raw VALUES ('${s.id}', 'n', 5, 5, ${s.gid ?? 'NULL'}, NULL, NULL, '${s.kind}', '${s.protocol}', false,
        ${text(s.rpcKind)}, ${s.msg ?? 'NULL'}, ${ns(s.t)}, ${ns(resp)}, ${ns(end)})`);
    },
    msg: (idx, dir, osloKind, msgId) => engine.exec(`INSERT INTO amqp_msgs VALUES (${idx}, 'n', 5, '${dir}', ${text(osloKind)}, ${text(msgId)})`),
    spawn: (gid, parentGid, t) => engine.exec(`INSERT INTO events VALUES ('green_spawn', 'n', 5, 5, ${gid}, ${parentGid}, ${ns(t)})`),
    done: async () => {
      await createCandidates(engine);
      return engine;
    },
  };
}

/** The owners the candidates name for `child`, as 'parent evidence' lines, sorted. */
export async function ownersOf(engine: DuckDbEngine, child: string): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT parent || ' ' || evidence AS l FROM candidates WHERE child = '${child}' ORDER BY 1`);
  return rows.map((r) => r.l);
}
