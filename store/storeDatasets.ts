import { NitraceError } from '../core/errors.js';
import { version } from '../core/version.js';
import { datasetLiteral } from './clickhouseNode.js';
import { encoderFor, RowBinaryWriter } from './rowBinary.js';
import { ParquetRows } from './parquetRows.js';
import { DATASETS, STORE_TABLES, type StoreTable } from './storeSchema.js';
import { describeSource, type StoreSource, type TableFeed } from './storeSources.js';
import { ensureTables } from './storeTables.js';
import { openTarget, type StoreTarget, type TargetOptions } from './storeTarget.js';

export interface StoreOptions extends TargetOptions {
  /** Capture directories and analysis output directories, each stored as its own dataset. */
  dirs: readonly string[];
  /** Store a dataset again even if it is already there (its old rows are dropped first). */
  replace?: boolean;
  /** Progress and notes, one line each (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface StoredDataset {
  dir: string;
  kind: 'capture' | 'analysis';
  dataset_id: string;
  status: 'stored' | 'already stored' | 'replaced';
  rows: Record<string, number>;
  seconds: number;
}

/**
 * Stores each directory as one dataset: tables created or checked first, then per dataset any rows left by an
 * interrupted earlier run dropped, every table streamed in, the row counts checked on the server, and the
 * `datasets` row written last. A dataset whose `datasets` row exists is skipped (re-running never duplicates);
 * a failure drops what this run wrote of that dataset.
 */
export async function storeDatasets(opts: StoreOptions): Promise<StoredDataset[]> {
  const log = opts.log ?? (() => {});
  const reader = await ParquetRows.open();
  let target: StoreTarget | null = null;
  try {
    // Every input is read and checked before the server is touched: a bad directory stores nothing.
    const sources: StoreSource[] = [];
    for (const dir of opts.dirs) sources.push(await describeSource(dir, reader));
    target = await openTarget(opts);
    await ensureTables(target);
    const where = target.cluster ? `cluster ${target.cluster} (${target.members.length} servers) via ${target.entry.name}` : target.entry.name;
    log(`store: into ${where}, database ${target.database}`);
    const results: StoredDataset[] = [];
    for (const source of sources) results.push(await storeOne(target, reader, source, opts.replace ?? false, log));
    return results;
  } finally {
    reader.close();
    await target?.close();
  }
}

async function storeOne(target: StoreTarget, reader: ParquetRows, source: StoreSource, replace: boolean, log: (l: string) => void): Promise<StoredDataset> {
  const t0 = performance.now();
  const id = source.datasetId;
  for (const n of source.notes) log(`store: note: ${n}`);
  const stored = await countRows(target, DATASETS, id);
  const base = { dir: source.dir, kind: source.kind, dataset_id: id };
  if (stored > 0 && !replace) {
    log(`store: ${source.name} (${source.kind} ${id}) is already stored; skipped (--replace stores it again)`);
    return { ...base, status: 'already stored', rows: {}, seconds: 0 };
  }
  log(`store: ${source.name}: ${source.kind} ${id}`);
  // Rows of an earlier run that died before its `datasets` row (or the old copy, with --replace).
  await dropDataset(target, id);
  const rows: Record<string, number> = {};
  try {
    for (const feed of source.feeds) rows[feed.table.name] = await storeFeed(target, reader, feed, id, log);
    const names = Object.keys(rows);
    const datasetRow = [
      id,
      source.kind,
      source.name,
      source.dir,
      source.captures,
      version,
      Math.floor(Date.now() / 1000),
      names,
      names.map((n) => rows[n]!),
      source.info,
    ];
    await insertRows(target, DATASETS, [datasetRow]);
  } catch (e) {
    log(`store: ${source.name}: failed; removing its partial rows`);
    await dropDataset(target, id).catch(() => {});
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`store: ${source.name}: stored ${Object.entries(rows).map(([t, n]) => `${n} ${t}`).join(', ')} in ${seconds.toFixed(1)} s`);
  return { ...base, status: stored > 0 ? 'replaced' : 'stored', rows, seconds };
}

/** Streams one table's rows and checks the server holds exactly that many for the dataset. */
async function storeFeed(target: StoreTarget, reader: ParquetRows, feed: TableFeed, id: string, log: (l: string) => void): Promise<number> {
  const t = feed.table;
  let sent = 0;
  if (feed.rows) {
    await insertRows(target, t, feed.rows.map((r) => [id, ...r]));
    sent = feed.rows.length;
  } else {
    const total = await reader.count(feed.query);
    const t0 = performance.now();
    let lastLog = t0;
    const onRows = (n: number) => {
      sent += n;
      const now = performance.now();
      if (now - lastLog > 2000) {
        lastLog = now;
        const rate = sent / ((now - t0) / 1000);
        log(`store:   ${t.name} ${sent}/${total} rows (${Math.round((100 * sent) / Math.max(total, 1))}%), ${Math.round(rate)} rows/s`);
      }
    };
    await target.entry.insertRowBinary(
      target.table(t),
      t.columns.map((c) => c.name),
      reader.rowBinary(feed.query, t.columns, [id], onRows),
      target.cluster !== null,
    );
  }
  const onServer = await countRows(target, t, id);
  if (onServer !== sent) {
    throw new NitraceError('store', `${target.entry.name}: ${t.name} holds ${onServer} rows of dataset ${id} after sending ${sent}`, 1);
  }
  return sent;
}

/** Small tables built in JS (datasets, manifests, scores), complete rows including dataset_id. */
async function insertRows(target: StoreTarget, t: StoreTable, rows: readonly (readonly unknown[])[]): Promise<void> {
  const encoders = t.columns.map((c) => encoderFor(c.type, `${t.name}.${c.name}`));
  const w = new RowBinaryWriter();
  for (const row of rows) row.forEach((v, i) => encoders[i]!(w, v));
  const body = w.take();
  await target.entry.insertRowBinary(
    target.table(t),
    t.columns.map((c) => c.name),
    (async function* () {
      yield body;
    })(),
    target.cluster !== null,
  );
}

async function countRows(target: StoreTarget, t: StoreTable, id: string): Promise<number> {
  const [r] = await target.entry.query<{ n: string }>(`SELECT count() AS n FROM ${target.table(t)} WHERE dataset_id = ${datasetLiteral(id)}`);
  return Number(r?.n ?? 0);
}

/** Drops the dataset's partition from every table on every member (a no-op where it has none). */
async function dropDataset(target: StoreTarget, id: string): Promise<void> {
  for (const node of target.members) {
    for (const t of STORE_TABLES) await node.command(`ALTER TABLE ${target.localTable(t)} DROP PARTITION ${datasetLiteral(id)}`);
  }
}
