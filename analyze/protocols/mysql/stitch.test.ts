import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GappedStream } from '../gappedStream.js';
import { concatRecorded, fullStream, parseAll, streamOf, T0_NS, type RecordedChunk } from '../../../testing/protocolTestkit.js';
import { findFrameBoundary, parseFrame } from './parse.js';
import { normaliseSql, sqlIds, sqlVerb, stitch } from './stitch.js';
import { bigResultSet, handshake, preparedStatements, queries, quit } from './testdata.js';

const parser = { parseFrame, findFrameBoundary };

function stitchRecorded(recorded: readonly RecordedChunk[], snaplen = Infinity) {
  const req = parseAll(parser, 'request', streamOf(recorded, 'request', snaplen)).frames;
  const resp = parseAll(parser, 'response', streamOf(recorded, 'response', snaplen)).frames;
  return stitch(req, resp);
}

describe('mysql stitch', () => {
  it('a whole pymysql connection: handshake ignored, every command paired in order', () => {
    const { records, errorCount } = stitchRecorded(concatRecorded(handshake, queries, bigResultSet, preparedStatements, quit));
    assert.equal(errorCount, 0);
    assert.deepEqual(
      records.map((r) => [r.method, r.status, r.responseKind, r.rowCount]),
      [
        ['BEGIN', 'ok', 'ok', null],
        ['INSERT', 'ok', 'ok', null],
        ['UPDATE', 'ok', 'ok', null],
        ['COMMIT', 'ok', 'ok', null],
        ['SELECT', 'ok', 'result-set', 3],
        ['SELECT', 'error', 'error', null],
        ['PING', 'ok', 'ok', null],
        ['INIT_DB', 'ok', 'ok', null],
        ['SELECT', 'ok', 'result-set', 203],
        ['STMT_PREPARE', 'ok', 'prepare-ok', null],
        ['SELECT', 'ok', 'result-set', 1], // COM_STMT_EXECUTE of the prepared SELECT
        ['STMT_CLOSE', null, null, null],
        ['PING', 'ok', 'ok', null],
        ['QUIT', null, null, null],
      ],
    );
    const err = records[5]!;
    assert.equal(err.errorCode, 1146);
    assert.equal(err.sqlState, '42S02');
    assert.match(err.errorMessage ?? '', /no_such_table/);
    assert.equal(records[7]!.path, 'placement');
    assert.equal(records[10]!.command, 'STMT_EXECUTE');
    assert.equal(records[10]!.path, 'SELECT uuid, host FROM instances WHERE id = ?');
    assert.equal(records[4]!.path, 'SELECT instances.id, instances.uuid, instances.host, instances.vm_state FROM instances WHERE instances.deleted = ? AND instances.host = ?');
    assert.deepEqual(records[1]!.ids['sql_uuid']?.length, 3);
    for (const r of records) if (r.resp) assert.ok(r.resp.tsStartNs >= r.req.tsStartNs);
  });

  it('snaplen 512: a result set whose structure a gap hid ends at the next command', () => {
    const { records, errorCount } = stitchRecorded(concatRecorded(bigResultSet, preparedStatements), 512);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.status, r.responseKind]), [
      ['SELECT', 'ok', 'result-set'],
      ['STMT_PREPARE', 'ok', 'prepare-ok'],
      ['SELECT', 'ok', 'result-set'],
      ['STMT_CLOSE', null, null],
      ['PING', 'ok', 'ok'],
    ]);
    assert.equal(records[0]!.rowCount, null); // not every packet was seen
    assert.ok(records[0]!.resp!.tsEndNs < records[1]!.req.tsStartNs);
  });

  it('counts server packets after a command that has no reply', () => {
    const req = parseAll(parser, 'request', streamOf([['request', 0, 'BQAAABkBAAAA']], 'request')).frames; // COM_STMT_CLOSE
    const resp = parseAll(parser, 'response', streamOf([['response', 5, 'BwAAAQAAAAIAAAA=']], 'response')).frames;
    const { records, errorCount } = stitch(req, resp);
    assert.equal(errorCount, 1);
    assert.equal(records[0]!.resp, null);
  });
});

