import { createHash } from 'node:crypto';
import { createReadStream, renameSync, rmSync, statSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { DuckDBInstance, INTEGER, LIST, listValue, type DuckDBConnection } from '@duckdb/node-api';
import { KIND_NAMES, DIRECTION_NAMES, SYSCALL_NAMES } from './eventLayout.js';
import { writePlainParquet, type PlainColumn } from './plainParquet.js';
import type { ProcessInfo } from './processTable.js';

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

/** Spool columns (capture/segmentBuilder.ts) -> the events schema of docs/capture-schema.md. */
function segmentSelect(spool: string, node: string, monoToRealtime: bigint): string {
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
      octet_length(payload) < bytes AS payload_truncated,
      CASE WHEN gid <> 0 THEN gid::UBIGINT END AS gid,
      CASE WHEN parent_gid <> 0 THEN parent_gid::UBIGINT END AS parent_gid
    FROM read_parquet('${spool}')
    ORDER BY mono_ns`;
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

/**
 * Writes closed segments: the spool (uncompressed PLAIN Parquet, already redacted) is written and fsync'd
 * first, then DuckDB re-encodes it as zstd Parquet into `*.parquet.tmp`, which is fsync'd and renamed. A crash
 * leaves either a complete segment or a spool that `nitrace capture-recover` converts.
 */
export class SegmentWriter {
  private constructor(
    private readonly con: DuckDBConnection,
    private readonly node: string,
    private readonly monoToRealtime: bigint,
  ) {}

  static async open(node: string, monoToRealtime: bigint): Promise<SegmentWriter> {
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    return new SegmentWriter(await db.connect(), node, monoToRealtime);
  }

  /** Step 1 of a segment: the spool file, durable on disk. */
  static async writeSpool(spoolPath: string, columns: PlainColumn[], rows: number): Promise<void> {
    await writePlainParquet(spoolPath, columns, rows);
  }

  /** Step 2: spool -> final zstd segment at `finalPath` (relative name `file` goes in the manifest). */
  async convert(spoolPath: string, finalPath: string, file: string): Promise<SegmentInfo> {
    const tmp = `${finalPath}.tmp`;
    try {
      await this.con.run(
        `COPY (${segmentSelect(spoolPath, this.node, this.monoToRealtime)}) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
      );
      fsyncPath(tmp);
      const reader = await this.con.runAndReadAll(
        `SELECT count(*)::BIGINT, min(mono_ns)::VARCHAR, max(mono_ns)::VARCHAR FROM read_parquet('${tmp}')`,
      );
      const [rows, first, last] = reader.getRows()[0] as [bigint, string | null, string | null];
      renameSync(tmp, finalPath);
      rmSync(spoolPath, { force: true });
      return {
        file,
        rows: Number(rows),
        bytes: statSync(finalPath).size,
        sha256: await sha256(finalPath),
        first_mono_ns: first ?? '0',
        last_mono_ns: last ?? '0',
      };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
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
