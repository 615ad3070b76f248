/**
 * Ids rewritten per replica. Content evidence links spans that carry the same id (request ids, oslo.messaging
 * _msg_id/_unique_id/_reply_q, X-OpenStack-Request-ID, resource UUIDs in SQL): replicas must carry fresh ids, or
 * a replica's RPC reply would also match every other replica's call. Every UUID (8-4-4-4-12) and every 32-hex
 * run (uuid4().hex, oslo's ids) is replaced, in payloads and in the ground truth alike, by a function of the
 * replica and the id alone, so the same id becomes the same new id in every process, every event and the truth,
 * with the same length and case (parsers still frame) and the UUID version/variant characters kept.
 *
 * The ids are found once per sample here (small data, exact byte offsets); the per-replica rewrite runs in DuckDB
 * over the template: `parts` (hex of the bytes between ids, joined by '|') and `toks` (the ids, joined by ',').
 */

/** UUIDs, and 32-hex runs not inside a longer hex run (checksums and hashes stay as they are). */
const ID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])/g;

export interface IdTemplate {
  /** Hex of the bytes around the ids, one more part than ids, joined by '|'. */
  parts: string;
  /** The ids, joined by ','. */
  toks: string;
}

/**
 * The template of one payload (bytes read as latin1, so offsets are byte offsets), or null without ids. An id cut
 * by the snap length or split over two syscalls is not found and stays as captured: the parsers do not read
 * partial ids either (in the shipped samples no id is split over two syscalls).
 */
export function idTemplate(bytes: Uint8Array): IdTemplate | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const parts: string[] = [];
  const toks: string[] = [];
  let last = 0;
  for (const m of text.matchAll(ID)) {
    const at = m.index ?? 0;
    parts.push(Buffer.from(text.slice(last, at), 'latin1').toString('hex'));
    toks.push(m[0]);
    last = at + m[0].length;
  }
  if (toks.length === 0) return null;
  parts.push(Buffer.from(text.slice(last), 'latin1').toString('hex'));
  return { parts: parts.join('|'), toks: toks.join(',') };
}

/** The same for text columns (truth paths, statements): null input stays null. */
export function textTemplate(text: string | null): IdTemplate | null {
  return text === null ? null : idTemplate(Buffer.from(text, 'utf8'));
}

/** Salt of the id rewrite: fixed, so a replica gets the same ids in every generation (results stay comparable). */
const SALT = 'nitrace-bench-v1';

/**
 * DuckDB macros: `bench_id(r, id)` is the new id of `id` in replica r; `bench_rewrite(r, parts, toks)` rebuilds a
 * templated value as BLOB. The hash input drops dashes and case, so `abc...` and `ABC-...` forms of one id agree.
 */
export const ID_MACROS = [
  `CREATE OR REPLACE MACRO bench_hash(r, id) AS md5('${SALT}:' || r::VARCHAR || ':' || replace(lower(id), '-', ''))`,
  `CREATE OR REPLACE MACRO bench_case(id, v) AS CASE WHEN regexp_matches(id, '[A-F]') AND NOT regexp_matches(id, '[a-f]') THEN upper(v) ELSE v END`,
  `CREATE OR REPLACE MACRO bench_id36(h, id) AS substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(id, 15, 1) || substr(h, 14, 3)
     || '-' || substr(id, 20, 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12)`,
  `CREATE OR REPLACE MACRO bench_id32(h, id) AS substr(h, 1, 12) || substr(id, 13, 1) || substr(h, 14, 3) || substr(id, 17, 1) || substr(h, 18, 15)`,
  `CREATE OR REPLACE MACRO bench_id(r, id) AS bench_case(id,
     CASE WHEN length(id) = 36 THEN bench_id36(bench_hash(r, id), id) ELSE bench_id32(bench_hash(r, id), id) END)`,
  `CREATE OR REPLACE MACRO bench_rewrite(r, parts, toks) AS unhex(array_to_string(list_transform(string_split(parts, '|'),
     lambda p, i: p || coalesce(hex(bench_id(r, string_split(toks, ',')[i])), '')), ''))`,
];
