import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { UsageError } from '../../core/errors.js';
import { MANIFEST_FILE } from '../manifest.js';
import { CREDENTIAL_SHAPES } from './credentialShapes.js';
import type { ListedSecret } from './secretList.js';

/** Rows of one capture that still hold one pattern, on one connection. */
export interface Finding {
  capture: string;
  /** A credential shape's name (capture/scan/credentialShapes.ts) or `listed-secret:<line>`. */
  pattern: string;
  /** `events`, `processes` (command lines) or `manifest` (the recorded command). */
  file: 'events' | 'processes' | 'manifest';
  node: string | null;
  conn_id: string | null;
  pid: number | null;
  comm: string | null;
  local: string | null;
  remote: string | null;
  rows: number;
  first_ts_ns: string | null;
}

export interface ScanReport {
  captures: string[];
  rowsScanned: number;
  findings: Finding[];
}

/** A capture directory, or a dataset directory holding one in capture/. */
export function resolveCaptureDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(join(abs, MANIFEST_FILE))) return abs;
  if (existsSync(join(abs, 'capture', MANIFEST_FILE))) return join(abs, 'capture');
  throw new UsageError('capture-scan', `${dir}: not a capture directory (no ${MANIFEST_FILE}, nor capture/${MANIFEST_FILE})`);
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * One SQL condition per pattern, evaluated on `t` (the payload or command line as text): the credential shapes
 * and every listed secret (any of its spellings).
 */
function patternArms(secrets: ListedSecret[]): string {
  const arms = CREDENTIAL_SHAPES.map((s) => `CASE WHEN regexp_matches(t, ${sqlString(s.regex)}) THEN ${sqlString(s.name)} END`);
  for (const s of secrets) {
    const cond = s.spellings.map((x) => `contains(t, ${sqlString(x)})`).join(' OR ');
    arms.push(`CASE WHEN ${cond} THEN ${sqlString(`listed-secret:${s.line}`)} END`);
  }
  return `list_filter([${arms.join(', ')}], x -> x IS NOT NULL)`;
}

/**
 * Scans captures for rows that still hold a credential-shaped value or a listed secret: every events file
 * (segments and spools), the command lines in processes.parquet, and manifest.json. DuckDB does the work
 * (one pass per capture, the payload read as text).
 */
export async function scanCaptures(dirs: string[], secrets: ListedSecret[], progress: (line: string) => void = () => {}): Promise<ScanReport> {
  const captures = dirs.map(resolveCaptureDir);
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await db.connect();
  const report: ScanReport = { captures, rowsScanned: 0, findings: [] };
  try {
    for (const dir of captures) {
      const t0 = Date.now();
      const rows = await scanEvents(con, dir, secrets, report);
      await scanProcesses(con, dir, secrets, report);
      scanManifest(dir, secrets, report);
      progress(`nitrace capture-scan: ${dir}: ${rows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    con.closeSync();
  }
  return report;
}

async function scanEvents(con: DuckDBConnection, dir: string, secrets: ListedSecret[], report: ScanReport): Promise<number> {
  const events = join(dir, 'events');
  const files = existsSync(events) ? readdirSync(events).filter((f) => f.endsWith('.parquet')).sort() : [];
  if (files.length === 0) return 0;
  const list = `[${files.map((f) => sqlString(join(events, f))).join(', ')}]`;
  const reader = await con.runAndReadAll(`
    WITH ev AS (
      SELECT node, conn_id, pid, comm, local_addr, local_port, remote_addr, remote_port, ts_ns, decode(payload, 'replace') AS t
      FROM read_parquet(${list}, union_by_name = true) WHERE octet_length(payload) > 0
    ), hits AS (
      SELECT *, unnest(${patternArms(secrets)}) AS pattern FROM ev
    )
    SELECT pattern, node, conn_id::VARCHAR, min(pid), min(comm), local_addr || ':' || local_port, remote_addr || ':' || remote_port,
      count(*)::BIGINT, min(ts_ns)::VARCHAR, (SELECT count(*) FROM ev)::BIGINT
    FROM hits GROUP BY ALL ORDER BY pattern, 8 DESC`);
  const rows = reader.getRows();
  const [[scanned]] = (await con.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${list}, union_by_name = true)`)).getRows() as [[bigint]];
  report.rowsScanned += Number(scanned);
  for (const r of rows) {
    const [pattern, node, conn, pid, comm, local, remote, n, first] = r as [string, string, string | null, number, string, string | null, string | null, bigint, string];
    report.findings.push({ capture: dir, pattern, file: 'events', node, conn_id: conn, pid, comm, local, remote, rows: Number(n), first_ts_ns: first });
  }
  return Number(scanned);
}

async function scanProcesses(con: DuckDBConnection, dir: string, secrets: ListedSecret[], report: ScanReport): Promise<void> {
  const path = join(dir, 'processes.parquet');
  if (!existsSync(path)) return;
  const reader = await con.runAndReadAll(`
    SELECT pattern, node, pid, comm FROM (
      SELECT node, pid, comm, unnest(${patternArms(secrets)}) AS pattern FROM (SELECT *, coalesce(cmdline, '') AS t FROM read_parquet(${sqlString(path)}))
    ) ORDER BY pattern, pid`);
  for (const [pattern, node, pid, comm] of reader.getRows() as [string, string, number, string][]) {
    report.findings.push({ capture: dir, pattern, file: 'processes', node, conn_id: null, pid, comm, local: null, remote: null, rows: 1, first_ts_ns: null });
  }
}

function scanManifest(dir: string, secrets: ListedSecret[], report: ScanReport): void {
  const text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  for (const s of secrets) {
    if (s.spellings.some((x) => text.includes(x))) {
      report.findings.push({ capture: dir, pattern: `listed-secret:${s.line}`, file: 'manifest', node: null, conn_id: null, pid: null, comm: null, local: null, remote: null, rows: 1, first_ts_ns: null });
    }
  }
}

/** The report as text: a table per capture, then a verdict. Secrets themselves are never printed. */
export function renderScanReport(r: ScanReport, secretFile: string | null): string {
  const lines: string[] = [];
  for (const dir of r.captures) {
    const mine = r.findings.filter((f) => f.capture === dir);
    lines.push(`${dir}: ${mine.length ? `${mine.reduce((s, f) => s + f.rows, 0)} row(s) still hold a credential` : 'clean'}`);
    for (const f of mine) {
      const pattern = f.pattern.startsWith('listed-secret:') ? `listed secret #${f.pattern.slice(14)}` : f.pattern;
      const where = f.file === 'events' ? `${f.comm} pid ${f.pid} conn ${f.conn_id} ${f.local} -> ${f.remote}` : f.file === 'processes' ? `command line of ${f.comm} pid ${f.pid}` : 'manifest.json';
      lines.push(`  ${pattern.padEnd(24)} ${String(f.rows).padStart(7)} row(s)  ${where}`);
    }
  }
  const total = r.findings.reduce((s, f) => s + f.rows, 0);
  if (r.findings.some((f) => f.pattern.startsWith('listed-secret:'))) lines.push(`(listed secret #N: line N of ${secretFile})`);
  lines.push(`nitrace capture-scan: ${r.rowsScanned} event rows in ${r.captures.length} capture(s): ${total === 0 ? 'no credential found' : `${total} row(s) with a credential, see above`}`);
  return lines.join('\n') + '\n';
}
