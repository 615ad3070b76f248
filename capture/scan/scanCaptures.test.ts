import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SyntheticCapture, type Endpoint } from '../../testing/syntheticCapture.js';
import { nitrace, query } from '../../testing/liveTestHelpers.js';
import { scanCaptures } from './scanCaptures.js';
import { readSecretFile } from './secretList.js';
import { scrubCapture } from '../scrubCapture.js';

const FERNET = 'gAAAAABrCUVmdbQHyT70K_iC_eJSJaYhkH5ZZoJOnG3J8Z-NM1LO8Tw5VI27kynPHZ6-vBiGVrZO9sIfgkxXTq1IKyMMlX50GOkQLg6lUQCjlDASmz72wKzSjL4u5BTVQU45Z3JKjmATyKZkX56Yky9SGnRsJPxKIQ';
const BCRYPT = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';

const client: Endpoint = { node: 'n1', pid: 10, comm: 'python3', addr: '127.0.0.1', port: 40000 };
const api: Endpoint = { node: 'n1', pid: 20, comm: 'uwsgi', addr: '127.0.0.1', port: 5000 };
const db: Endpoint = { node: 'n1', pid: 30, comm: 'mariadbd', addr: '127.0.0.1', port: 3306 };
const other: Endpoint = { node: 'n1', pid: 40, comm: 'curl', addr: '127.0.0.1', port: 40001 };

/** A capture written without redaction (as by --no-redact or an old nitrace): secrets in every protocol. */
async function leakyCapture(root: string): Promise<string> {
  const s = new SyntheticCapture();
  const login = s.connect(client, api);
  s.http(login, { t: 1_000_000n, tResp: 2_000_000n, clientTid: 10, serverTid: 21, path: '/v3/auth/tokens', headers: { 'X-Auth-Token': FERNET },
    body: '{"auth": {"password": {"user": {"name": "admin", "password": "labpass"}}}}' });
  const sql = s.connect({ ...api, port: 50000 }, db);
  s.message(sql, true, `\x40\x00\x00\x00\x03UPDATE password SET password_hash = '${BCRYPT}' WHERE id = 3`, 3_000_000n, 3_001_000n, 21, 31);
  s.message(sql, false, '\x3c\x00\x00\x05\x3amysql+pymysql://nova:labpass@127.0.0.1/nova_cell0', 3_002_000n, 3_003_000n, 31, 21);
  const clean = s.connect(other, api);
  s.http(clean, { t: 4_000_000n, tResp: 5_000_000n, clientTid: 40, serverTid: 22, path: '/healthcheck' });
  const [dir] = await s.write(root, ['n1'], [{ node: 'n1', pid: 10, comm: 'python3', cmdline: 'openstack --os-password labpass token issue' }]);
  return dir!;
}

function secretFile(root: string, text: string): string {
  const f = join(root, 'secrets.txt');
  writeFileSync(f, text);
  return f;
}

test('capture-scan: every credential left in a capture, per pattern and per connection; the clean connection is not named', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-scan-'));
  try {
    const dir = await leakyCapture(root);
    const report = await scanCaptures([dir], readSecretFile(secretFile(root, '# lab\nlabpass\n')));
    const seen = new Set(report.findings.map((f) => `${f.pattern} ${f.file} ${f.comm ?? ''} ${f.local ?? ''}`));
    for (const want of [
      'fernet-token events python3 127.0.0.1:40000', 'fernet-token events uwsgi 127.0.0.1:5000',
      'credential-header events python3 127.0.0.1:40000', 'sensitive-json-value events uwsgi 127.0.0.1:5000',
      'listed-secret:2 events python3 127.0.0.1:40000', 'bcrypt-hash events mariadbd 127.0.0.1:3306',
      'url-password events uwsgi 127.0.0.1:50000', 'listed-secret:2 processes python3 ',
    ]) assert.ok(seen.has(want), `${want} in ${[...seen].join('; ')}`);
    assert.ok(!report.findings.some((f) => f.local === '127.0.0.1:40001' || f.remote === '127.0.0.1:40001'), 'the clean connection has no finding');
    assert.equal(report.rowsScanned, 12);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('nitrace capture-scan: exit 1 with a table that never prints the secrets; --json; bad arguments exit 2', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace scan ')); // a path with spaces
  try {
    const dir = await leakyCapture(root);
    const file = secretFile(root, 'labpass\n');
    let r = await nitrace(['capture-scan', dir, '--secret-file', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /fernet-token/);
    assert.match(r.stdout, /listed secret #1/);
    assert.doesNotMatch(r.stdout + r.stderr, /labpass|gAAAAABrCUVm/, 'secrets are never printed');
    r = await nitrace(['capture-scan', dir, '--json', '-q']);
    assert.equal(r.code, 1);
    assert.ok((JSON.parse(r.stdout) as { findings: unknown[] }).findings.length > 0);
    r = await nitrace(['capture-scan', dir, '--secret-file', join(root, 'missing.txt')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.txt: cannot read/);
    r = await nitrace(['capture-scan', dir, '--secret-file', secretFile(root, 'pw\n')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 1: a secret shorter than 4/);
    r = await nitrace(['capture-scan', root + '/nowhere']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a capture directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('capture-scrub: redacts a capture on disk in place (same rows, lengths, schema); capture-scan then finds nothing', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-scrub-'));
  try {
    const dir = await leakyCapture(root);
    const seg = join(dir, 'events', 'seg-000001.parquet');
    const before = await query<[bigint, bigint]>(`SELECT file_row_number, octet_length(payload) FROM read_parquet('${seg}', file_row_number = true) ORDER BY 1`);
    const r = await scrubCapture(dir);
    assert.equal(r.segments.length, 1);
    assert.ok(r.events >= 4, `${r.events} payloads changed`);
    assert.equal(r.processes, 1);
    const after = await query<[bigint, bigint]>(`SELECT file_row_number, octet_length(payload) FROM read_parquet('${seg}', file_row_number = true) ORDER BY 1`);
    assert.deepEqual(after, before, 'same rows in the same order, same payload lengths');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { schema_version: number; scrubbed: { events_changed: number }; segments: { sha256: string }[] };
    assert.equal(m.schema_version, 1);
    assert.equal(m.scrubbed.events_changed, r.events);
    assert.equal(m.segments[0]!.sha256, createHash('sha256').update(readFileSync(seg)).digest('hex'));
    const report = await scanCaptures([dir], readSecretFile(secretFile(root, 'labpass\n')));
    assert.deepEqual(report.findings, []);
    assert.equal((await scrubCapture(dir)).events, 0, 'a second scrub changes nothing');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
