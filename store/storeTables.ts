import { NitraceError } from '../core/errors.js';
import { version } from '../core/version.js';
import { identifier, literal, type ClickHouseNode } from './clickhouseNode.js';
import { clickhouseType } from './rowBinary.js';
import { STORE_TABLES, type StoreTable } from './storeSchema.js';
import type { StoreTarget } from './storeTarget.js';

/**
 * Creates the store's tables where they are missing and checks the ones that exist: same columns and types in
 * the same order, the right engine, partitioned by dataset_id. A table with another schema (an older nitrace, or
 * someone else's table of that name) is refused with what differs: nitrace never alters or drops a table.
 */
export async function ensureTables(target: StoreTarget): Promise<void> {
  const db = identifier(target.database);
  const entryIsMember = target.members.includes(target.entry);
  const distributedOn = target.cluster === null ? [] : entryIsMember ? target.members : [...target.members, target.entry];
  const wanted: { node: ClickHouseNode; name: string; t: StoreTable; engine: string; ddl: string }[] = [];
  for (const t of STORE_TABLES) {
    for (const node of target.members) wanted.push({ node, name: target.localName(t), t, engine: 'MergeTree', ddl: mergeTreeDdl(target, t) });
    for (const node of distributedOn) wanted.push({ node, name: t.name, t, engine: 'Distributed', ddl: distributedDdl(target, t) });
  }
  // Every existing table is checked before anything is created: a refused store leaves the servers as they were.
  const missing = [];
  for (const w of wanted) if (!(await checkTable(w.node, target.database, w.name, w.t, w.engine))) missing.push(w);
  for (const node of new Set(missing.map((w) => w.node))) await node.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  for (const w of missing) await w.node.command(w.ddl);
}

function columnsDdl(t: StoreTable): string {
  return t.columns.map((c) => `${identifier(c.name)} ${clickhouseType(c.type)}`).join(', ');
}

function mergeTreeDdl(target: StoreTarget, t: StoreTable): string {
  return `CREATE TABLE IF NOT EXISTS ${target.localTable(t)} (${columnsDdl(t)})
    ENGINE = MergeTree PARTITION BY dataset_id ORDER BY ${t.orderBy}`;
}

function distributedDdl(target: StoreTarget, t: StoreTable): string {
  return `CREATE TABLE IF NOT EXISTS ${target.table(t)} (${columnsDdl(t)})
    ENGINE = Distributed(${literal(target.cluster!)}, ${literal(target.database)}, ${literal(target.localName(t))}, ${t.shardBy})`;
}

/** False if the table does not exist; throws if it exists with another schema. */
async function checkTable(node: ClickHouseNode, db: string, name: string, t: StoreTable, engine: string): Promise<boolean> {
  const [existing] = await node.query<{ engine: string; partition_key: string }>(
    `SELECT engine, partition_key FROM system.tables WHERE database = ${literal(db)} AND name = ${literal(name)}`,
  );
  if (!existing) return false;
  const have = await node.query<{ name: string; type: string }>(
    `SELECT name, type FROM system.columns WHERE database = ${literal(db)} AND table = ${literal(name)}`,
  );
  const want = t.columns.map((c) => ({ name: c.name, type: clickhouseType(c.type) }));
  const fmt = (cs: { name: string; type: string }[]) => cs.map((c) => `${c.name} ${c.type}`).join(', ');
  const problems: string[] = [];
  if (existing.engine !== engine) problems.push(`engine ${existing.engine}, not ${engine}`);
  if (engine === 'MergeTree' && existing.partition_key !== 'dataset_id') problems.push(`partitioned by "${existing.partition_key}", not dataset_id`);
  if (fmt(have) !== fmt(want)) {
    const extra = have.filter((h) => !want.some((w) => w.name === h.name && w.type === h.type)).map((c) => `${c.name} ${c.type}`);
    const lacking = want.filter((w) => !have.some((h) => h.name === w.name && h.type === w.type)).map((c) => `${c.name} ${c.type}`);
    const list = (xs: string[]) => (xs.length > 4 ? `${xs.slice(0, 4).join(', ')} and ${xs.length - 4} more` : xs.join(', '));
    const diff = [lacking.length ? `lacks ${list(lacking)}` : '', extra.length ? `has ${list(extra)}` : ''].filter(Boolean).join('; ');
    problems.unshift(diff ? `columns differ (${diff})` : 'columns are in another order');
  }
  if (problems.length > 0) {
    throw new NitraceError(
      'store',
      `${node.name}: table ${db}.${name} exists with another schema: ${problems.join('; ')}. ` +
        `nitrace ${version} stores ${t.name} as in docs/clickhouse.md: store into another --database, or drop that table if its data is not needed.`,
      2,
    );
  }
  return true;
}
