import type { Engine } from '../engine/engine.js';
import type { Diagnostics } from '../diagnostics.js';

/**
 * Spatial evidence: the client side of a call and its server side are the two ends of one TCP connection
 * carrying the same request bytes. The client's send sequence number of the request's first byte equals the
 * server's receive sequence number of it, and the 4-tuples mirror each other, so the match is exact on one node
 * and across nodes, with no clock involved.
 */
export async function correlateSpatial(engine: Engine, diag: Diagnostics): Promise<number> {
  await engine.exec(`INSERT INTO candidates
    SELECT c.span_id, s.span_id, 'spatial', 1.0
    FROM spans_raw c JOIN spans_raw s
      ON c.req_seq = s.req_seq AND c.local_port = s.remote_port AND c.remote_port = s.local_port
     AND c.local_addr = s.remote_addr AND c.remote_addr = s.local_addr AND c.protocol = s.protocol
    WHERE c.kind = 'client' AND s.kind = 'server'`);
  // Server sides whose request was not seen (capture began while their thread was in recv): match by the
  // response's sequence number, then take method, path and ids from the client side, and bound the request's
  // arrival by the client's own call duration (the server cannot have read it earlier than that before answering).
  await engine.exec(`INSERT INTO candidates
    SELECT c.span_id, s.span_id, 'spatial', 1.0
    FROM spans_raw c JOIN spans_raw s
      ON c.resp_seq = s.resp_seq AND c.local_port = s.remote_port AND c.remote_port = s.local_port
     AND c.local_addr = s.remote_addr AND c.remote_addr = s.local_addr AND c.protocol = s.protocol
    WHERE c.kind = 'client' AND s.kind = 'server' AND NOT s.req_seen`);
  await engine.updateFrom({
    table: 'spans_raw',
    source: `SELECT x.child AS span_id, c.method, c.path, c.raw_start_ns, c.raw_req_end_ns, c.raw_resp_start_ns
             FROM candidates x JOIN spans_raw c ON x.parent = c.span_id WHERE x.evidence = 'spatial'`,
    key: 'span_id',
    set: {
      method: 'e.method',
      path: 'e.path',
      raw_start_ns: 's.raw_resp_start_ns - (e.raw_resp_start_ns - e.raw_start_ns)',
      raw_req_end_ns: 's.raw_resp_start_ns - (e.raw_resp_start_ns - e.raw_req_end_ns)',
    },
    where: 'NOT s.req_seen',
  });
  for (const ids of ['span_ids', 'span_row_ids']) {
    await engine.exec(`INSERT INTO ${ids} SELECT x.child, i.field, i.value FROM candidates x
      JOIN spans_raw s ON s.span_id = x.child JOIN ${ids} i ON i.span_id = x.parent
      WHERE x.evidence = 'spatial' AND NOT s.req_seen`);
  }
  const [dup] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM (
      SELECT child FROM candidates WHERE evidence = 'spatial' GROUP BY child HAVING count(*) > 1)`);
  if (Number(dup?.n ?? 0n) > 0) {
    diag.warn('spatial-ambiguous', 'server spans matched by more than one client span (same connection captured twice?)', Number(dup!.n));
  }
  const [r] = await engine.query<{ n: bigint; unmatched_clients: bigint; unmatched_servers: bigint }>(`SELECT
      (SELECT count(*) FROM candidates WHERE evidence = 'spatial') AS n,
      (SELECT count(*) FROM spans_raw WHERE kind = 'client' AND span_id NOT IN (SELECT parent FROM candidates WHERE evidence = 'spatial')) AS unmatched_clients,
      (SELECT count(*) FROM spans_raw WHERE kind = 'server' AND span_id NOT IN (SELECT child FROM candidates WHERE evidence = 'spatial')) AS unmatched_servers`);
  diag.add('client_spans_without_server_side', Number(r!.unmatched_clients));
  diag.add('server_spans_without_client_side', Number(r!.unmatched_servers));
  return Number(r!.n);
}
