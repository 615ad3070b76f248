import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { loadedEngineFromDirs } from '../../testing/loadedEngine.js';
import { collectResourceIds, objectRowIds } from './resourceIds.js';

const SAMPLE = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers', 'capture');

test('resource ids: RPC heads give the UUIDs of their args, never the request context', async () => {
  const { engine, cleanup } = await loadedEngineFromDirs([SAMPLE]);
  try {
    await collectResourceIds(engine);
    // nova-compute's object_action saving instance c4679083-... (head cut at 2 KB, no _msg_id): its handler in
    // nova-conductor is about that instance.
    const [about] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM resource_ids r JOIN spans_raw s USING (span_id)
      WHERE s.kind = 'server' AND s.protocol = 'amqp' AND s.method = 'object_action' AND r.value = 'c4679083-0492-443c-bec0-faeb68a0db58'`);
    assert.ok(Number(about!.n) >= 1);
    const [rpc] = await engine.query<{ spans: bigint; servers: bigint }>(`SELECT count(DISTINCT r.span_id) AS spans,
      count(DISTINCT r.span_id) FILTER (WHERE s.kind = 'server') AS servers
      FROM resource_ids r JOIN spans_raw s USING (span_id) WHERE s.protocol = 'amqp'`);
    assert.ok(Number(rpc!.servers) > 100, `only ${rpc!.servers} RPC handlers with resource ids`);
    // The context (request ids, after the args) is never read: no request id's UUID is a resource id of its message.
    const [leak] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM resource_ids r JOIN spans_raw s USING (span_id)
      JOIN amqp_msgs m ON m.msg_idx = s.msg_idx WHERE r.value = substr(m.request_id, 5) OR r.value = substr(m.global_request_id, 5)`);
    assert.equal(Number(leak!.n), 0);
    // schedule_and_build_instances names its project and user (keystone ids) in its args; quota checks name them too.
    const [keystone] = await engine.query<{ heads: bigint; sql: bigint }>(`SELECT
      count(*) FILTER (WHERE s.protocol = 'amqp' AND s.method = 'schedule_and_build_instances') AS heads,
      count(*) FILTER (WHERE s.protocol = 'mysql' AND s.path LIKE 'SELECT quotas.%') AS sql
      FROM resource_ids r JOIN spans_raw s USING (span_id) WHERE r.value = '47e6ba23d8e942e88c5ee1318dbd0ed9'`);
    assert.ok(Number(keystone!.heads) >= 1 && Number(keystone!.sql) >= 1, `keystone id in ${keystone!.heads} builds, ${keystone!.sql} quota queries`);
    // Each id carries the kind its extraction gave it (dbSession.ts reads it, never the value's shape).
    const byKind = await engine.query<{ kind: string; protocol: string; n: bigint }>(`SELECT r.kind, s.protocol, count(*) AS n
      FROM resource_ids r JOIN spans_raw s USING (span_id)
      WHERE r.value IN ('47e6ba23d8e942e88c5ee1318dbd0ed9', 'c4679083-0492-443c-bec0-faeb68a0db58') GROUP BY ALL ORDER BY 1, 2`);
    assert.deepEqual(byKind.map((k) => `${k.kind} ${k.protocol}`), ['keystone_id amqp', 'keystone_id mysql', 'uuid amqp', 'uuid http', 'uuid mysql']);
    const [unkinded] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM resource_ids WHERE kind IS NULL OR kind NOT IN ('uuid', 'keystone_id', 'row_id')
      OR (kind = 'uuid') <> (value LIKE '%-%') OR (kind = 'row_id') <> (value LIKE 'row:%')`);
    assert.equal(Number(unkinded!.n), 0);
    // An object_action head's serialised object (ComputeNode, id 1) and the statements that save it by its primary
    // key (compute_nodes.id = 1) name the same row; the row ids are no request's ids: span_ids never holds them
    // (span_row_ids does), so content evidence and the spans' request_ids never see them.
    const [row] = await engine.query<{ heads: bigint; sql: bigint; in_span_ids: bigint; in_row_ids: bigint }>(`SELECT
      count(*) FILTER (WHERE s.protocol = 'amqp' AND s.method = 'object_action') AS heads,
      count(*) FILTER (WHERE s.protocol = 'mysql' AND s.path LIKE 'UPDATE compute_nodes%') AS sql,
      (SELECT count(*) FROM span_ids WHERE field = 'sql_row_id') AS in_span_ids,
      (SELECT count(*) FROM span_row_ids WHERE field = 'sql_row_id' AND value = 'compute_nodes#1') AS in_row_ids
      FROM resource_ids r JOIN spans_raw s USING (span_id) WHERE r.value = 'row:computenode#1' AND r.kind = 'row_id'`);
    assert.ok(Number(row!.heads) >= 1 && Number(row!.sql) >= 1, `row id in ${row!.heads} heads, ${row!.sql} updates`);
    assert.equal(Number(row!.in_span_ids), 0);
    assert.ok(Number(row!.in_row_ids) >= 1);
    // SQL statements and HTTP paths keep theirs.
    const kinds = await engine.query<{ protocol: string }>(`SELECT DISTINCT s.protocol FROM resource_ids r JOIN spans_raw s USING (span_id) ORDER BY 1`);
    assert.deepEqual(kinds.map((k) => k.protocol), ['amqp', 'http', 'mysql']);
  } finally {
    cleanup();
  }
});

test('resource ids: a serialised versioned object names its row under any *_object namespace', () => {
  // oslo.versionedobjects' obj_to_primitive: <ns>.name, .namespace, .version, .data (then .changes); the namespace is
  // oslo's default `versioned_object` (cinder, ...) unless a service sets its own (nova_object, ironic_object).
  const obj = (ns: string, name: string, data: string, q = '"'): string =>
    `{${q}${ns}.name${q}: ${q}${name}${q}, ${q}${ns}.namespace${q}: ${q}x${q}, ${q}${ns}.version${q}: ${q}1.2${q}, ${q}${ns}.data${q}: {${data}}}`;
  const esc = '\\"';
  const cases: [string, string, string[]][] = [
    ['nova', obj('nova_object', 'ComputeNode', '"id": 1, "uuid": "u"'), ['row:computenode#1']],
    ['cinder (oslo default namespace)', obj('versioned_object', 'Volume', '"id": 7'), ['row:volume#7']],
    ['ironic', obj('ironic_object', 'Node', '"id": 12, "uuid": "u"'), ['row:node#12']],
    ['inside oslo.messaging\'s serialised message', obj('versioned_object', 'BlockDeviceMapping', `${esc}id${esc}: 76`, esc), ['row:blockdevicemapping#76']],
    ['two objects', `[${obj('versioned_object', 'Backup', '"id": 3')}, ${obj('nova_object', 'Flavor', '"id": 1')}]`, ['row:backup#3', 'row:flavor#1']],
    ['data without a leading id', obj('versioned_object', 'Volume', '"uuid": "u", "id": 7'), []],
    ['name and data under different namespaces', obj('versioned_object', 'Volume', '"id": 7').replace('versioned_object.data', 'nova_object.data'), []],
    ['a namespace not ending in _object', obj('versioned', 'Volume', '"id": 7'), []],
    ['a bare integer', '"id": 7', []],
  ];
  for (const [what, text, rows] of cases) assert.deepEqual(objectRowIds(text), rows, what);
});
