import { createHash } from 'node:crypto';
import { createReadStream, renameSync, rmSync, statSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, INTEGER, LIST, listValue, type DuckDBConnection } from '@duckdb/node-api';
import { KIND_NAMES, DIRECTION_NAMES, SYSCALL_NAMES } from './eventLayout.js';
import { writePlainParquet, type PlainColumn } from './plainParquet.js';
import type { ProcessInfo } from './processTable.js';
import { CAPTURE_SCHEMA_VERSION } from './manifest.js';

/** What the builder knows of a segment it filled (so the segment need not be read back). */
export interface SegmentStats {
  rows: number;
  first_mono_ns: string;
  last_mono_ns: string;
  /** Rows of the spool are already in mono_ns order (the builder writes them so): the conversion need not sort. */
  sorted?: boolean;
}

/** What the manifest records of one closed segment. */
export interface SegmentInfo {
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
  first_mono_ns: string;
  last_mono_ns: string;
}

function caseSql(column: string, names: Record<number, string | null>): string {
  const arms = Object.entries(names)
    .filter(([, name]) => name !== null)
    .map(([code, name]) => `WHEN ${Number(code)} THEN '${name}'`)
    .join(' ');
  return `CASE ${column} ${arms} END`;
}

/**
 * Spool columns (capture/segmentBuilder.ts) -> the events schema of docs/capture-schema.md. `schemaVersion` 1 (a
 * capture started by an older nitrace, being recovered) has no gid/parent_gid.
 */
