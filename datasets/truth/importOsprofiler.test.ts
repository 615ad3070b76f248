import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { importOsprofilerReport, parseOsprofilerTimestamp } from './importOsprofiler.js';
import { importRawDir, readTruth, writeTruth } from './truthStore.js';

const FIXTURES = fileURLToPath(new URL('../../../datasets/truth/fixtures/', import.meta.url));
const imageList = () => JSON.parse(readFileSync(join(FIXTURES, 'osprofiler-tempest-image-list.json'), 'utf8'));
const serverCreate = () => JSON.parse(gunzipSync(readFileSync(join(FIXTURES, 'osprofiler-nova-server-create.json.gz'))).toString('utf8'));

test('timestamps: OSProfiler UTC µs strings become exact ns', () => {
  assert.equal(parseOsprofilerTimestamp('2026-11-27T06:09:16.241850'), 1795759756241850000n);
  assert.equal(parseOsprofilerTimestamp('2026-11-27T06:09:16'), 1795759756000000000n);
  assert.equal(parseOsprofilerTimestamp('2026-11-27T06:09:16.5Z'), 1795759756500000000n);
  assert.throws(() => parseOsprofilerTimestamp('27/11/2026 06:09'), /bad OSProfiler timestamp/);
});

test('image list trace (real, lab): 4 wsgi + 11 db points, 12 edges, tree as in the .tree.txt', () => {
  const { points, edges } = importOsprofilerReport(imageList());
  assert.equal(points.length, 15);
  assert.equal(points.filter((p) => p.name === 'wsgi').length, 4);
  assert.equal(points.filter((p) => p.name === 'db').length, 11);
  assert.equal(edges.length, 12); // every point but the 3 Tempest called directly
  const base = '81a7e1ec-1c01-41ed-8921-5fc61c62d434';
  assert.ok(points.every((p) => p.base_id === base));
  const first = points[0]!;
  assert.deepEqual(
    [first.project, first.service, first.method, first.path, first.parent_id, first.depth],
    ['keystone', 'public', 'GET', '/v3', base, 1],
  );
  assert.equal(first.started_ns, parseOsprofilerTimestamp('2026-11-27T06:09:16.241850'));
  assert.equal(first.finished_ns, parseOsprofilerTimestamp('2026-11-27T06:09:16.243588'));
  // glance's token validation is a keystone wsgi point under glance's GET /v2/images (cross-service edge)
  const glance = points.find((p) => p.project === 'glance' && p.name === 'wsgi')!;
  const validation = points.find((p) => p.path === '/v3/auth/tokens' && p.method === 'GET')!;
  assert.equal(validation.parent_id, glance.trace_id);
  assert.equal(validation.depth, 2);
  const e = edges.find((x) => x.child_id === validation.trace_id)!;
  assert.deepEqual([e.parent_service, e.child_service], ['glance/api', 'keystone/public']);
  const sql = points.filter((p) => p.parent_id === validation.trace_id);
  assert.equal(sql.length, 6);
  assert.ok(sql.every((p) => p.name === 'db' && p.statement !== null));
  assert.match(sql[1]!.statement!, /^SELECT revocation_event\.id/);
});

test('server create trace (real, lab): every point type, RPC across nova services', () => {
  const { points, edges } = importOsprofilerReport(serverCreate());
  const count = (n: string) => points.filter((p) => p.name === n).length;
  assert.deepEqual([count('wsgi'), count('db'), count('rpc'), count('neutron_api')], [29, 161, 19, 28]);
  assert.equal(edges.length, points.length - points.filter((p) => p.depth === 1).length);
  const schedule = points.find((p) => p.function?.endsWith('ComputeTaskManager.schedule_and_build_instances'))!;
  assert.equal(schedule.service, 'nova-conductor');
  const parent = points.find((p) => p.trace_id === schedule.parent_id)!;
  assert.deepEqual([parent.service, parent.method, parent.path], ['osapi_compute', 'POST', '/v2.1/servers']);
  assert.ok(points.every((p) => p.finished_ns === null || p.finished_ns >= p.started_ns));
  assert.ok(points.every((p) => (p.statement ?? '').length <= 512));
});

test('rejects what is not a report, names the broken point', () => {
  assert.throws(() => importOsprofilerReport({ info: {} }), /not an OSProfiler report/);
  assert.throws(() => importOsprofilerReport({ children: [{ trace_id: 'x', parent_id: 'y', info: {} }] }), /no info.name/);
});

test('raw dir -> Parquet -> read back is lossless; a broken file is reported, not fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-truth-'));
  try {
    mkdirSync(join(dir, 'raw'));
    copyFileSync(join(FIXTURES, 'osprofiler-tempest-image-list.json'), join(dir, 'raw', '81a7e1ec-1c01-41ed-8921-5fc61c62d434.json'));
    copyFileSync(join(FIXTURES, 'osprofiler-nova-server-create.json.gz'), join(dir, 'raw', 'server-create.json.gz'));
    const broken = join(dir, 'raw', 'broken.json');
    await import('node:fs').then((fs) => fs.writeFileSync(broken, '{"children": [{}]}'));
    const { points, edges, errors } = importRawDir(join(dir, 'raw'));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^broken\.json: /);
    assert.equal(points.length, 15 + 237);
    await writeTruth(dir, { points, edges, tests: [{ base_id: points[0]!.base_id, test_id: 't.x', status: 'success' }] });
    const back = await readTruth(dir);
    assert.equal(back.points.length, points.length);
    assert.equal(back.edges.length, edges.length);
    assert.equal(back.tests.length, 1);
    const key = (p: { trace_id: string }) => p.trace_id;
    const orig = new Map(points.map((p) => [key(p), p]));
    for (const p of back.points) assert.deepEqual(p, orig.get(p.trace_id));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
