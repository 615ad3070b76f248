import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readManifest, writeManifest } from './manifest.js';
import { PayloadRedactor, redactArgv, redactCommandLine } from './redact.js';
import { DIRECTION_NAMES } from './eventLayout.js';
import { version } from '../core/version.js';

/** What `scrubCapture` changed. */
export interface ScrubReport {
  dir: string;
  /** Event rows whose payload changed. */
  events: number;
  /** Segment files rewritten (only those with a changed row). */
  segments: string[];
  processes: number;
  manifestCommand: boolean;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const code = (names: Record<number, string | null>, name: string): number => Number(Object.entries(names).find(([, n]) => n === name)![0]);
const DATA = 'data';
const CLOSE = 'close';
const SEND = code(DIRECTION_NAMES, 'send');
const RECV = code(DIRECTION_NAMES, 'recv');

/**
 * Applies this nitrace's redaction to a capture already on disk (recorded by an earlier version, or with
 * `--no-redact`), in place, keeping its schema version, rows, row order and segment boundaries: payloads are
 * replayed through `PayloadRedactor` in time order per connection, as the capture would have, and only segments
 * holding a changed row are rewritten (temp file, fsync, rename; manifest sizes and SHA-256 updated). Command lines
 * in processes.parquet and the manifest are redacted too. The manifest records it under `scrubbed`.
 */
export async function scrubCapture(dirArg: string, log: (line: string) => void = () => {}): Promise<ScrubReport> {
  const dir = resolve(dirArg);
  const manifest = readManifest(dir);
  const events = join(dir, 'events');
  const files = readdirSync(events).filter((f) => /^seg-\d+\.parquet$/.test(f)).sort();
  const report: ScrubReport = { dir, events: 0, segments: [], processes: 0, manifestCommand: false };
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await db.connect();
  try {
    // 1. Every payload in capture order, through one redactor (its per-connection state spans segments).
    const list = `[${files.map((f) => sqlString(join(events, f))).join(', ')}]`;
    const rows = (await con.runAndReadAll(`
      SELECT parse_filename(filename), file_row_number, event, direction, conn_id::VARCHAR, bytes, tcp_seq, payload
      FROM read_parquet(${list}, filename = true, file_row_number = true)
      ORDER BY mono_ns, filename, file_row_number`)).getRows();
    const redactor = new PayloadRedactor();
    const changed = new Map<string, { row: bigint; payload: Uint8Array }[]>();
    for (const [file, rowNumber, event, direction, conn, bytes, seq, payload] of rows as [string, bigint, string, string | null, string | null, bigint, bigint | null, { bytes: Uint8Array } | null][]) {
      const connLo = conn === null ? 0 : Number(BigInt(conn) & 0xffffffffn);
      if (event === CLOSE) redactor.closeConnection(connLo);
      if (event !== DATA || !payload || payload.bytes.length === 0) continue;
      const p = Buffer.from(payload.bytes);
      const before = Buffer.from(p);
      redactor.redactStream(p, 0, p.length, connLo, direction === 'send' ? SEND : RECV, Number(bytes), Number(seq ?? 0n));
      if (!p.equals(before)) {
        const list = changed.get(file) ?? [];
        list.push({ row: rowNumber, payload: p });
        changed.set(file, list);
        report.events++;
      }
    }
    // 2. Rewrite the segments that changed.
    for (const [file, fixes] of changed) {
      const info = await rewriteSegment(con, join(events, file), fixes);
      const seg = manifest.segments.find((s) => s.file === `events/${file}`);
      if (seg) Object.assign(seg, info);
      report.segments.push(`events/${file}`);
      log(`nitrace capture-scrub: ${dir}/events/${file}: ${fixes.length} payload(s) redacted`);
    }
    // 3. Command lines.
    report.processes = await scrubProcesses(con, join(dir, 'processes.parquet'));
  } finally {
    con.closeSync();
  }
  if (manifest.config.command) {
    const cmd = redactArgv(manifest.config.command);
    report.manifestCommand = cmd.some((a, i) => a !== manifest.config.command![i]);
    manifest.config.command = cmd;
  }
  if (report.events || report.processes || report.manifestCommand) {
    (manifest as unknown as Record<string, unknown>).scrubbed = {
      nitrace_version: version,
      at: new Date().toISOString(),
      events_changed: report.events,
      segments_rewritten: report.segments.length,
      processes_changed: report.processes,
    };
    writeManifest(dir, manifest);
  }
  return report;
}

/** The segment with `fixes` applied: same columns, types and row order; zstd as the capture writes it. */
async function rewriteSegment(con: DuckDBConnection, path: string, fixes: { row: bigint; payload: Uint8Array }[]): Promise<{ bytes: number; sha256: string }> {
  await con.run('CREATE OR REPLACE TEMP TABLE fixes (row BIGINT, payload BLOB)');
  const app = await con.createAppender('fixes');
  for (const f of fixes) {
    app.appendBigInt(f.row);
    app.appendBlob(f.payload);
    app.endRow();
  }
  app.closeSync();
  const tmp = `${path}.tmp`;
  try {
    await con.run(`COPY (
        SELECT * EXCLUDE (file_row_number, fixed) REPLACE (coalesce(fixed, payload) AS payload) FROM (
          SELECT e.*, f.payload AS fixed FROM read_parquet(${sqlString(path)}, file_row_number = true) e
          LEFT JOIN fixes f ON f.row = e.file_row_number)
        ORDER BY file_row_number
      ) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    fsync(tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { bytes: statSync(path).size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

async function scrubProcesses(con: DuckDBConnection, path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const rows = (await con.runAndReadAll(`SELECT pid, cmdline FROM read_parquet(${sqlString(path)})`)).getRows() as [number, string | null][];
  const fixes = rows.filter(([, c]) => c !== null && redactCommandLine(c) !== c);
  if (fixes.length === 0) return 0;
  await con.run('CREATE OR REPLACE TEMP TABLE cmdfix (pid INTEGER, cmdline VARCHAR)');
  const app = await con.createAppender('cmdfix');
  for (const [pid, c] of fixes) {
    app.appendInteger(pid);
    app.appendVarchar(redactCommandLine(c!));
    app.endRow();
  }
  app.closeSync();
  const tmp = `${path}.tmp`;
  await con.run(`COPY (SELECT p.* REPLACE (coalesce(f.cmdline, p.cmdline) AS cmdline) FROM read_parquet(${sqlString(path)}) p LEFT JOIN cmdfix f USING (pid) ORDER BY p.pid)
    TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
  fsync(tmp);
  renameSync(tmp, path);
  return fixes.length;
}

function fsync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