function segmentSelect(spool: string, node: string, monoToRealtime: bigint, schemaVersion: number, sorted: boolean): string {
  const hasTuple = 'family IN (2, 10)';
  return `SELECT
      mono_ns + ${monoToRealtime} AS ts_ns,
      mono_ns,
      '${node.replaceAll("'", "''")}' AS node,
      pid, tid, comm, fd,
      ${caseSql('kind', KIND_NAMES)} AS event,
      ${caseSql('syscall', SYSCALL_NAMES)} AS syscall,
      ${caseSql('direction', DIRECTION_NAMES)} AS direction,
      CASE WHEN conn_id <> 0 THEN conn_id::UBIGINT END AS conn_id,
      CASE family WHEN 2 THEN 'ipv4' WHEN 10 THEN 'ipv6' END AS family,
      CASE WHEN ${hasTuple} THEN local_addr END AS local_addr,
      CASE WHEN ${hasTuple} THEN local_port END AS local_port,
      CASE WHEN ${hasTuple} THEN remote_addr END AS remote_addr,
      CASE WHEN ${hasTuple} THEN remote_port END AS remote_port,
      CASE WHEN ${hasTuple} THEN netns::UBIGINT END AS netns,
      CASE WHEN kind IN (1, 5) THEN tcp_seq::UBIGINT END AS tcp_seq,
      bytes,
      payload,
      octet_length(payload) < bytes AS payload_truncated${schemaVersion >= 2 ? `,
      CASE WHEN gid <> 0 THEN gid::UBIGINT END AS gid,
      CASE WHEN parent_gid <> 0 THEN parent_gid::UBIGINT END AS parent_gid` : ''}
    FROM read_parquet('${spool}')${sorted ? '' : `
    ORDER BY mono_ns`}`;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A rename is durable once its directory is fsync'd (power loss; kill -9 alone cannot undo a rename). */
export function fsyncDir(dir: string): void {
  fsyncPath(dir);
}

/** A converted spool kept to be written over by the next one (a `*.tmp` name: capture-recover removes it). */
export function spareSpool(dir: string): string {
  return join(dir, 'spare.spool.parquet.tmp');
}

/**
 * Writes closed segments in two durable steps, each ending with a rename, so that `kill -9` (or a crash) at any
 * moment leaves only whole files under their final names:
 * 1. the spool (uncompressed PLAIN Parquet, already redacted) is written to `*.spool.parquet.tmp`, fsync'd and
 *    renamed to `*.spool.parquet`;
 * 2. DuckDB re-encodes the spool as zstd Parquet into `*.parquet.tmp`, fsync'd and renamed to `*.parquet`; then
 *    the spool is removed.
 * `nitrace capture-recover` removes `*.tmp` files (their rows count as lost), converts spools whose segment is
 * missing, and drops spools whose segment exists (capture/recover.ts).
 */
export class SegmentWriter {
  private constructor(
    private readonly con: DuckDBConnection,
    private readonly node: string,
    private readonly monoToRealtime: bigint,
    private readonly schemaVersion: number,
  ) {}

  /** `schemaVersion`: of the capture the segments belong to (recovery of an older capture passes its version). */
  static async open(node: string, monoToRealtime: bigint, schemaVersion = CAPTURE_SCHEMA_VERSION): Promise<SegmentWriter> {
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    return new SegmentWriter(await db.connect(), node, monoToRealtime, schemaVersion);
  }

  /**
   * Step 1 of a segment: the spool file, whole and durable on disk under its name, or not there at all.
   * A converted spool kept as the spare (convert's `keepSpare`) is written over in place instead of a new file:
   * a new 64 MiB spool took fresh blocks and page-cache pages (35-590 ms of CPU per 64 MiB in a dev A/B on the lab
   * VM, load ~12) where overwriting took 10-22 ms. The spare is named `*.tmp` (capture-recover removes it) and holds
   * only what a segment on disk already holds, redacted.
   */
  static async writeSpool(spoolPath: string, columns: PlainColumn[], rows: number): Promise<void> {
    const tmp = `${spoolPath}.tmp`;
    try {
      let overwrite = true;
      try {
        renameSync(spareSpool(dirname(spoolPath)), tmp);
      } catch {
        overwrite = false; // no spare (the first segment, or a capture-recover)
      }
      await writePlainParquet(tmp, columns, rows, overwrite); // fsync'd
      renameSync(tmp, spoolPath);
      fsyncDir(dirname(spoolPath));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Step 2: spool -> final zstd segment at `finalPath` (relative name `file` goes in the manifest). `stats` from the
   * builder spare reading the segment back and, with `sorted`, the sort; without them (recovery: the spool may come
   * from an older nitrace, which did not sort) DuckDB sorts and counts the rows. `keepSpare`: the converted spool
   * becomes the spare the next writeSpool in its folder writes over (removeSpare deletes it at the end).
   */
  async convert(spoolPath: string, finalPath: string, file: string, stats?: SegmentStats, keepSpare = false): Promise<SegmentInfo> {
    const tmp = `${finalPath}.tmp`;
    try {
      await this.con.run(
        `COPY (${segmentSelect(spoolPath, this.node, this.monoToRealtime, this.schemaVersion, stats?.sorted === true)}) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
      );
      fsyncPath(tmp);
      let known = stats;
      if (!known) {
        const reader = await this.con.runAndReadAll(`SELECT count(*)::BIGINT, min(mono_ns)::VARCHAR, max(mono_ns)::VARCHAR FROM read_parquet('${tmp}')`);
        const [rows, first, last] = reader.getRows()[0] as [bigint, string | null, string | null];
        known = { rows: Number(rows), first_mono_ns: first ?? '0', last_mono_ns: last ?? '0' };
      }
      renameSync(tmp, finalPath);
      fsyncDir(dirname(finalPath));
      if (keepSpare) renameSync(spoolPath, spareSpool(dirname(spoolPath)));
      else rmSync(spoolPath, { force: true });
      return { file, rows: known.rows, bytes: statSync(finalPath).size, sha256: await sha256(finalPath), first_mono_ns: known.first_mono_ns, last_mono_ns: known.last_mono_ns };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** The spare spool of folder `dir` is removed (a capture's end). */
  static removeSpare(dir: string): void {
    try {
      rmSync(spareSpool(dir), { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e; // no events/ folder: nothing was spooled
    }
  }

  /** processes.parquet, rewritten whole (temp file + rename) each time. */
  async writeProcesses(path: string, processes: ProcessInfo[]): Promise<void> {
    await this.con.run(`CREATE OR REPLACE TEMP TABLE processes (node VARCHAR, pid INTEGER, ppid INTEGER, comm VARCHAR,
      exe VARCHAR, cmdline VARCHAR, start_time_ns BIGINT, listen_ports INTEGER[], first_seen_ns BIGINT)`);
    const app = await this.con.createAppender('processes');
    for (const p of processes) {
      app.appendVarchar(this.node);
      app.appendInteger(p.pid);
      if (p.ppid === null) app.appendNull(); else app.appendInteger(p.ppid);
      for (const v of [p.comm, p.exe, p.cmdline]) if (v === null) app.appendNull(); else app.appendVarchar(v);
      if (p.start_time_ns === null) app.appendNull(); else app.appendBigInt(p.start_time_ns);
      app.appendList(listValue(p.listen_ports), LIST(INTEGER));
      app.appendBigInt(p.first_seen_ns);
      app.endRow();
    }
    app.closeSync();
    const tmp = `${path}.tmp`;
    await this.con.run(`COPY (SELECT * FROM processes ORDER BY pid) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd)`);
    fsyncPath(tmp);
    renameSync(tmp, path);
  }

  close(): void {
    this.con.closeSync();
  }
}
