import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Dataset ids: 32 hex digits derived from content, so the same capture or analysis gets the same id wherever it
 * is stored from (another path, another lab) and storing it twice is recognised.
 *
 * A capture is named by its node, start time and segments (name, rows, sha256 from the manifest: what the
 * capture wrote and fsync'd), so `capture-recover` rewriting the manifest's status does not make it another
 * capture. A segment on disk that the manifest does not list (a capture killed between renaming the segment and
 * rewriting the manifest) is hashed from its bytes.
 */
export async function captureDatasetId(manifest: Record<string, unknown>, segmentFiles: readonly string[]): Promise<string> {
  const listed = new Map<string, { rows: unknown; sha256: unknown }>();
  for (const s of (manifest.segments as { file?: string; rows?: unknown; sha256?: unknown }[] | undefined) ?? []) {
    if (typeof s.file === 'string') listed.set(basename(s.file), { rows: s.rows, sha256: s.sha256 });
  }
  const parts = ['nitrace-capture', String(manifest.node ?? ''), String(manifest.started_at ?? '')];
  for (const f of segmentFiles) {
    const l = listed.get(basename(f));
    parts.push(`${basename(f)} ${l && typeof l.sha256 === 'string' ? `${String(l.rows)} ${l.sha256}` : `sha256 ${await fileSha256(f)}`}`);
  }
  return digest(parts);
}

/** An analysis is named by its outputs' bytes (spans, edges): re-analysing with another nitrace is another dataset. */
export async function analysisDatasetId(spansFile: string, edgesFile: string | null): Promise<string> {
  const parts = ['nitrace-analysis', await fileSha256(spansFile)];
  if (edgesFile && existsSync(edgesFile)) parts.push(await fileSha256(edgesFile));
  return digest(parts);
}

function digest(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

export function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
