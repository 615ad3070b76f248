import { NitraceError } from '../core/errors.js';
import { ClickHouseNode, identifier, literal } from './clickhouseNode.js';
import type { StoreTable } from './storeSchema.js';

export interface TargetOptions {
  /** HTTP URL of the server that receives inserts and queries (any member of the cluster, or the one server). */
  url: string;
  database: string;
  /** A cluster from the server's `remote_servers`: MergeTree tables on every member, a Distributed table over them. */
  cluster?: string | null;
  /**
   * HTTP URLs of the cluster's members. Without ZooKeeper/Keeper (`ON CLUSTER` needs it, and ClickHouse 18.16
   * setups often have none) the store creates and cleans tables on each member itself, and the server does not
   * say which HTTP port its peers listen on. Default: each member's host with the port of `url`.
   */
  memberUrls?: readonly string[];
}

/** Where `nitrace store` writes: table names and the servers that hold them. */
export interface StoreTarget {
  database: string;
  cluster: string | null;
  /** Receives inserts and answers queries. */
  entry: ClickHouseNode;
  /** Every server holding the MergeTree tables (the entry alone without a cluster). */
  members: ClickHouseNode[];
  /** What to insert into and query: `db`.`events` (the Distributed table in a cluster). */
  table(t: StoreTable): string;
  /** The MergeTree table on each member: `db`.`events`, or `db`.`events_local` in a cluster. */
  localTable(t: StoreTable): string;
  localName(t: StoreTable): string;
  close(): Promise<void>;
}

/** Connects to the server (and, with a cluster, to every member, each checked to be the member it claims). */
export async function openTarget(opts: TargetOptions): Promise<StoreTarget> {
  const db = identifier(opts.database);
  const entry = await ClickHouseNode.open(opts.url);
  const opened: ClickHouseNode[] = [entry];
  try {
    const cluster = opts.cluster ?? null;
    const members = cluster === null ? [entry] : await clusterMembers(entry, cluster, opts, opened);
    const localName = (t: StoreTable) => (cluster === null ? t.name : `${t.name}_local`);
    return {
      database: opts.database,
      cluster,
      entry,
      members,
      table: (t) => `${db}.${identifier(t.name)}`,
      localTable: (t) => `${db}.${identifier(localName(t))}`,
      localName,
      close: async () => void (await Promise.all(opened.map((n) => n.close()))),
    };
  } catch (e) {
    await Promise.all(opened.map((n) => n.close()));
    throw e;
  }
}

interface MemberRow {
  shard_num: number;
  replica_num: number;
  host_name: string;
  port: number;
  is_local: number;
}

async function clusterMembers(entry: ClickHouseNode, cluster: string, opts: TargetOptions, opened: ClickHouseNode[]): Promise<ClickHouseNode[]> {
  identifier(cluster);
  const rows = await entry.query<MemberRow>(
    `SELECT shard_num, replica_num, host_name, port, is_local FROM system.clusters WHERE cluster = ${literal(cluster)} ORDER BY shard_num, replica_num`,
  );
  if (rows.length === 0) {
    const names = (await entry.query<{ cluster: string }>('SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster')).map((r) => r.cluster);
    throw new NitraceError('store', `${entry.name} has no cluster "${cluster}" in its remote_servers (it has: ${names.join(', ') || 'none'})`, 2);
  }
  const key = (r: { shard_num: number; replica_num: number }) => `shard ${r.shard_num} replica ${r.replica_num}`;
  const wanted = new Map(rows.map((r) => [key(r), r]));
  const urls =
    opts.memberUrls && opts.memberUrls.length > 0
      ? [...opts.memberUrls]
      : rows.map((r) => {
          if (Number(r.is_local) === 1) return opts.url;
          const u = new URL(opts.url);
          u.hostname = r.host_name;
          return u.toString();
        });
  const byMember = new Map<string, ClickHouseNode>();
  for (const url of urls) {
    const node = url === opts.url ? entry : await ClickHouseNode.open(url).then((n) => (opened.push(n), n));
    const self = await node.query<MemberRow>(
      `SELECT shard_num, replica_num, host_name, port, is_local FROM system.clusters WHERE cluster = ${literal(cluster)} AND is_local = 1`,
    );
    if (self.length !== 1) {
      throw new NitraceError(
        'store',
        `${node.name} is not a member of cluster "${cluster}" (its remote_servers list it ${self.length} times); give each member's HTTP URL with --shard-url`,
        2,
      );
    }
    const k = key(self[0]!);
    if (byMember.has(k)) {
      throw new NitraceError('store', `${node.name} and ${byMember.get(k)!.name} are both ${k} of "${cluster}": give each member's own HTTP URL with --shard-url`, 2);
    }
    byMember.set(k, node);
  }
  const missing = [...wanted.entries()].filter(([k]) => !byMember.has(k)).map(([k, r]) => `${k} (${r.host_name}:${r.port})`);
  if (missing.length > 0) {
    throw new NitraceError('store', `cluster "${cluster}": no HTTP URL reaches ${missing.join(', ')}; give each member's HTTP URL with --shard-url`, 2);
  }
  return [...byMember.values()];
}
