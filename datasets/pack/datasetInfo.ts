import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as tar from 'tar';
import { NitraceError } from '../../core/errors.js';
import { ARCHIVE_MANIFEST, findSchemas, listFiles, parseArchiveManifest, type FileEntry, type SchemaEntry, type SecretScanRecord } from './archiveManifest.js';

/** What `nitrace dataset info` shows: the card and the archive manifest's description, without the data. */
export interface DatasetInfo {
  name: string;
  source: 'archive' | 'directory';
  packed_by: string | null;
  card: Record<string, unknown> | null;
  schemas: SchemaEntry[];
  redaction: Record<string, boolean | null>;
  secret_scan: SecretScanRecord | null;
  files: number;
  total_bytes: number;
  /** bytes per top-level folder (or file) of the dataset */
  bytes_by_part: Record<string, number>;
}

/** Reads only nitrace-dataset.json from an archive (no data is hashed), or describes a directory as it is. */
export async function datasetInfo(path: string): Promise<DatasetInfo> {
  if (!existsSync(path)) throw new NitraceError('dataset', `${path}: no such file or directory`, 2);
  if (statSync(path).isDirectory()) return directoryInfo(path);
  let text: string | null = null;
  let where = '';
  try {
    await tar.t({
      file: path,
      strict: true,
      filter: (p) => p.split('/').length === 2 && p.endsWith(`/${ARCHIVE_MANIFEST}`),
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        where = e.path;
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => (text = Buffer.concat(chunks).toString('utf8')));
      },
    });
  } catch (e) {
    throw new NitraceError('dataset', `${path}: not a readable .tar.gz (${(e as Error).message})`, 2);
  }
  if (text === null) throw new NitraceError('dataset', `${path}: not a packed nitrace dataset (no NAME/${ARCHIVE_MANIFEST})`, 2);
  const m = parseArchiveManifest(text, `${path}:${where}`);
  return {
    name: m.name,
    source: 'archive',
    packed_by: m.packed_by?.nitrace_version ?? null,
    card: m.card,
    schemas: m.schemas,
    redaction: m.redaction ?? {},
    secret_scan: m.secret_scan ?? null,
    files: m.files.length,
    total_bytes: m.total_bytes,
    bytes_by_part: byPart(m.files),
  };
}

function directoryInfo(dir: string): DatasetInfo {
  if (existsSync(join(dir, ARCHIVE_MANIFEST))) {
    const m = parseArchiveManifest(readFileSync(join(dir, ARCHIVE_MANIFEST), 'utf8'), join(dir, ARCHIVE_MANIFEST));
    return { name: m.name, source: 'directory', packed_by: m.packed_by?.nitrace_version ?? null, card: m.card, schemas: m.schemas, redaction: m.redaction ?? {}, secret_scan: m.secret_scan ?? null, files: m.files.length, total_bytes: m.total_bytes, bytes_by_part: byPart(m.files) };
  }
  const files = listFiles(dir);
  const entries: FileEntry[] = files.map((f) => ({ path: f, bytes: statSync(join(dir, ...f.split('/'))).size, sha256: '' }));
  const read = (rel: string) => readFileSync(join(dir, ...rel.split('/')), 'utf8');
  const { schemas, redaction } = findSchemas(files, read);
  const card = existsSync(join(dir, 'card.json')) ? (JSON.parse(read('card.json')) as Record<string, unknown>) : null;
  return {
    name: basename(resolve(dir)),
    source: 'directory',
    packed_by: null,
    card,
    schemas,
    redaction,
    secret_scan: null,
    files: files.length,
    total_bytes: entries.reduce((s, e) => s + e.bytes, 0),
    bytes_by_part: byPart(entries),
  };
}

function byPart(files: readonly FileEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of files) {
    const top = f.path.split('/')[0]!;
    out[top] = (out[top] ?? 0) + f.bytes;
  }
  return out;
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

/** The text `nitrace dataset info` prints. */
export function renderInfo(i: DatasetInfo): string {
  const c = (i.card ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const w = (c.workload ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const rec = (c.recorded_with ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const lines = [`dataset ${i.name} (${i.source}${i.packed_by ? `, packed by nitrace ${i.packed_by}` : ''})`];
  if (!i.card) lines.push('  no card.json: what ran, versions and licence are unknown');
  else {
    lines.push(`  created ${c.created ?? '?'}, licence ${c.license ?? 'not stated'}`);
    if (w.tool) {
      const cmd = w.regex ? `${w.tool} --regex '${w.regex}' --concurrency ${w.concurrency}` : String(w.tool);
      lines.push(`  what ran: ${cmd} (${w.seconds ?? '?'} s, exit ${w.exit_code ?? '?'})`);
    }
    if (c.machine) lines.push(`  machine: ${c.machine.node}, kernel ${c.machine.kernel}, ${c.machine.cpus} CPUs`);
    if (rec.script || rec.nitrace_version) {
      lines.push(`  recorded with: ${rec.script ?? '?'}, nitrace ${rec.nitrace_version ?? '?'}${rec.capture_command ? `: ${rec.capture_command}` : ''}`);
    }
    if (c.versions) lines.push(`  versions: ${Object.entries(c.versions as Record<string, string>).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  lines.push(`  schemas: ${i.schemas.map((s) => `${s.kind} ${s.version} (${s.file})`).join(', ') || 'none found'}`);
  const red = Object.entries(i.redaction);
  if (red.length) lines.push(`  redaction: ${red.map(([d, r]) => `${d} ${r === true ? 'on' : r === false ? 'OFF (--no-redact)' : 'unknown'}`).join(', ')}`);
  if (i.secret_scan) lines.push(`  secret scan: ${i.secret_scan.status}${i.secret_scan.tool ? ` (${i.secret_scan.tool}, ${i.secret_scan.findings} findings)` : ''}`);
  const parts = Object.entries(i.bytes_by_part).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${mb(v)}`);
  lines.push(`  files: ${i.files}, ${mb(i.total_bytes)} (${parts.join(', ')})`);
  return lines.join('\n') + '\n';
}
