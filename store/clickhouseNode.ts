import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { NitraceError } from '../core/errors.js';

/**
 * One ClickHouse server over HTTP (`@clickhouse/client`, which speaks to 18.16 and to current servers alike).
 * SQL sent here is nitrace's own DDL and queries with identifiers checked by `identifier()` and dataset ids
 * checked by `datasetLiteral()`; data goes in a RowBinary request body (store/rowBinary.ts), never in SQL.
 */
export class ClickHouseNode {
  private constructor(
    /** The URL without credentials, for messages. */
    readonly name: string,
    private readonly client: ClickHouseClient,
  ) {}

  static async open(url: string): Promise<ClickHouseNode> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new NitraceError('store', `${url}: not a URL (give the server's HTTP endpoint, e.g. http://127.0.0.1:8123)`, 2);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new NitraceError('store', `${url}: the store speaks ClickHouse's HTTP interface (http:// or https://, port 8123 by default)`, 2);
    }
    const name = `${parsed.protocol}//${parsed.host}`;
    // Long inserts stream for minutes; the client's warning about idle load balancers does not apply to the
    // direct connections the store makes, and its errors reach the user through NitraceError instead.
    const client = createClient({ url: parsed, request_timeout: 3_600_000, log: { level: ClickHouseLogLevel.OFF } });
    const node = new ClickHouseNode(name, client);
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
    } catch (e) {
      await client.close();
      throw new NitraceError('store', `${name}: no ClickHouse server answers (${firstLine(e)})`, 1);
    }
    return node;
  }

  /** DDL and other statements without a result. */
  async command(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (e) {
      throw new NitraceError('store', `${this.name}: ${firstLine(e)}\n  in: ${sql.replace(/\s+/g, ' ').slice(0, 300)}`, 1);
    }
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    try {
      const rs = await this.client.query({ query: sql, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (e) {
      throw new NitraceError('store', `${this.name}: ${firstLine(e)}\n  in: ${sql.replace(/\s+/g, ' ').slice(0, 300)}`, 1);
    }
  }

  /**
   * Streams a RowBinary body into `table` in one INSERT (the server cuts it into blocks as it reads). `sync`
   * makes a Distributed table forward to its shards before answering, so the rows are countable afterwards.
   */
  async insertRowBinary(table: string, columns: readonly string[], body: AsyncIterable<Buffer>, sync: boolean): Promise<void> {
    const query = `INSERT INTO ${table} (${columns.map(identifier).join(', ')}) FORMAT RowBinary`;
    try {
      const r = await this.client.exec({
        query,
        values: Readable.from(body),
        clickhouse_settings: sync ? { insert_distributed_sync: 1 } : {},
      });
      for await (const _ of r.stream) {
        // drain the (empty) response so the connection returns to the pool
      }
    } catch (e) {
      throw new NitraceError('store', `${this.name}: inserting into ${table} failed: ${firstLine(e)}`, 1);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** A ClickHouse identifier (database, table, column, cluster name), back-quoted after checking its characters. */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new NitraceError('store', `${JSON.stringify(name)}: use letters, digits and _ (starting with a letter or _) for ClickHouse names`, 2);
  }
  return `\`${name}\``;
}

/** A string literal for nitrace's own values in SQL (names already checked by `identifier`). */
export function literal(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Dataset ids are hex digests made by store/datasetId.ts: anything else is refused before it reaches SQL. */
export function datasetLiteral(id: string): string {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`dataset id ${JSON.stringify(id)} is not 32 hex digits`);
  return `'${id}'`;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n', 1)[0]!.slice(0, 400);
}
