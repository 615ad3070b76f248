/**
 * No credential in any dataset the repository ships (issue 13): every capture under datasets/ is scanned by
 * `nitrace capture-scan`'s library for credential shapes and for the lab's known secrets (the defaults of
 * datasets/openstack/lib.sh, read from there so they cannot drift).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { scanCaptures, renderScanReport } from '../capture/scan/scanCaptures.js';
import { readSecretFile } from '../capture/scan/secretList.js';

function captureDirs(dir: string, out: string[] = []): string[] {
  if (existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, 'events'))) {
    out.push(dir);
    return out;
  }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) captureDirs(p, out);
  }
  return out;
}

/** PASS and PROFILER_KEY defaults of the lab (`PASS=${LAB_PASS:-labpass}`). */
function labSecrets(): string[] {
  const lib = readFileSync(join(packageRoot, 'datasets', 'openstack', 'lib.sh'), 'utf8');
  const secrets = [...lib.matchAll(/^(?:PASS|PROFILER_KEY)=\$\{[A-Z_]+:-([^}]+)\}/gm)].map((m) => m[1]!);
  assert.equal(secrets.length, 2, 'datasets/openstack/lib.sh: PASS and PROFILER_KEY defaults not found');
  return secrets;
}

test('every capture under datasets/ is free of credentials (shapes and the lab secrets)', { timeout: 900_000 }, async () => {
  const dirs = captureDirs(join(packageRoot, 'datasets'));
  assert.ok(dirs.length >= 2, 'the shipped samples are found');
  const tmp = mkdtempSync(join(tmpdir(), 'nitrace-secrets-'));
  try {
    writeFileSync(join(tmp, 'secrets.txt'), labSecrets().join('\n') + '\n');
    const report = await scanCaptures(dirs, readSecretFile(join(tmp, 'secrets.txt')));
    assert.ok(report.rowsScanned > 0);
    assert.deepEqual(report.findings, [], renderScanReport(report, 'the lab secrets'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
