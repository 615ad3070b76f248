/**
 * How a spool became its segment until session 6: DuckDB's COPY of the spool through this SQL (capture-recover and,
 * until session 5, every segment of a capture). Kept as the oracle the in-process mapping is checked against
 * (capture/eventColumns.test.ts: same columns, types, nullability and rows) and as the old way of
 * bench/segmentWriteBench.ts. capture-recover now reads the spool back (capture/spoolColumns.ts) and writes it
 * through capture/eventColumns.ts like the capture.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { KIND_NAMES, DIRECTION_NAMES, SYSCALL_NAMES } from '../capture/eventLayout.js';

function caseSql(column: string, names: Record<number, string | null>): string {
  const arms = Object.entries(names)
    .filter(([, name]) => name !== null)
    .map(([code, name]) => `WHEN ${Number(code)} THEN '${name}'`)
    .join(' ');
  return `CASE ${column} ${arms} END`;
}

/**
 * Spool columns (capture/segmentBuilder.ts) -> the events schema of docs/capture-schema.md. `schemaVersion` 1 (a
 * capture started by an older nitrace) has no gid/parent_gid.
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

/** DuckDB's zstd segment of `spool` at `out` (row groups of 122 880 rows, as DuckDB writes them), through `con`. */
export async function duckdbConvert(con: DuckDBConnection, spool: string, out: string, node: string, monoToRealtime: bigint, schemaVersion: number, sorted: boolean): Promise<void> {
  await con.run(`COPY (${segmentSelect(spool, node, monoToRealtime, schemaVersion, sorted)}) TO '${out.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
}
