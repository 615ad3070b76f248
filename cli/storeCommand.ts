import { defineCommand } from './command.js';
import { storeDatasets } from '../store/storeDatasets.js';

export const storeCommand = defineCommand({
  name: 'store',
  positionals: '<dirs..>',
  describe: 'load captures and analysis outputs into ClickHouse tables (one server, or a cluster through Distributed tables)',
  builder: (y) =>
    y
      .positional('dirs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'capture directories (nitrace capture --out) and analysis outputs (nitrace analyze --out), each stored as one dataset',
      })
      .option('clickhouse-url', { type: 'string', demandOption: true, describe: "the server's HTTP endpoint, e.g. http://127.0.0.1:8123 (user:password@ if needed)" })
      .option('database', { type: 'string', default: 'nitrace', describe: 'database for the tables (created if missing)' })
      .option('cluster', { type: 'string', describe: "a cluster of the server's remote_servers: MergeTree tables on every member, Distributed tables over them" })
      .option('shard-url', {
        type: 'string',
        array: true,
        describe: "HTTP URL of each cluster member (default: each member's host at the port of --clickhouse-url)",
      })
      .option('replace', { type: 'boolean', default: false, describe: 'store datasets again that are already stored (their old rows are dropped)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' })
      .example('$0 store cap/ out/ --clickhouse-url http://127.0.0.1:8123', 'a capture and its analysis into database nitrace')
      .example('$0 store out/ --clickhouse-url http://ch1:8123 --cluster traces', 'into a cluster: events_local etc. on every member, events over them')
      .example("clickhouse-client -d nitrace -q \"SELECT evidence, count() FROM edges GROUP BY evidence\"", 'query the store (more: docs/clickhouse.md)'),
  run: async (args) => {
    const results = await storeDatasets({
      dirs: args.dirs as string[],
      url: args.clickhouseUrl,
      database: args.database,
      cluster: args.cluster ?? null,
      memberUrls: (args.shardUrl as string[] | undefined) ?? [],
      replace: args.replace,
      log: args.quiet ? undefined : (line) => process.stderr.write(line + '\n'),
    });
    for (const r of results) {
      const rows = Object.entries(r.rows).map(([t, n]) => `${t}=${n}`).join(' ');
      process.stdout.write(`${r.dataset_id}\t${r.kind}\t${r.status}\t${r.dir}${rows ? `\t${rows}` : ''}\n`);
    }
    return 0;
  },
});