describe('mysql statements seen again', () => {
  it('a repeated statement text (with other whitespace, in other connections) gets the same method, path and ids', () => {
    const text = (ws: string) => `INSERT INTO instance_actions${ws}(request_id) VALUES ('req-0f4e9a34-6c55-4d1c-9c55-6f5b1b1f7a10', 42)`;
    const command = (sql: string): Uint8Array => {
      const body = new TextEncoder().encode(`\x03${sql}`);
      return Uint8Array.from([body.length & 0xff, body.length >> 8, 0, 0, ...body]);
    };
    const records = [' ', '\n  ', ' '].map((ws) => {
      const stream = new GappedStream([{ tsNs: T0_NS, tid: 1, bytes: 0, data: command(text(ws)) }].map((c) => ({ ...c, bytes: c.data.length })));
      return stitch(parseAll(parser, 'request', stream).frames, []).records[0]!;
    });
    for (const r of records) {
      assert.equal(r.method, 'INSERT');
      assert.equal(r.path, 'INSERT INTO instance_actions (request_id) VALUES (?, ?)');
      assert.equal(r.sql, text(' '));
      assert.deepEqual(r.ids, { request_id: ['req-0f4e9a34-6c55-4d1c-9c55-6f5b1b1f7a10'] });
    }
  });
});

describe('mysql SQL helpers', () => {
  it('verbs', () => {
    assert.equal(sqlVerb('/* nova */ select 1'), 'SELECT');
    assert.equal(sqlVerb('(SELECT 1) UNION (SELECT 2)'), 'SELECT');
    assert.equal(sqlVerb('  '), null);
  });
  it('normalises literals, keeps identifiers', () => {
    assert.equal(normaliseSql("SELECT a1, t.b2 FROM t WHERE x = 'it''s' AND y IN (1, -2.5e3) AND z = 0xFF"), 'SELECT a1, t.b2 FROM t WHERE x = ? AND y IN (?, ?) AND z = ?');
    assert.equal(normaliseSql("INSERT INTO t VALUES ('cut by the capt"), 'INSERT INTO t VALUES (?');
  });
  it('extracts request ids and uuids', () => {
    const ids = sqlIds("INSERT INTO instance_actions (request_id, instance_uuid) VALUES ('req-0f4e9a34-6c55-4d1c-9c55-6f5b1b1f7a10', '5B4E1C2A-0000-4000-8000-000000000001')");
    assert.deepEqual(ids, { request_id: ['req-0f4e9a34-6c55-4d1c-9c55-6f5b1b1f7a10'], sql_uuid: ['5b4e1c2a-0000-4000-8000-000000000001'] });
  });
  it('reads a command\'s SQL past 1 KB: ids in the WHERE of a long SELECT (SQLAlchemy lists every column first)', () => {
    const columns = Array.from({ length: 40 }, (_, i) => `instance_mappings.column_number_${i} AS instance_mappings_column_number_${i}`).join(', ');
    const sql = `SELECT ${columns} FROM instance_mappings WHERE instance_mappings.instance_uuid = 'c4679083-0492-443c-bec0-faeb68a0db58' LIMIT 1`;
    assert.ok(sql.indexOf('c4679083') > 2048);
    const packet = (seq: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq]), payload]);
    const query = packet(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]));
    const ok = packet(1, Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]));
    const { records } = stitch(parseAll(parser, 'request', fullStream(query)).frames, parseAll(parser, 'response', fullStream(ok)).frames);
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]!.ids, { sql_uuid: ['c4679083-0492-443c-bec0-faeb68a0db58'] });
  });
  it('extracts row ids (`<table>.id = N`) of the rows an object save or refresh names', () => {
    // nova-conductor's ComputeNode.save for an object_action, as captured (no UUID, only the primary key)
    const ids = sqlIds("UPDATE compute_nodes SET updated_at='2026-11-27 09:36:52.842812', vcpus_used=2 WHERE compute_nodes.id = 1");
    assert.deepEqual(ids, { sql_row_id: ['compute_nodes#1'] });
    assert.deepEqual(sqlIds('SELECT a.id AS a_id FROM a WHERE a.deleted = 0 AND a.id_x = 3 AND b.id = ?'), {});
  });
  it('extracts keystone ids (project, user) given as quoted literals, not hex runs inside other tokens', () => {
    // nova-conductor's quota check in schedule_and_build_instances, as captured: the project and user are all it names
    const ids = sqlIds("SELECT project_user_quotas.resource FROM project_user_quotas WHERE project_user_quotas.project_id = '47E6BA23D8E942E88C5EE1318DBD0ED9' AND project_user_quotas.user_id = '8a6f3114964340f68032511bda67a458'");
    assert.deepEqual(ids, { sql_keystone_id: ['47e6ba23d8e942e88c5ee1318dbd0ed9', '8a6f3114964340f68032511bda67a458'] });
    assert.deepEqual(sqlIds("SELECT 1 FROM images WHERE checksum = 'md5:0123456789abcdef0123456789abcdef' AND x = 0123456789abcdef0123456789abcdef"), {});
  });
});

