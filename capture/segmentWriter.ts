import { createHash } from 'node:crypto';
import { renameSync, rmSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, INTEGER, LIST, listValue, type DuckDBConnection } from '@duckdb/node-api';
import { writeParquet, writePlainParquet, type PlainColumn } from './plainParquet.js';
import { eventColumns } from './eventColumns.js';
import { readSpool } from './spoolColumns.js';
import { zstdCodec } from './segmentCodec.js';
import { ScratchMemory } from './scratchMemory.js';
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

/** Rows per row group and per page of an events segment (DuckDB wrote 122 880-row groups). */
const SEGMENT_ROW_GROUP_ROWS = 131072;
const SEGMENT_PAGE_ROWS = 16384;

/**
 * Writes closed segments so that `kill -9` (or a crash) at any moment leaves only whole files under their final
 * names: the segment (zstd Parquet, already redacted) is written to `*.parquet.tmp` in this process, fsync'd and
 * renamed to `*.parquet`, then the directory is fsync'd. `nitrace capture-recover` removes `*.tmp` files (their rows
 * count as lost).
 * Spools (`*.spool.parquet`: uncompressed) are what nitrace wrote before session 5, in two steps; `convert` turns
 * one an older capture left into its segment (capture/recover.ts), read back and written like any segment.
 */
export class SegmentWriter {
  /**
   * Memory of the segments' columns and pages, reused from one segment to the next (capture/scratchMemory.ts); the
   * pipeline also lends it to SegmentBuilder.columns for a segment's sorted copy (segments are written one at a time).
   */
  readonly scratch = new ScratchMemory();

  private constructor(
    private readonly con: DuckDBConnection,
    private readonly node: string,
    private readonly monoToRealtime: bigint,
    private readonly schemaVersion: number,
    private readonly codec: Awaited<ReturnType<typeof zstdCodec>>,
  ) {}

  /** Which zstd compresses the pages ('native', or 'wasm' where the native binary does not load): for benchmarks. */
  get zstdEngine(): 'native' | 'wasm' {
    return this.codec.engine;
  }

  /** `schemaVersion`: of the capture the segments belong to (recovery of an older capture passes its version). */
  static async open(node: string, monoToRealtime: bigint, schemaVersion = CAPTURE_SCHEMA_VERSION): Promise<SegmentWriter> {
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    return new SegmentWriter(await db.connect(), node, monoToRealtime, schemaVersion, await zstdCodec());
  }

  /**
   * A closed segment -> its zstd Parquet file at `finalPath` (relative name `file` goes in the manifest), written
   * here without a spool or DuckDB: `columns` are the builder's spool columns in mono_ns order
   * (SegmentBuilder.columns), mapped to the events schema by eventColumns. The sha256 is taken from the bytes as
   * they are written, not by reading the file back. Whole and durable under its name, or not there at all.
   */
  async write(finalPath: string, file: string, columns: PlainColumn[], stats: SegmentStats): Promise<SegmentInfo> {
    const tmp = `${finalPath}.tmp`;
    try {
      const hash = createHash('sha256');
      const bytes = await writeParquet(tmp, eventColumns(columns, stats.rows, this.node, this.monoToRealtime, this.schemaVersion, this.scratch), stats.rows, {
        rowGroupRows: SEGMENT_ROW_GROUP_ROWS,
        pageRows: SEGMENT_PAGE_ROWS,
        codec: this.codec,
        scratch: this.scratch,
        createdBy: 'nitrace',
        onBytes: (b) => hash.update(b),
      }); // fsync'd
      renameSync(tmp, finalPath);
      fsyncDir(dirname(finalPath));
      return { file, rows: stats.rows, bytes, sha256: hash.digest('hex'), first_mono_ns: stats.first_mono_ns, last_mono_ns: stats.last_mono_ns };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** A spool file as nitrace wrote them before session 5 (tests of capture-recover make them): whole or not there. */
  static async writeSpool(spoolPath: string, columns: PlainColumn[], rows: number): Promise<void> {
    const tmp = `${spoolPath}.tmp`;
    try {
      await writePlainParquet(tmp, columns, rows); // fsync'd
      renameSync(tmp, spoolPath);
      fsyncDir(dirname(spoolPath));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * A spool -> its zstd segment at `finalPath` (capture-recover of a capture an older nitrace left): the spool read
   * back as the builder's columns in mono_ns order (capture/spoolColumns.ts), then written as the capture writes a
   * segment. The spool is removed after.
   */
  async convert(spoolPath: string, finalPath: string, file: string): Promise<SegmentInfo> {
    const { columns, stats } = await readSpool(this.con, spoolPath);
    const info = await this.write(finalPath, file, columns, stats);
    rmSync(spoolPath, { force: true });
    return info;
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
