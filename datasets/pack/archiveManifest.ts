/**
 * nitrace-dataset.json: the first file of a packed dataset (docs/datasets.md). It makes the archive
 * self-describing: the card (what ran, versions, licence, how it was recorded), the schema version of every
 * versioned part, whether payloads were redacted, the secret scan, and the size and SHA-256 of every other file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { SUPPORTED_CAPTURE_SCHEMA_VERSIONS } from '../../analyze/load/captureManifest.js';
import { NitraceError } from '../../core/errors.js';
import { version as nitraceVersion } from '../../core/version.js';

export const ARCHIVE_MANIFEST = 'nitrace-dataset.json';
export const ARCHIVE_FORMAT = 'nitrace-dataset-archive';
/** Version of nitrace-dataset.json itself. */
export const ARCHIVE_VERSION = 1;
/** Versions of card.json (format "nitrace-dataset") this nitrace reads. */
export const SUPPORTED_CARD_VERSIONS = [1] as const;
/** Analysis output schema versions (summary.json analysis_schema_version) this nitrace reads. */
export const SUPPORTED_ANALYSIS_SCHEMA_VERSIONS = [1, 2] as const;

export interface FileEntry {
  /** path inside the dataset, '/'-separated */
  path: string;
  bytes: number;
  sha256: string;
}

/** One versioned part of a dataset: which file declares it, which kind, which version. */
export interface SchemaEntry {
  file: string;
  kind: 'card' | 'capture' | 'analysis';
  version: number | null;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  archive_version: number;
  /** the dataset's folder name inside the archive */
  name: string;
  packed_by: { nitrace_version: string };
  /** card.json as it is in the dataset */
  card: Record<string, unknown>;
  schemas: SchemaEntry[];
  /** capture directories (relative) -> was payload redaction on when they were recorded */
  redaction: Record<string, boolean | null>;
  secret_scan: SecretScanRecord;
  files: FileEntry[];
  /** sum of `bytes` */
  total_bytes: number;
}

export interface SecretScanRecord {
  /** 'clean' (scanned, nothing found), 'forced' (findings packed anyway with --force), 'not-available' */
  status: 'clean' | 'forced' | 'not-available';
  tool: string | null;
  findings: number;
}

/** Every regular file under `dir`, as sorted '/'-separated relative paths. Symlinks and specials are refused. */
export function listFiles(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a);
      if (st.isDirectory()) walk(a, r);
      else if (st.isFile()) {
        if (!skip(r)) out.push(r);
      } else throw new NitraceError('dataset', `${a}: not a regular file or directory (symlinks and special files cannot be packed)`, 2);
    }
  };
  walk(dir, '');
  return out.sort();
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function fileEntries(dir: string, files: readonly string[]): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const f of files) out.push({ path: f, bytes: lstatSync(join(dir, ...f.split('/'))).size, sha256: await sha256File(join(dir, ...f.split('/'))) });
  return out;
}

function parseJson(text: string, file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw new NitraceError('dataset', `${file}: not valid JSON (${(e as Error).message})`, 2);
  }
  throw new NitraceError('dataset', `${file}: expected a JSON object`, 2);
}

/**
 * The versioned parts among the dataset's JSON files: card.json, every capture manifest.json (format
 * "nitrace-capture") and every analysis summary.json. `read` returns a file's text (from disk or from the archive).
 */
export function findSchemas(files: readonly string[], read: (rel: string) => string): { schemas: SchemaEntry[]; redaction: Record<string, boolean | null> } {
  const schemas: SchemaEntry[] = [];
  const redaction: Record<string, boolean | null> = {};
  for (const f of files) {
    const base = posix.basename(f);
    if (f === 'card.json') {
      const c = parseJson(read(f), f);
      schemas.push({ file: f, kind: 'card', version: typeof c.version === 'number' ? c.version : null });
    } else if (base === 'manifest.json') {
      const m = parseJson(read(f), f);
      if (m.format !== 'nitrace-capture') continue;
      schemas.push({ file: f, kind: 'capture', version: typeof m.schema_version === 'number' ? m.schema_version : null });
      const redact = (m.config as { redact?: unknown } | undefined)?.redact;
      redaction[posix.dirname(f)] = typeof redact === 'boolean' ? redact : null;
    } else if (base === 'summary.json') {
      const s = parseJson(read(f), f);
      if (!('analysis_schema_version' in s)) continue;
      schemas.push({ file: f, kind: 'analysis', version: typeof s.analysis_schema_version === 'number' ? s.analysis_schema_version : null });
    }
  }
  return { schemas, redaction };
}

const SUPPORTED: Record<SchemaEntry['kind'], readonly number[]> = {
  card: SUPPORTED_CARD_VERSIONS,
  capture: SUPPORTED_CAPTURE_SCHEMA_VERSIONS,
  analysis: SUPPORTED_ANALYSIS_SCHEMA_VERSIONS,
};

/** One line per versioned part this nitrace cannot read. */
export function schemaProblems(schemas: readonly SchemaEntry[]): string[] {
  return schemas
    .filter((s) => s.version === null || !SUPPORTED[s.kind].includes(s.version))
    .map(
      (s) =>
        `${s.file}: ${s.kind} schema version ${JSON.stringify(s.version)} is not one this nitrace (${nitraceVersion}) reads (${SUPPORTED[s.kind].join(', ')})`,
    );
}

/** Card fields a shareable dataset must have, so another lab knows what it is and whether it may use it. */
export const REQUIRED_CARD_FIELDS = ['format', 'version', 'name', 'created', 'license', 'workload', 'versions', 'recorded_with'] as const;

export function readCard(dir: string): Record<string, unknown> {
  const file = join(dir, 'card.json');
  if (!existsSync(file)) {
    throw new NitraceError('dataset', `${file} missing: a shareable dataset needs a card (datasets/openstack/files/write_card.py writes one; docs/datasets.md)`, 2);
  }
  const card = parseJson(readFileSync(file, 'utf8'), file);
  const missing = REQUIRED_CARD_FIELDS.filter((k) => card[k] === undefined || card[k] === null || card[k] === '');
  if (missing.length) throw new NitraceError('dataset', `${file}: card lacks ${missing.join(', ')} (docs/datasets.md lists the card fields)`, 2);
  if (card.format !== 'nitrace-dataset') throw new NitraceError('dataset', `${file}: format is ${JSON.stringify(card.format)}, not "nitrace-dataset"`, 2);
  return card;
}

/** Checks the parts of nitrace-dataset.json every reader relies on; throws a NitraceError naming the field. */
export function checkArchiveManifest(m: Record<string, unknown>, where: string): ArchiveManifest {
  if (m.format !== ARCHIVE_FORMAT) throw new NitraceError('dataset', `${where}: format is ${JSON.stringify(m.format)}, not "${ARCHIVE_FORMAT}"`, 2);
  if (m.archive_version !== ARCHIVE_VERSION) {
    throw new NitraceError('dataset', `${where}: archive version ${JSON.stringify(m.archive_version)} is not supported (this nitrace reads ${ARCHIVE_VERSION}); upgrade nitrace`, 2);
  }
  if (!Array.isArray(m.files) || !Array.isArray(m.schemas) || typeof m.name !== 'string') {
    throw new NitraceError('dataset', `${where}: files, schemas or name missing`, 2);
  }
  return m as unknown as ArchiveManifest;
}

export function parseArchiveManifest(text: string, where: string): ArchiveManifest {
  return checkArchiveManifest(parseJson(text, where), where);
}
