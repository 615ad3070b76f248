import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { NitraceError } from '../../core/errors.js';
import {
  ARCHIVE_MANIFEST,
  fileEntries,
  findSchemas,
  listFiles,
  parseArchiveManifest,
  schemaProblems,
  type ArchiveManifest,
  type FileEntry,
  type SchemaEntry,
} from './archiveManifest.js';

export interface VerifyResult {
  ok: boolean;
  /** one line per problem: '<file inside the dataset>: <what is wrong>' */
  problems: string[];
  /** what was checked against: the archive's or directory's nitrace-dataset.json, or (an unpacked dataset with no
   * such file) only the capture segments against their capture manifest */
  against: 'nitrace-dataset.json' | 'capture manifests';
  manifest: ArchiveManifest | null;
  files: number;
  bytes: number;
}

/** JSON files whose content the schema check needs; small, so they are kept in memory while hashing. */
const isSchemaFile = (rel: string) => rel === 'card.json' || rel.endsWith('/manifest.json') || rel === 'manifest.json' || rel.endsWith('summary.json');

/**
 * Checks a packed dataset (.tar.gz) or an unpacked one (a directory) against its nitrace-dataset.json: every
 * recorded file present with its size and SHA-256, no file that is not recorded, every schema version the one
 * recorded and one this nitrace reads. A directory without nitrace-dataset.json (e.g. a shipped sample) is checked
 * as far as it describes itself: capture segments against the sizes and SHA-256 in their capture manifest.
 */
export async function verifyDataset(path: string): Promise<VerifyResult> {
  if (!existsSync(path)) throw new NitraceError('dataset', `${path}: no such file or directory`, 2);
  return statSync(path).isDirectory() ? verifyDirectory(path) : verifyArchive(path);
}

async function verifyArchive(file: string): Promise<VerifyResult> {
  const seen = new Map<string, FileEntry>();
  const texts = new Map<string, string>();
  const odd: string[] = [];
  const tops = new Set<string>();
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (e) => {
        const p = e.path.replace(/\/+$/, '');
        tops.add(p.split('/')[0]!);
        if (e.type === 'Directory') return;
        if (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'ContiguousFile') {
          odd.push(`${p}: a ${e.type} entry (a dataset holds regular files only)`);
          return;
        }
        const h = createHash('sha256');
        const keep = isSchemaFile(p.slice(p.indexOf('/') + 1)) || p.endsWith(`/${ARCHIVE_MANIFEST}`);
        const chunks: Buffer[] = [];
        let bytes = 0;
        e.on('data', (c: Buffer) => {
          h.update(c);
          bytes += c.length;
          if (keep) chunks.push(c);
        });
        e.on('end', () => {
          seen.set(p, { path: p, bytes, sha256: h.digest('hex') });
          if (keep) texts.set(p, Buffer.concat(chunks).toString('utf8'));
        });
      },
    });
  } catch (e) {
    throw new NitraceError('dataset', `${file}: not a readable .tar.gz (${(e as Error).message})`, 2);
  }
  const manifestPaths = [...seen.keys()].filter((p) => p.split('/').length === 2 && p.endsWith(`/${ARCHIVE_MANIFEST}`));
  if (manifestPaths.length !== 1 || tops.size !== 1) {
    throw new NitraceError(
      'dataset',
      `${file}: not a packed nitrace dataset (expected one top folder NAME/ holding NAME/${ARCHIVE_MANIFEST}; found ${[...tops].slice(0, 5).join(', ') || 'nothing'})`,
      2,
    );
  }
  const prefix = manifestPaths[0]!.slice(0, -ARCHIVE_MANIFEST.length);
  const manifest = parseArchiveManifest(texts.get(manifestPaths[0]!)!, `${file}:${manifestPaths[0]}`);
  const actual = new Map<string, FileEntry>();
  for (const [p, e] of seen) if (p !== manifestPaths[0]) actual.set(p.slice(prefix.length), { ...e, path: p.slice(prefix.length) });
  const problems = [...odd, ...compare(manifest, actual, (rel) => texts.get(prefix + rel) ?? '')];
  if (manifest.name !== prefix.slice(0, -1)) problems.push(`${ARCHIVE_MANIFEST}: names the dataset ${JSON.stringify(manifest.name)} but its folder is ${prefix}`);
  return result(problems, 'nitrace-dataset.json', manifest, actual);
}

