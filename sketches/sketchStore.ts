import { renameSync, rmSync } from 'node:fs';
import { sqlString, type Engine } from '../analyze/engine/engine.js';
import { decodeSketch, sketchParams, type AnySketch } from './decodeSketch.js';
import { SketchError } from './sketchError.js';

/**
 * Sketches at rest: one Parquet row per sketch, so sketches made per node and per time window can be shipped,
 * concatenated and merged later. Columns:
 *
 * | column    | type    | meaning |
 * |-----------|---------|---------|
 * | kind      | VARCHAR | ddsketch, hyperloglog, spacesaving, countmin, traceshapes |
 * | params    | VARCHAR | the sketch's parameters as JSON ({"alpha":0.01}, {"p":12}, ...) |
 * | query_set | VARCHAR | what was sketched (e.g. 'latency by service, operation') |
 * | key       | VARCHAR | the group within the query set (e.g. 'keystone GET /v3/users/{id}'), '' for one sketch |
 * | part      | VARCHAR | where it was built: 'all', or 'node=... pid=... window=...' |
 * | blob      | BLOB    | the sketch's binary form (envelope.ts: magic, kind, payload, CRC-32) |
 */
export interface StoredSketch {
  kind: string;
  params: Record<string, number>;
  query_set: string;
  key: string;
  part: string;
  blob: Uint8Array;
}

const COLUMNS = 'kind VARCHAR, params VARCHAR, query_set VARCHAR, key VARCHAR, part VARCHAR, blob BLOB';

/** Writes the rows to `file` (zstd Parquet) through a temporary file, so a failure leaves no half-written file. */
export async function writeSketches(engine: Engine, file: string, rows: readonly StoredSketch[]): Promise<void> {
  const table = `sketch_rows_${process.pid}_${Date.now()}`;
  await engine.exec(`CREATE TEMP TABLE ${table} (${COLUMNS})`);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await engine.insertRows(
      table,
      rows.map((r) => [r.kind, JSON.stringify(r.params), r.query_set, r.key, r.part, r.blob]),
    );
    await engine.writeParquet(`SELECT * FROM ${table}`, tmp);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
    await engine.exec(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** Reads every row of `file` and decodes its blob; the kind and params columns must agree with the blob. */
export async function readSketches(engine: Engine, file: string): Promise<(StoredSketch & { sketch: AnySketch })[]> {
  let rows: { kind: string; params: string; query_set: string; key: string; part: string; blob: Uint8Array }[];
  try {
    rows = await engine.query(`SELECT kind, params, query_set, key, part, blob FROM read_parquet(${sqlString(file)})`);
  } catch (e) {
    throw new SketchError(`${file}: not a sketch file (${(e as Error).message.split('\n')[0]})`);
  }
  return rows.map((r, i) => {
    const where = `${file} row ${i} (${r.query_set} / ${r.key} / ${r.part})`;
    let sketch: AnySketch;
    try {
      sketch = decodeSketch(r.blob);
    } catch (e) {
      throw new SketchError(`${where}: ${(e as Error).message}`);
    }
    if (sketch.kind !== r.kind) throw new SketchError(`${where}: kind column says ${r.kind}, blob holds a ${sketch.kind}`);
    const params = sketchParams(sketch);
    if (JSON.stringify(params) !== r.params) throw new SketchError(`${where}: params column ${r.params} disagrees with the blob's ${JSON.stringify(params)}`);
    return { kind: r.kind, params, query_set: r.query_set, key: r.key, part: r.part, blob: r.blob, sketch };
  });
}
