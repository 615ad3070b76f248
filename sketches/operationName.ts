/**
 * The operation a span performs, as a SQL expression over spans.parquet columns (protocol, method, path), so the
 * engine computes it for the exact answers and for the rows fed to the sketches alike. Ids would make every call
 * its own operation, so they are folded: UUIDs and long hex ids -> {id}, numeric path segments -> {n}, numbers in
 * SQL -> ? (the SQL head already starts with its verb), cache keys dropped (memcached/redis: the command is the operation). SQL text is cut to 120 chars.
 */
export function operationSql(alias = ''): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  const ids = (x: string) =>
    `regexp_replace(regexp_replace(regexp_replace(${x}, '[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}', '{id}', 'g'), '[0-9a-fA-F]{20,}', '{id}', 'g'), '/[0-9]+(/|$)', '/{n}\\1', 'g')`;
  return `(CASE ${c('protocol')}
    WHEN 'http' THEN coalesce(${c('method')}, '?') || ' ' || ${ids(`coalesce(${c('path')}, '')`)}
    WHEN 'amqp' THEN coalesce(${c('method')}, '?') || ' ' || ${ids(`coalesce(${c('path')}, '')`)}
    WHEN 'mysql' THEN left(regexp_replace(coalesce(nullif(${c('path')}, ''), ${c('method')}, '?'), '[0-9]+', '?', 'g'), 120)
    ELSE coalesce(${c('method')}, '?') END)`;
}
