import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { CountMin } from './countMin.js';
import { LatencySketch } from './ddsketch.js';
import { decodeSketch, mergeSketches } from './decodeSketch.js';
import { HyperLogLog } from './hyperloglog.js';
import { readSketches, writeSketches, type StoredSketch } from './sketchStore.js';
import { SpaceSaving } from './spaceSaving.js';
import { TraceShapeSketch } from './traceShapes.js';

test('every kind round-trips through Parquet; parts read back merge into the whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace sketches '));
  const engine = await DuckDbEngine.open();
  try {
    const rows: StoredSketch[] = [];
    const whole = new HyperLogLog({ p: 8 });
    for (let part = 0; part < 3; part++) {
      const h = new HyperLogLog({ p: 8 });
      for (let i = 0; i < 500; i++) {
        h.add(`t${part * 300 + i}`);
        whole.add(`t${part * 300 + i}`);
      }
      rows.push({ kind: 'hyperloglog', params: { p: 8 }, query_set: 'distinct traces', key: '', part: `window=${part}`, blob: h.encode() });
    }
    const dd = new LatencySketch({ alpha: 0.02 });
    dd.add(1234);
    const ss = new SpaceSaving({ capacity: 4 });
    ss.add('GET /');
    const cm = new CountMin({ width: 16, depth: 2, seed: 3 });
    cm.add('a');
    const ts = new TraceShapeSketch({ capacity: 4, alpha: 0.01 });
    ts.add('0123456789abcdef', 'server api GET /', 99);
    for (const [kind, s] of [['ddsketch', dd], ['spacesaving', ss], ['countmin', cm], ['traceshapes', ts]] as const) {
      rows.push({ kind, params: { ...s.params }, query_set: kind, key: "k'ey", part: 'all', blob: s.encode() });
    }
    const file = join(dir, 'sketches.parquet');
    await writeSketches(engine, file, rows);
    assert.deepEqual(readdirSync(dir), ['sketches.parquet'], 'no temporary file left');
    const back = await readSketches(engine, file);
    assert.deepEqual(back.map((r) => [r.kind, r.params, r.key, r.part, r.blob.length]), rows.map((r) => [r.kind, r.params, r.key, r.part, r.blob.length]));
    const merged = back[0]!.sketch;
    mergeSketches(merged, back[1]!.sketch);
    mergeSketches(merged, back[2]!.sketch);
    assert.equal(merged.kind === 'hyperloglog' && merged.sketch.estimate(), whole.estimate());
    assert.throws(() => mergeSketches(back[3]!.sketch, back[4]!.sketch), /cannot merge a ddsketch sketch with a spacesaving sketch/);
    assert.equal(decodeSketch(rows[6]!.blob).kind, 'traceshapes');
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged blob or a lying kind/params column is named by file and row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-sketches-'));
  const engine = await DuckDbEngine.open();
  try {
    const h = new HyperLogLog({ p: 5 });
    const blob = h.encode();
    const damaged = blob.slice();
    damaged[11]! ^= 4;
    const file = join(dir, 's.parquet');
    await writeSketches(engine, file, [{ kind: 'hyperloglog', params: { p: 5 }, query_set: 'q', key: 'k', part: 'all', blob: damaged }]);
    await assert.rejects(readSketches(engine, file), /s\.parquet row 0 \(q \/ k \/ all\): corrupt hyperloglog blob: CRC-32 mismatch/);
    await writeSketches(engine, file, [{ kind: 'countmin', params: { p: 5 }, query_set: 'q', key: 'k', part: 'all', blob }]);
    await assert.rejects(readSketches(engine, file), /kind column says countmin, blob holds a hyperloglog/);
    await writeSketches(engine, file, [{ kind: 'hyperloglog', params: { p: 6 }, query_set: 'q', key: 'k', part: 'all', blob }]);
    await assert.rejects(readSketches(engine, file), /params column \{"p":6\} disagrees with the blob's \{"p":5\}/);
    await assert.rejects(readSketches(engine, join(dir, 'missing.parquet')), /not a sketch file/);
    assert.ok(!existsSync(join(dir, 'missing.parquet')));
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
