/**
 * nitrace dataset pack / verify / info: round trip on the shipped sample, and every kind of tampering verify must
 * catch (changed, missing, extra file, wrong schema version), in an unpacked directory and in a re-tarred archive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tar from 'tar';
import { NitraceError } from '../../core/errors.js';
import { packageRoot } from '../../core/version.js';
import { datasetInfo, renderInfo } from './datasetInfo.js';
import { packDataset } from './packDataset.js';
import { verifyDataset } from './verifyDataset.js';

const SAMPLE = join(packageRoot, 'datasets', 'samples', 'tempest-compute-servers');
const CLI = join(packageRoot, 'bin', 'nitrace.js');

/** A small dataset made of the sample's card and first capture segment (fast to pack and tamper with). */
function tinyDataset(root: string, edit: (manifest: Record<string, any>, card: Record<string, any>) => void = () => {}): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const dir = join(root, 'tiny set');
  mkdirSync(join(dir, 'capture', 'events'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(SAMPLE, 'capture', 'manifest.json'), 'utf8'));
  manifest.segments = manifest.segments.slice(0, 1);
  const card = JSON.parse(readFileSync(join(SAMPLE, 'card.json'), 'utf8'));
  edit(manifest, card);
  writeFileSync(join(dir, 'capture', 'manifest.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'card.json'), JSON.stringify(card, null, 2));
  copyFileSync(join(SAMPLE, 'CARD.md'), join(dir, 'CARD.md'));
  copyFileSync(join(SAMPLE, 'capture', 'events', 'seg-000001.parquet'), join(dir, 'capture', 'events', 'seg-000001.parquet'));
  return dir;
}

async function unpack(archive: string, into: string): Promise<string> {
  mkdirSync(into, { recursive: true });
  await tar.x({ file: archive, cwd: into });
  return into;
}

/** Re-tars an unpacked (and maybe tampered) dataset as-is, old nitrace-dataset.json included. */
async function retar(parent: string, name: string, file: string): Promise<string> {
  await tar.c({ gzip: true, file, cwd: parent }, [name]);
  return file;
}

test('dataset pack: sample round trip: verifies packed and unpacked, info without unpacking, same bytes twice', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-pack-'));
  try {
    const a = await packDataset({ dir: SAMPLE, out: join(root, 'a.tar.gz') });
    const b = await packDataset({ dir: SAMPLE, out: join(root, 'b.tar.gz') });
    assert.deepEqual(readFileSync(a.file), readFileSync(b.file), 'packing the same dataset twice gave different archives');
    const v = await verifyDataset(a.file);
    assert.deepEqual(v.problems, []);
    assert.equal(v.against, 'nitrace-dataset.json');
    assert.equal(v.files, a.manifest.files.length);
    assert.ok(a.manifest.files.some((f) => f.path === 'capture/events/seg-000001.parquet' && f.sha256.length === 64));
    assert.deepEqual(
      a.manifest.schemas.map((s) => `${s.kind}:${s.version}:${s.file}`),
      ['capture:1:capture/manifest.json', 'card:1:card.json'],
    );
    assert.deepEqual(a.manifest.redaction, { capture: true });
    const info = await datasetInfo(a.file);
    assert.equal(info.name, 'tempest-compute-servers');
    assert.equal(info.card?.license, 'CC-BY-4.0');
    const text = renderInfo(info);
    for (const want of ['licence CC-BY-4.0', 'tempest run', 'capture 1 (capture/manifest.json)', 'redaction: capture on']) assert.ok(text.includes(want), `info lacks '${want}':\n${text}`);
    const unpacked = await unpack(a.file, join(root, 'x'));
    assert.deepEqual((await verifyDataset(join(unpacked, 'tempest-compute-servers'))).problems, []);
    // The shipped sample itself (no nitrace-dataset.json): its capture segments match their manifest.
    const self = await verifyDataset(SAMPLE);
    assert.equal(self.against, 'capture manifests');
    assert.deepEqual(self.problems, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('dataset verify: a changed, missing or extra file and a wrong schema version are each named (directory and archive)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-pack-'));
  try {
    const { file } = await packDataset({ dir: tinyDataset(root), out: join(root, 'tiny.tar.gz') });
    const cases: [string, (d: string) => void, RegExp[]][] = [
      ['changed', (d) => appendFileSync(join(d, 'CARD.md'), 'x'), [/^CARD\.md: changed \(\d+ bytes, recorded \d+\)$/]],
      [
        'same size',
        (d) => {
          const p = join(d, 'capture', 'events', 'seg-000001.parquet');
          const buf = readFileSync(p);
          buf[100] = buf[100]! ^ 0xff;
          writeFileSync(p, buf);
        },
        [/^capture\/events\/seg-000001\.parquet: changed \(same size, SHA-256/],
      ],
      ['missing', (d) => unlinkSync(join(d, 'CARD.md')), [/^CARD\.md: missing/]],
      ['extra', (d) => writeFileSync(join(d, 'notes.txt'), 'hi'), [/^notes\.txt: extra file/]],
      [
        'schema',
        (d) => {
          const p = join(d, 'capture', 'manifest.json');
          writeFileSync(p, readFileSync(p, 'utf8').replace('"schema_version": 1', '"schema_version": 3'));
        },
        [/^capture\/manifest\.json: changed/, /^capture\/manifest\.json: capture schema version 3, recorded 1$/],
      ],
    ];
    for (const [name, tamper, want] of cases) {
      const parent = await unpack(file, join(root, name));
      const dir = join(parent, 'tiny set');
      tamper(dir);
      for (const target of [dir, await retar(parent, 'tiny set', join(root, `${name}.tar.gz`))]) {
        const r = await verifyDataset(target);
        assert.equal(r.ok, false, `${name}: ${target} verified`);
        for (const re of want) assert.ok(r.problems.some((p) => re.test(p)), `${name}: no problem matches ${re} in ${JSON.stringify(r.problems)}`);
        assert.equal(r.problems.length, want.length, `${name}: ${JSON.stringify(r.problems)}`);
      }
    }
    // The CLI: exit 2, the file and what is wrong on stderr.
    const r = spawnSync(process.execPath, [CLI, 'dataset', 'verify', join(root, 'missing.tar.gz')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing\.tar\.gz: 1 problem:\n {2}CARD\.md: missing/);
    const ok = spawnSync(process.execPath, [CLI, 'dataset', 'verify', file], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    // Not an archive at all, or a tar without nitrace-dataset.json.
    writeFileSync(join(root, 'junk.tar.gz'), 'not gzip');
    await assert.rejects(verifyDataset(join(root, 'junk.tar.gz')), (e: NitraceError) => e.exitCode === 2 && /not a readable \.tar\.gz/.test(e.message));
    await tar.c({ gzip: true, file: join(root, 'plain.tar.gz'), cwd: join(root, 'changed') }, ['tiny set/CARD.md']);
    await assert.rejects(verifyDataset(join(root, 'plain.tar.gz')), /not a packed nitrace dataset/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('dataset pack: refuses --no-redact captures unless forced, unreadable schema versions, and cards without licence', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-pack-'));
  try {
    const raw = tinyDataset(join(root, 'raw'), (m) => (m.config.redact = false));
    await assert.rejects(packDataset({ dir: raw, out: join(root, 'raw.tar.gz') }), (e: NitraceError) => e.exitCode === 2 && /capture recorded with --no-redact/.test(e.message));
    const forced = await packDataset({ dir: raw, out: join(root, 'raw.tar.gz'), force: true });
    assert.deepEqual(forced.manifest.redaction, { capture: false });
    assert.match(renderInfo(await datasetInfo(forced.file)), /redaction: capture OFF/);

    const v9 = tinyDataset(join(root, 'v9'), (m) => (m.schema_version = 9));
    await assert.rejects(packDataset({ dir: v9, out: join(root, 'v9.tar.gz') }), /capture\/manifest\.json: capture schema version 9 is not one this nitrace/);

    const nolicence = tinyDataset(join(root, 'nolicence'), (_m, c) => delete c.license);
    await assert.rejects(packDataset({ dir: nolicence, out: join(root, 'n.tar.gz') }), /card lacks license/);
    for (const f of ['v9.tar.gz', 'n.tar.gz', 'n.tar.gz.tmp']) assert.throws(() => readFileSync(join(root, f)), 'a refused pack left a file');

    // a place the archive cannot be written (here: under a file; EACCES for a user) is a clear error, not a stack
    // (it was "internal error: EACCES ... lstat x.tar.gz.tmp": removing the temporary file hid the first error)
    writeFileSync(join(root, 'a-file'), '');
    await assert.rejects(
      packDataset({ dir: tinyDataset(join(root, 'ok')), out: join(root, 'a-file', 'x.tar.gz') }),
      (e: NitraceError) => e instanceof NitraceError && /a-file\/x\.tar\.gz: cannot write the archive \(E[A-Z]+/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