async function verifyDirectory(dir: string): Promise<VerifyResult> {
  const files = listFiles(dir, (rel) => rel === ARCHIVE_MANIFEST);
  const actual = new Map((await fileEntries(dir, files)).map((e) => [e.path, e]));
  const read = (rel: string) => readFileSync(join(dir, ...rel.split('/')), 'utf8');
  if (existsSync(join(dir, ARCHIVE_MANIFEST))) {
    const manifest = parseArchiveManifest(readFileSync(join(dir, ARCHIVE_MANIFEST), 'utf8'), join(dir, ARCHIVE_MANIFEST));
    return result(compare(manifest, actual, read), 'nitrace-dataset.json', manifest, actual);
  }
  // No archive manifest: check what the dataset records about itself.
  const { schemas } = findSchemas(files, read);
  const problems = schemaProblems(schemas);
  for (const s of schemas.filter((x) => x.kind === 'capture')) {
    const capDir = s.file.includes('/') ? s.file.slice(0, s.file.lastIndexOf('/') + 1) : '';
    const segments = (JSON.parse(read(s.file)) as { segments?: { file: string; bytes?: number; sha256?: string }[] }).segments ?? [];
    for (const seg of segments) {
      const rel = capDir + seg.file;
      const got = actual.get(rel);
      if (!got) problems.push(`${rel}: missing (listed in ${s.file})`);
      else if (seg.sha256 && got.sha256 !== seg.sha256) problems.push(`${rel}: changed (SHA-256 ${got.sha256.slice(0, 12)}..., ${s.file} records ${seg.sha256.slice(0, 12)}...)`);
      else if (seg.bytes !== undefined && got.bytes !== seg.bytes) problems.push(`${rel}: changed (${got.bytes} bytes, ${s.file} records ${seg.bytes})`);
    }
  }
  return result(problems, 'capture manifests', null, actual);
}

/** Recorded vs actual files and schema versions; one line per difference, in file order. */
function compare(m: ArchiveManifest, actual: ReadonlyMap<string, FileEntry>, read: (rel: string) => string): string[] {
  const problems: string[] = [];
  const recorded = new Map(m.files.map((f) => [f.path, f]));
  for (const f of m.files) {
    const a = actual.get(f.path);
    if (!a) problems.push(`${f.path}: missing (recorded: ${f.bytes} bytes)`);
    else if (a.bytes !== f.bytes) problems.push(`${f.path}: changed (${a.bytes} bytes, recorded ${f.bytes})`);
    else if (a.sha256 !== f.sha256) problems.push(`${f.path}: changed (same size, SHA-256 ${a.sha256.slice(0, 12)}... recorded ${f.sha256.slice(0, 12)}...)`);
  }
  for (const p of actual.keys()) if (!recorded.has(p)) problems.push(`${p}: extra file (not in ${ARCHIVE_MANIFEST})`);
  // Schema versions: as recorded, as the files say now, and readable by this nitrace.
  const present = [...actual.keys()].filter((p) => recorded.has(p));
  let now: SchemaEntry[] = [];
  try {
    now = findSchemas(present, read).schemas;
  } catch (e) {
    problems.push((e as Error).message);
  }
  const key = (s: SchemaEntry) => `${s.file}|${s.kind}`;
  const nowByKey = new Map(now.map((s) => [key(s), s]));
  for (const s of m.schemas) {
    const n = nowByKey.get(key(s));
    if (n && n.version !== s.version) problems.push(`${s.file}: ${s.kind} schema version ${JSON.stringify(n.version)}, recorded ${JSON.stringify(s.version)}`);
  }
  problems.push(...schemaProblems(m.schemas));
  return [...new Set(problems)];
}

function result(problems: string[], against: VerifyResult['against'], manifest: ArchiveManifest | null, actual: ReadonlyMap<string, FileEntry>): VerifyResult {
  let bytes = 0;
  for (const e of actual.values()) bytes += e.bytes;
  return { ok: problems.length === 0, problems, against, manifest, files: actual.size, bytes };
}
