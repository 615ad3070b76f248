import type { Diagnostics } from '../diagnostics.js';
import { ColumnBatch } from '../engine/columns.js';
import type { Engine } from '../engine/engine.js';
import { Progress } from '../progress.js';
import { protocols } from '../protocols/registry.js';
import type { Chunk } from '../protocols/types.js';
import { CALL_IDS_SCHEMA, CALL_SIDES_SCHEMA, CallSpanWriter } from './callSpans.js';
import { ConnectionParser, type ParseOutputs } from './connectionParser.js';

/** Rows buffered in JS before they are appended to the engine. */
const FLUSH_ROWS = 50_000;

/**
 * The parse step: every connection's data events, in (connection, time) order straight from the capture files
 * (the engine sorts, spilling to disk when it must), are read block by block and handed to one ConnectionParser at
 * a time; its calls and messages are appended to `call_sides`, `call_ids` and each messaging protocol's table in
 * bulk. `mask` blanks ground truth in a payload before any parser sees it. Tables made: `conns` (one row per
 * connection), `threads` (thread names), and those above.
 */
export async function parseConnections(engine: Engine, diag: Diagnostics, mask: (payload: Uint8Array) => number, showProgress: boolean): Promise<void> {
  const d = engine.dialect;
  await engine.exec(
    d.createTableAs(
      'conns',
      `SELECT (row_number() OVER (ORDER BY node, conn_id, local_addr, local_port, remote_addr, remote_port) - 1)::INTEGER AS conn_idx, *
       FROM (SELECT node, conn_id, local_addr, local_port, remote_addr, remote_port, any_value(netns) AS netns,
                    count(*) AS n_events, sum(bytes) AS bytes
             FROM events WHERE event = 'data' AND direction IN ('send', 'recv')
             GROUP BY ALL)`,
    ),
  );
  await engine.exec(d.createTableAs('threads', `SELECT node, pid, tid, min(comm) AS comm FROM events GROUP BY ALL`));
  await engine.exec(d.createTable('call_sides', CALL_SIDES_SCHEMA));
  await engine.exec(d.createTable('call_ids', CALL_IDS_SCHEMA));
  const messageTables = protocols.flatMap((p) => (p.messages ? [p.messages] : []));
  for (const t of messageTables) await engine.exec(d.createTable(t.table, t.schema));

  const [totals] = await engine.query<{ conns: bigint; events: bigint }>('SELECT count(*) AS conns, coalesce(sum(n_events), 0) AS events FROM conns');
  diag.add('connections', Number(totals?.conns ?? 0n));
  const progress = new Progress('analyze: parsing events', Number(totals?.events ?? 0n), showProgress);

  const calls = new CallSpanWriter();
  const messageBatches = new Map(messageTables.map((t) => [t.table, new ColumnBatch(t.schema)]));
  const out: ParseOutputs = {
    calls,
    messageBatch: (table) => messageBatches.get(table)!,
  };
  const flush = async (): Promise<void> => {
    await engine.append('call_sides', calls.spans);
    await engine.append('call_ids', calls.ids);
    calls.spans.clear();
    calls.ids.clear();
    for (const [table, batch] of messageBatches) {
      await engine.append(table, batch);
      batch.clear();
    }
  };
  const pending = (): number => calls.spans.rows + [...messageBatches.values()].reduce((n, b) => n + b.rows, 0);

  const conns = new Map<number, { node: string; local_port: number | null; remote_port: number | null }>();
  for (const c of await engine.query<{ conn_idx: number; node: string; local_port: number | null; remote_port: number | null }>(
    'SELECT conn_idx, node, local_port, remote_port FROM conns',
  )) conns.set(c.conn_idx, c);

  let current: ConnectionParser | null = null;
  let currentIdx = -1;
  let done = 0;
  let masked = 0;
  const finish = (): void => {
    if (!current) return;
    try {
      current.end();
    } catch (e) {
      diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
    }
    current = null;
  };
  await engine.stream(
    `SELECT c.conn_idx, e.direction = 'send' AS send, e.ts_ns, e.pid, e.tid, e.gid, e.tcp_seq, e.bytes, e.payload
     FROM events e JOIN conns c
       ON e.node = c.node AND e.conn_id IS NOT DISTINCT FROM c.conn_id
      AND e.local_addr IS NOT DISTINCT FROM c.local_addr AND e.local_port IS NOT DISTINCT FROM c.local_port
      AND e.remote_addr IS NOT DISTINCT FROM c.remote_addr AND e.remote_port IS NOT DISTINCT FROM c.remote_port
     WHERE e.event = 'data' AND e.direction IN ('send', 'recv')
     ORDER BY c.conn_idx, e.mono_ns, e.direction, e.tcp_seq`,
    async (chunk) => {
      for (let i = 0; i < chunk.rowCount; i++) {
        const connIdx = chunk.number(0, i)!;
        if (connIdx !== currentIdx) {
          finish();
          currentIdx = connIdx;
          const meta = conns.get(connIdx)!;
          current = new ConnectionParser({ connIdx, node: meta.node, localPort: meta.local_port, remotePort: meta.remote_port }, out, diag);
        }
        let data = chunk.bytes(8, i) ?? EMPTY;
        // Inline (short) blobs are views over the engine's block: copy them before the block goes.
        if (data.length <= 12 && data.length > 0) data = data.slice();
        masked += mask(data);
        const c: Chunk = {
          tsNs: chunk.bigint(2, i)!,
          pid: chunk.number(3, i)!,
          tid: chunk.number(4, i)!,
          gid: chunk.bigint(5, i),
          tcpSeq: chunk.bigint(6, i),
          bytes: chunk.number(7, i)!,
          data,
        };
        try {
          current?.push(chunk.boolean(1, i) ? 'send' : 'recv', c);
        } catch (e) {
          diag.warn('parser-error', `connection skipped, a parser failed on it: ${(e as Error).message.split('\n', 1)[0]}`);
          current = null; // the rest of this connection's events are skipped
        }
      }
      done += chunk.rowCount;
      progress.update(done);
      if (pending() >= FLUSH_ROWS) await flush();
    },
  );
  finish();
  await flush();
  if (masked > 0) diag.add('ground_truth_fields_masked', masked);
  progress.done();
}

const EMPTY = new Uint8Array(0);
