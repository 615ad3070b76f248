import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as tar from 'tar';
import { NitraceError } from '../../core/errors.js';
import { version as nitraceVersion } from '../../core/version.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_MANIFEST,
  ARCHIVE_VERSION,
  fileEntries,
  findSchemas,
  listFiles,
  readCard,
  schemaProblems,
  type ArchiveManifest,
  type SecretScanRecord,
} from './archiveManifest.js';
import { scanForSecrets } from './secretScan.js';
import { verifyDataset } from './verifyDataset.js';

export interface PackOptions {
  dir: string;
  /** the .tar.gz to write */
  out: string;
  /** pack even a dataset recorded with --no-redact or with secret-scan findings */
  force?: boolean;
  /** progress and warnings (stderr in the CLI) */
  log?: (line: string) => void;
}

/**
 * Packs a dataset directory into one gzip'd tar: `NAME/nitrace-dataset.json` first (card, schema versions,
 * redaction, secret scan, per-file size and SHA-256), then every file of the dataset under `NAME/`, in sorted
 * order, with a fixed mtime (the card's `created`) and no owner: the same dataset packs to the same bytes.
 * Refuses a dataset recorded with --no-redact, or one the secret scan flags, unless `force`. Writes to a
 * temporary name, verifies the result, then renames: a failed pack leaves no archive behind.
 */
export async function packDataset(opts: PackOptions): Promise<{ file: string; manifest: ArchiveManifest }> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new NitraceError('dataset', `${opts.dir}: not a directory`, 2);
  const out = resolve(opts.out);
  if (!/\.(tar\.gz|tgz)$/.test(out)) throw new NitraceError('dataset', `${opts.out}: the archive name must end in .tar.gz or .tgz`, 2);
  const name = basename(dir);
  const card = readCard(dir);
  const outRel = relative(dir, out).split('\\').join('/');
  // An unpacked archive holds an old nitrace-dataset.json: it is written anew, never packed as data.
  const files = listFiles(dir, (rel) => rel === ARCHIVE_MANIFEST || rel === outRel || rel === `${outRel}.tmp`);
  const { schemas, redaction } = findSchemas(files, (rel) => readFileSync(join(dir, rel), 'utf8'));
  const bad = schemaProblems(schemas);
  if (bad.length) throw new NitraceError('dataset', `${dir}: cannot pack:\n  ${bad.join('\n  ')}`, 2);
  const unredacted = Object.entries(redaction).filter(([, r]) => r === false).map(([d]) => d);
  if (unredacted.length && !opts.force) {
    throw new NitraceError(
      'dataset',
      `${dir}: ${unredacted.join(', ')} recorded with --no-redact: payloads may hold passwords and tokens. ` +
        'Check them (nitrace capture-scan), then pack with --force if they are safe to share.',
      2,
    );
  }
  const secret_scan = await scan(dir, Object.keys(redaction), opts.force ?? false, log);
  log(`hashing ${files.length} files`);
  const entries = await fileEntries(dir, files);
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    archive_version: ARCHIVE_VERSION,
    name,
    packed_by: { nitrace_version: nitraceVersion },
    card,
    schemas,
    redaction,
    secret_scan,
    files: entries,
    total_bytes: entries.reduce((s, e) => s + e.bytes, 0),
  };
  // Staging: NAME/ holds the new nitrace-dataset.json and one link per top-level entry of the dataset, so tar
  // reads the data in place (no copy) and every path in the archive starts with NAME/.
  const stage = mkdtempSync(join(tmpdir(), 'nitrace-pack-'));
  const tmp = `${out}.tmp`;
  try {
    mkdirSync(join(stage, name));
    writeFileSync(join(stage, name, ARCHIVE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    for (const top of readdirSync(dir)) if (top !== ARCHIVE_MANIFEST) symlinkSync(join(dir, top), join(stage, name, top));
    const created = Date.parse(String(card.created));
    log(`writing ${opts.out}`);
    try {
      mkdirSync(dirname(out), { recursive: true });
      await tar.c(
        {
          gzip: { level: 9 },
          file: tmp,
          cwd: stage,
          portable: true,
          follow: true,
          noDirRecurse: true,
          mtime: new Date(Number.isFinite(created) ? created : 0),
        },
        [`${name}/${ARCHIVE_MANIFEST}`, ...files.map((f) => `${name}/${f}`)],
      );
    } catch (e) {
      // an output place we may not write (EACCES, ENOSPC, ...) is the user's to fix, not a bug: no stack
      throw new NitraceError('dataset', `${opts.out}: cannot write the archive (${(e as Error).message})`);
    }
    const check = await verifyDataset(tmp);
    if (!check.ok) throw new NitraceError('dataset', `the archive just written does not verify (was the dataset changed while packing?):\n  ${check.problems.join('\n  ')}`);
    renameSync(tmp, out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
    // never hides the error that got us here (removing the temporary file of an unwritable place fails too)
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written there */
    }
  }
  return { file: out, manifest };
}

async function scan(dir: string, captureDirs: string[], force: boolean, log: (l: string) => void): Promise<SecretScanRecord> {
  const r = await scanForSecrets(dir, captureDirs);
  if (r === null) {
    log('warning: no secret scanner in this nitrace yet (nitrace capture-scan); packed without a scan, recorded as "not-available"');
    return { status: 'not-available', tool: null, findings: 0 };
  }
  const n = r.findings.reduce((s, f) => s + f.count, 0);
  if (n > 0 && !force) {
    const list = r.findings.map((f) => `${f.file}: ${f.count} x ${f.kind}`).join('\n  ');
    throw new NitraceError('dataset', `${dir}: ${r.tool} found ${n} possible secrets:\n  ${list}\nRedact them, or pack with --force if they are not secrets.`, 2);
  }
  return { status: n > 0 ? 'forced' : 'clean', tool: r.tool, findings: n };
}
