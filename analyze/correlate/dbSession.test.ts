import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCandidates } from './candidates.js';
import { DuckDbEngine } from '../engine/duckdb.js';
import { correlateDbSessions } from './dbSession.js';

/**
 * One eventlet process (pid 5) handling two RPCs (A about instance U1, B about U2) on one OS thread, with two pooled
 * MySQL connections; the sweep's per-statement guesses are given as candidates, as correlateOwnership leaves them.
 */
async function engineWith(statements: [span: string, conn: number, t: number, path: string][], sweep: [parent: string, child: string, evidence: string, c: number][], ids: [span: string, value: string, kind?: string][]): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open();
  await engine.exec(`CREATE TABLE spans_raw (span_id VARCHAR, node VARCHAR, pid INTEGER, conn_idx INTEGER, protocol VARCHAR, kind VARCHAR, path VARCHAR, raw_start_ns BIGINT, raw_end_ns BIGINT, gid BIGINT DEFAULT NULL)`);
  await engine.exec(`INSERT INTO spans_raw VALUES ('A', 'n', 5, 1, 'amqp', 'server', 'compute', 0, NULL, NULL), ('B', 'n', 5, 1, 'amqp', 'server', 'compute', 10, NULL, NULL)`);
  for (const [span, conn, t, path] of statements) {
    await engine.exec(`INSERT INTO spans_raw VALUES ('${span}', 'n', 5, ${conn}, 'mysql', 'client', '${path}', ${t}, ${t + 1}, NULL)`);
  }
  await createCandidates(engine);
  for (const [p, c, e, x] of sweep) await engine.exec(`INSERT INTO candidates VALUES ('${p}', '${c}', '${e}', ${x})`);
  await engine.exec('CREATE TABLE resource_ids (span_id VARCHAR, value VARCHAR, kind VARCHAR)');
  await engine.exec('CREATE TABLE handler_ends (span_id VARCHAR, end_ns BIGINT, how VARCHAR)');
  for (const [s, v, kind] of ids) await engine.exec(`INSERT INTO resource_ids VALUES ('${s}', '${v}', '${kind ?? 'uuid'}')`);
  return engine;
}