describe('mysql after capture redaction', () => {
  it('the handshake response with its auth data starred still parses and is skipped', async () => {
    const { redactSecrets } = await import('../../../capture/redact.js');
    const recorded = concatRecorded(handshake, queries);
    const req = streamOf(recorded, 'request');
    let hits = 0;
    for (const c of req.chunks) hits += redactSecrets(c.data);
    assert.equal(hits, 1);
    const { records, errorCount } = stitch(parseAll(parser, 'request', req).frames, parseAll(parser, 'response', streamOf(recorded, 'response')).frames);
    assert.equal(errorCount, 0);
    assert.equal(records.length, 8);
    assert.equal(records[0]!.method, 'BEGIN');
  });

  it('an auth switch exchange before the first command is ignored', () => {
    // greeting (seq 0) / handshake response (1) / auth switch request 0xfe (2) / auth data (3) / OK (4), then COM_PING.
    const pkt = (seq: number, payload: string) => Buffer.from([payload.length & 0xff, payload.length >> 8, 0, seq, ...Buffer.from(payload, 'latin1')]).toString('base64');
    const greeting = '\x0a10.11.19-MariaDB\x00' + '\x01'.repeat(40);
    const recorded: RecordedChunk[] = [
      ['response', 0, pkt(0, greeting)],
      ['request', 10, pkt(1, '\x0d\xa2\x3a\x00' + '\x00'.repeat(28) + 'nova\x00\x14' + '*'.repeat(20) + 'mysql_native_password\x00')],
      ['response', 20, pkt(2, '\xfeclient_ed25519\x00' + '\x02'.repeat(32))],
      ['request', 30, pkt(3, '*'.repeat(64))],
      ['response', 40, pkt(4, '\x00\x00\x00\x02\x00\x00\x00')],
      ['request', 50, pkt(0, '\x0e')],
      ['response', 60, pkt(1, '\x00\x00\x00\x02\x00\x00\x00')],
    ];
    const { records, errorCount } = stitchRecorded(recorded);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.status, r.requestPackets, r.responsePackets]), [['PING', 'ok', 1, 1]]);
  });
});

describe('mysql commands over 16 MB', () => {
  it('a COM_QUERY split into a 2^24-1 packet and a continuation is one command', () => {
    const header = (len: number, seq: number) => [len & 0xff, (len >> 8) & 0xff, len >> 16, seq];
    const first = new Uint8Array([...header(0xffffff, 0), 0x03, ...Buffer.from('INSERT INTO images (data) VALUES (0x00')]);
    const rest = new Uint8Array([...header(10, 1), ...Buffer.from('0000000)\r\n').subarray(0, 10)]);
    const req = new GappedStream([
      { tsNs: T0_NS, tid: 1, bytes: 4 + 0xffffff, data: first },
      { tsNs: T0_NS + 1n, tid: 1, bytes: rest.length, data: rest },
      { tsNs: T0_NS + 10n, tid: 1, bytes: 5, data: new Uint8Array([1, 0, 0, 0, 0x0e]) },
    ]);
    const resp = new GappedStream([
      { tsNs: T0_NS + 5n, tid: 1, bytes: 11, data: new Uint8Array([7, 0, 0, 2, 0, 1, 0, 2, 0, 0, 0]) },
      { tsNs: T0_NS + 15n, tid: 1, bytes: 11, data: new Uint8Array([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]) },
    ]);
    const { records, errorCount } = stitch(parseAll(parser, 'request', req).frames, parseAll(parser, 'response', resp).frames);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.status, r.requestPackets, r.req.length]), [['INSERT', 'ok', 2, 4 + 0xffffff + 14], ['PING', 'ok', 1, 5]]);
  });
});
