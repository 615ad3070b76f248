import { join } from 'node:path';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { sqlString } from '../analyze/engine/engine.js';
import { seededRandom } from './seededRandom.js';

/**
 * Writes a small analysis output (spans.parquet, edges.parquet with the documented columns of
 * docs/analysis-schema.md, plus an extra column a newer analyze might add) for sketch tests: `traces` HTTP requests
 * to an API on two nodes, each making Zipf-many SQL and cache calls whose server sides run in a database and a cache
 * process. Seeded: the same files every run.
 */
export async function writeSyntheticAnalysis(dir: string, traces = 400, seed = 1): Promise<{ spans: number; edges: number }> {
  const rand = seededRandom(seed);
  const lognormal = (mu: number, sigma: number) => Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
  const spans: unknown[][] = [];
  const edges: unknown[][] = [];
  let id = 0;
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const t0 = 1_700_000_000_000_000_000n;
  const span = (trace: string, parent: string | null, kind: string, node: string, pid: number, service: string, protocol: string, method: string, path: string, start: bigint, dur: number, remote: string) => {
    const sid = hex(++id, 16);
    spans.push([sid, trace, parent, kind, node, pid, pid, service, service, BigInt(pid * 1000 + (id % 7)), '10.0.0.1', 40000 + (id % 50), remote, 3306, protocol, method, path, '200', start, start + BigInt(Math.round(dur)), 100n, 200n, [`req-${hex(id, 8)}`], 'extra']);
    if (parent) edges.push([trace, parent, sid, protocol === 'http' ? 'http' : 'db', 'thread', ['thread'], 0.9, 0]);
    return sid;
  };
  const ops = ['GET /v2/servers', 'GET /v2/servers/{id}', 'POST /v2/servers', 'DELETE /v2/servers/{id}', 'GET /v2/flavors'];
  for (let t = 0; t < traces; t++) {
    const trace = hex(t + 1, 32);
    const node = t % 3 === 0 ? 'b' : 'a';
    const start = t0 + BigInt(t) * 5_000_000n;
    const op = ops[Math.min(ops.length - 1, Math.floor(-Math.log(1 - rand()) * 1.5))]!;
    const [method, path] = op.split(' ') as [string, string];
    const root = span(trace, null, 'server', node, node === 'a' ? 100 : 200, 'api', 'http', method, path.replace('{id}', hex(t, 8)), start, lognormal(16, 0.5), '10.0.0.9');
    const calls = 1 + Math.floor(rand() * 4);
    for (let c = 0; c < calls; c++) {
      const cache = rand() < 0.3;
      const s = start + BigInt(c) * 100_000n;
      const dur = cache ? lognormal(10, 0.3) : lognormal(12, 1);
      const client = span(trace, root, 'client', node, node === 'a' ? 100 : 200, 'api', cache ? 'memcached' : 'mysql', cache ? 'get' : 'SELECT', cache ? `key${t}` : 'SELECT * FROM instances WHERE id = ?', s, dur, '10.0.0.2');
      span(trace, client, 'server', 'a', cache ? 300 : 400, cache ? 'memcached' : 'mariadbd', cache ? 'memcached' : 'mysql', cache ? 'get' : 'SELECT', cache ? `key${t}` : 'SELECT * FROM instances WHERE id = ?', s + 1000n, dur * 0.8, '10.0.0.1');
    }
  }
  const engine = await DuckDbEngine.open();
  try {
    await engine.exec(`CREATE TABLE spans (span_id VARCHAR, trace_id VARCHAR, parent_span_id VARCHAR, kind VARCHAR, node VARCHAR, pid INTEGER, tid INTEGER,
      comm VARCHAR, service VARCHAR, conn_id UBIGINT, local_addr VARCHAR, local_port INTEGER, remote_addr VARCHAR, remote_port INTEGER, protocol VARCHAR,
      method VARCHAR, path VARCHAR, status VARCHAR, start_ns BIGINT, end_ns BIGINT, req_bytes BIGINT, resp_bytes BIGINT, request_ids VARCHAR[], added_later VARCHAR)`);
    await engine.exec(`CREATE TABLE edges (trace_id VARCHAR, parent_span_id VARCHAR, child_span_id VARCHAR, edge_kind VARCHAR, evidence VARCHAR,
      all_evidence VARCHAR[], confidence DOUBLE, alternatives INTEGER)`);
    // The appender takes scalars; lists go in through a VARCHAR column and a cast.
    await engine.exec('CREATE TABLE spans_in AS SELECT * REPLACE (NULL::VARCHAR AS request_ids) FROM spans');
    await engine.insertRows('spans_in', spans.map((r) => r.map((v) => (Array.isArray(v) ? JSON.stringify(v) : v))));
    await engine.exec('INSERT INTO spans SELECT * REPLACE (request_ids::VARCHAR[] AS request_ids) FROM spans_in');
    await engine.exec('CREATE TABLE edges_in AS SELECT * REPLACE (NULL::VARCHAR AS all_evidence) FROM edges');
    await engine.insertRows('edges_in', edges.map((r) => r.map((v) => (Array.isArray(v) ? JSON.stringify(v) : v))));
    await engine.exec('INSERT INTO edges SELECT * REPLACE (all_evidence::VARCHAR[] AS all_evidence) FROM edges_in');
    await engine.writeParquet('spans', join(dir, 'spans.parquet'));
    await engine.writeParquet('edges', join(dir, 'edges.parquet'));
    const [n] = await engine.query<{ n: bigint }>(`SELECT count(*) n FROM read_parquet(${sqlString(join(dir, 'spans.parquet'))})`);
    return { spans: Number(n!.n), edges: edges.length };
  } finally {
    engine.close();
  }
}