async function owners(engine: DuckDbEngine): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT child || '<-' || parent || ' ' || evidence AS l FROM candidates
    WHERE evidence IN ('green:session', 'content:uuid', 'content:keystone_id', 'content:row_id') ORDER BY child`);
  return rows.map((r) => r.l);
}

test('db sessions: the statements of one transaction share an owner; the sweep votes, ids shared with a request lead', async () => {
  const engine = await engineWith(
    [
      // connection 2: A's session (ping, select about U1, rollback), then B's (ping, update, commit, rollback)
      ['s1', 2, 20, 'SELECT ?'], ['s2', 2, 22, 'SELECT instances WHERE uuid = ?'], ['s3', 2, 24, 'ROLLBACK'],
      ['s4', 2, 30, 'SELECT ?'], ['s5', 2, 32, 'UPDATE instances SET x = ?'], ['s6', 2, 34, 'COMMIT'], ['s7', 2, 35, 'ROLLBACK'],
      // connection 3: a session without ids, where the sweep's votes disagree (2 for B, 1 for A)
      ['t1', 3, 40, 'SELECT ?'], ['t2', 3, 42, 'SELECT quotas'], ['t3', 3, 44, 'SELECT quota_classes'], ['t4', 3, 46, 'ROLLBACK'],
    ],
    [
      // the sweep gave A's second statement to B (another green thread ran in between), and B's first to A
      ['A', 's1', 'green:fifo', 0.7], ['B', 's2', 'green:resume', 0.85], ['A', 's4', 'green:resume', 0.85], ['B', 's5', 'green:resume', 0.85],
      ['B', 't1', 'green:resume', 0.85], ['A', 't2', 'green:resume', 0.85], ['B', 't3', 'green:resume', 0.85],
    ],
    [['A', 'u1'], ['B', 'u2'], ['s2', 'u1'], ['s5', 'u2']],
  );
  try {
    await correlateDbSessions(engine);
    assert.deepEqual(await owners(engine), [
      's1<-A content:uuid', 's2<-A content:uuid', 's3<-A content:uuid',
      's4<-B content:uuid', 's5<-B content:uuid', 's6<-B content:uuid', 's7<-B content:uuid',
      't1<-B green:session', 't2<-B green:session', 't3<-B green:session', 't4<-B green:session',
    ]);
  } finally {
    engine.close();
  }
});

test('db sessions: exact evidence (a thread, a greenlet id) names the owner and is left alone', async () => {
  const engine = await engineWith(
    [['s1', 2, 20, 'SELECT ?'], ['s2', 2, 22, 'SELECT instances WHERE uuid = ?'], ['s3', 2, 24, 'ROLLBACK']],
    [['B', 's1', 'green:greenlet', 0.97], ['B', 's2', 'green:greenlet', 0.97]],
    [['A', 'u1'], ['s2', 'u1']],
  );
  try {
    await correlateDbSessions(engine);
    // Only the rollback, which had no evidence of its own, gets the greenlet's owner; the shared id does not override it.
    assert.deepEqual(await owners(engine), ['s3<-B green:session']);
  } finally {
    engine.close();
  }
});

/** Keystone ids (32 hex digits) of two projects and a user. */
const P1 = '47e6ba23d8e942e88c5ee1318dbd0ed9';
const U1 = '8a6f3114964340f68032511bda67a458';
const P2 = 'd8b668be7c0c48329c9b13f02fa4a59d';

test('db sessions: keystone ids (project, user) a request carries place a session that names no UUID', async () => {
  const engine = await engineWith(
    [
      // A (project p1) and B (project p2) both open; a quota check of p1's user u1 on connection 2, a check of p2 on 3
      ['q1', 2, 20, 'SELECT ?'], ['q2', 2, 22, 'SELECT quotas WHERE project_id = ?'], ['q3', 2, 24, 'ROLLBACK'],
      ['r1', 3, 30, 'SELECT ?'], ['r2', 3, 32, 'SELECT quotas WHERE project_id = ?'], ['r3', 3, 34, 'ROLLBACK'],
    ],
    // the sweep saw the other green thread last each time
    [['B', 'q1', 'green:resume', 0.85], ['B', 'q2', 'green:resume', 0.85], ['A', 'r1', 'green:resume', 0.85], ['A', 'r2', 'green:resume', 0.85]],
    [
      ['A', P1, 'keystone_id'], ['A', U1, 'keystone_id'], ['A', 'u1'], ['B', P2, 'keystone_id'], ['B', 'u2'],
      ['q2', P1, 'keystone_id'], ['q2', U1, 'keystone_id'], ['r2', P2, 'keystone_id'],
    ],
  );
  try {
    await correlateDbSessions(engine);
    assert.deepEqual(await owners(engine), [
      'q1<-A content:keystone_id', 'q2<-A content:keystone_id', 'q3<-A content:keystone_id',
      'r1<-B content:keystone_id', 'r2<-B content:keystone_id', 'r3<-B content:keystone_id',
    ]);
  } finally {
    engine.close();
  }
});

test('db sessions: an id counts as a keystone id by the kind its extraction gave it, not by its shape', async () => {
  // The same sessions, but the 32-hex ids were read as resource UUIDs (resource_ids.kind 'uuid': a UUID written
  // without dashes names a resource): the owners are the same, the evidence says which kind of id placed them.
  const engine = await engineWith(
    [
      ['q1', 2, 20, 'SELECT ?'], ['q2', 2, 22, 'SELECT ports WHERE id = ?'], ['q3', 2, 24, 'ROLLBACK'],
      ['r1', 3, 30, 'SELECT ?'], ['r2', 3, 32, 'SELECT ports WHERE id = ?'], ['r3', 3, 34, 'ROLLBACK'],
    ],
    [['B', 'q1', 'green:resume', 0.85], ['B', 'q2', 'green:resume', 0.85], ['A', 'r1', 'green:resume', 0.85], ['A', 'r2', 'green:resume', 0.85]],
    [['A', P1, 'uuid'], ['B', P2, 'uuid'], ['q2', P1, 'uuid'], ['r2', P2, 'uuid']],
  );
  try {
    await correlateDbSessions(engine);
    assert.deepEqual(await owners(engine), [
      'q1<-A content:uuid', 'q2<-A content:uuid', 'q3<-A content:uuid',
      'r1<-B content:uuid', 'r2<-B content:uuid', 'r3<-B content:uuid',
    ]);
  } finally {
    engine.close();
  }
});

test('lone RPC calls: an id only one open request shares outweighs the sweep\'s order; equal ids leave it to the sweep', async () => {
  const engine = await engineWith([], [
    // the sweep woke A for both calls (its green threads blocked and woke in turn)
    ['A', 'c1', 'green:fifo', 0.7], ['A', 'c2', 'green:fifo', 0.7],
  ], [['A', 'u1'], ['A', 'node'], ['B', 'u2'], ['B', 'node'], ['c1', 'u2'], ['c1', 'node'], ['c2', 'node']]);
  try {
    // c1 names B's instance u2 and the compute node both share; c2 only the node
    await engine.exec(`INSERT INTO spans_raw VALUES ('c1', 'n', 5, 9, 'amqp', 'client', 'object_action', 50, NULL, NULL),
      ('c2', 'n', 5, 9, 'amqp', 'client', 'object_action', 60, NULL, NULL)`);
    await correlateDbSessions(engine);
    assert.deepEqual(await owners(engine), ['c1<-B content:uuid', 'c2<-A content:uuid']);
  } finally {
    engine.close();
  }
});

test('db sessions: an object saved by its primary key goes to the handler whose head carries that object (content:row_id)', async () => {
  // A was sent ComputeNode id 1 (object_action), B a BlockDeviceMapping id 76; the session on connection 2 refreshes
  // and saves compute_nodes.id = 1 and names no UUID; the sweep guessed B for it.
  const engine = await engineWith(
    [['r1', 2, 20, 'SELECT ?'], ['r2', 2, 22, 'SELECT compute_nodes WHERE id = ?'], ['r3', 2, 24, 'UPDATE compute_nodes SET x = ?'], ['r4', 2, 26, 'ROLLBACK']],
    [['B', 'r1', 'green:resume', 0.85], ['B', 'r2', 'green:resume', 0.85], ['B', 'r3', 'green:resume', 0.85]],
    [['A', 'row:computenode#1', 'row_id'], ['B', 'row:blockdevicemapping#76', 'row_id'], ['r2', 'row:computenode#1', 'row_id'], ['r3', 'row:computenode#1', 'row_id']],
  );
  try {
    await correlateDbSessions(engine);
    assert.deepEqual(await owners(engine), ['r1<-A content:row_id', 'r2<-A content:row_id', 'r3<-A content:row_id', 'r4<-A content:row_id']);
  } finally {
    engine.close();
  }
});
