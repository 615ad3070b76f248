// Runs every compiled test (dist/**/*.test.js) with node's test runner, one file at a time: capture tests load
// probes into the one kernel and must not overlap. `node scripts/run-tests.mjs PATTERN` runs matching files only.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const pattern = process.argv[2];
const files = find('dist').filter((f) => !pattern || f.includes(pattern)).sort();
if (files.length === 0) {
  console.error('run-tests: no test files under dist/ (did the build run?)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
