/**
 * `node dist/datasets/truth/importTruth.js DATASET` -- turns DATASET/truth/raw/<base_id>.json(.gz) (exports of
 * `osprofiler trace show --json`) and the optional DATASET/truth/tests.json ({base_id: {test_id, status}}, written
 * by datasets/openstack/record-tempest.sh) into DATASET/truth/{spans,edges,tests}.parquet. Prints counts as JSON.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importRawDir, writeTruth, type TruthTest } from './truthStore.js';

export async function importTruthDataset(dataset: string): Promise<Record<string, unknown>> {
  const truthDir = join(dataset, 'truth');
  const { points, edges, errors } = importRawDir(join(truthDir, 'raw'));
  const testsFile = join(truthDir, 'tests.json');
  const tests: TruthTest[] = [];
  if (existsSync(testsFile)) {
    const map = JSON.parse(readFileSync(testsFile, 'utf8')) as Record<string, { test_id: string; status?: string }>;
    for (const [baseId, t] of Object.entries(map)) tests.push({ base_id: baseId, test_id: t.test_id, status: t.status ?? null });
  }
  await writeTruth(truthDir, { points, edges, tests });
  const byName: Record<string, number> = {};
  for (const p of points) byName[p.name] = (byName[p.name] ?? 0) + 1;
  return { traces: new Set(points.map((p) => p.base_id)).size, points: points.length, edges: edges.length, by_name: byName, tests: tests.length, errors };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dataset = process.argv[2];
  if (!dataset) {
    console.error('usage: node dist/datasets/truth/importTruth.js DATASET');
    process.exit(2);
  }
  importTruthDataset(dataset).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => {
      console.error(`truth: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
