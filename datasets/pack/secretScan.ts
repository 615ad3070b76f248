/**
 * The secret scan `nitrace dataset pack` runs before it packs anything: `nitrace capture-scan`'s library
 * (capture/scan/scanCaptures.ts) over every capture directory of the dataset, credential shapes only (a dataset
 * carries no list of its lab's secrets; `nitrace capture-scan --secret-file` checks those).
 */
import { join, relative } from 'node:path';
import { scanCaptures } from '../../capture/scan/scanCaptures.js';

export interface SecretFinding {
  /** file inside the dataset, '/'-separated */
  file: string;
  /** what was found (e.g. 'password', 'x-auth-token'); never the secret itself */
  kind: string;
  count: number;
}

export interface SecretScanResult {
  tool: string;
  findings: SecretFinding[];
}

const FILE_OF = { events: 'events', processes: 'processes.parquet', manifest: 'manifest.json' } as const;

/** Scans the dataset's capture directories (relative to `datasetDir`) for credentials that reached disk. */
export async function scanForSecrets(datasetDir: string, captureDirs: readonly string[]): Promise<SecretScanResult | null> {
  const report = await scanCaptures(captureDirs.map((c) => join(datasetDir, c)), []);
  const counts = new Map<string, SecretFinding>();
  for (const f of report.findings) {
    const file = relative(datasetDir, join(f.capture, FILE_OF[f.file])).split('\\').join('/');
    const key = `${file}\0${f.pattern}`;
    const known = counts.get(key);
    if (known) known.count += f.rows;
    else counts.set(key, { file, kind: f.pattern, count: f.rows });
  }
  return { tool: 'nitrace capture-scan', findings: [...counts.values()] };
}
