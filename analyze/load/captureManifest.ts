import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NitraceError } from '../../core/errors.js';
import type { Diagnostics } from '../diagnostics.js';

/** Capture schema versions this analysis reads (docs/capture-schema.md): 1 has no gid/parent_gid (read as NULL). */
export const SUPPORTED_CAPTURE_SCHEMA_VERSIONS = [1, 2] as const;

/** The parts of manifest.json the analysis uses. */
export interface CaptureManifest {
  dir: string;
  node: string;
  status: string;
  schemaVersion: number;
  snaplen: number | null;
  segmentFiles: string[];
  processesFile: string | null;
  losses: Record<string, number>;
}

/**
 * Reads and checks one capture directory: a named error for what makes it unusable (no manifest, not JSON, a
 * schema version this nitrace does not know), warnings for what only weakens it (losses, unfinished capture).
 */
export function readCaptureManifest(dir: string, diag: Diagnostics): CaptureManifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new NitraceError('analyze', `${dir}: not a directory (give capture directories written by \`nitrace capture --out DIR\`)`, 2);
  }
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new NitraceError('analyze', `${dir}: no manifest.json: not a nitrace capture directory`, 2);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new NitraceError('analyze', `${file}: not valid JSON (${(e as Error).message})`, 2);
  }
  if (m.format !== 'nitrace-capture') throw new NitraceError('analyze', `${file}: format is ${JSON.stringify(m.format)}, not "nitrace-capture"`, 2);
  const version = m.schema_version;
  if (typeof version !== 'number' || !(SUPPORTED_CAPTURE_SCHEMA_VERSIONS as readonly number[]).includes(version)) {
    throw new NitraceError(
      'analyze',
      `${file}: capture schema version ${JSON.stringify(version)} is not supported (this nitrace reads ${SUPPORTED_CAPTURE_SCHEMA_VERSIONS.join(', ')}); upgrade nitrace`,
      2,
    );
  }
  const node = typeof m.node === 'string' && m.node !== '' ? m.node : dir;
  const status = typeof m.status === 'string' ? m.status : 'unknown';
  if (status === 'running') diag.warn('capture-running', `${dir}: capture still running or killed before it finished; reading the closed segments`);
  if (status === 'failed') diag.warn('capture-failed', `${dir}: capture failed (${String(m.error ?? 'no reason given')}); reading what it wrote`);
  const losses: Record<string, number> = {};
  for (const [k, v] of Object.entries((m.losses as Record<string, unknown>) ?? {})) {
    const n = Number(v);
    losses[k] = n;
    if (n > 0) diag.warn('capture-loss', `${dir}: capture lost events (${k})`, n);
  }
  const eventsDir = join(dir, 'events');
  const segmentFiles = existsSync(eventsDir)
    ? readdirSync(eventsDir)
        .filter((f) => /^seg-\d+\.parquet$/.test(f))
        .sort()
        .map((f) => join(eventsDir, f))
    : [];
  const processes = join(dir, 'processes.parquet');
  const config = (m.config as Record<string, unknown>) ?? {};
  return {
    dir,
    node,
    status,
    schemaVersion: version,
    snaplen: typeof config.snaplen === 'number' ? config.snaplen : null,
    segmentFiles,
    processesFile: existsSync(processes) ? processes : null,
    losses,
  };
}
