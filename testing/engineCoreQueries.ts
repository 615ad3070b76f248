/**
 * Until `nitrace analyze --engine clickhouse` exists, the side-by-side analysis numbers are these relational
 * cores of the analysis, in SQL both engines read the same: per-connection ordering and aggregation (how
 * messages are cut), and the spatial self-join (a client's send meets the server's recv of the same bytes).
 */
export const CORE_QUERIES: Record<string, string> = {
  per_connection: `SELECT node, conn_id, direction, count(*) AS n, sum(bytes) AS b, min(mono_ns) AS first, max(mono_ns) AS last
    FROM events WHERE event = 'data' GROUP BY node, conn_id, direction ORDER BY node, conn_id, direction`,
  spatial_join: `SELECT count(*) AS n FROM events s JOIN events r
    ON s.tcp_seq = r.tcp_seq AND s.local_port = r.remote_port AND s.remote_port = r.local_port
    WHERE s.event = 'data' AND r.event = 'data' AND s.direction = 'send' AND r.direction = 'recv'`,
};
