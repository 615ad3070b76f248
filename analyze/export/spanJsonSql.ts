import type { Dialect } from '../engine/engine.js';
import { SPAN_KIND_INTERNAL, SPAN_KINDS, STATUS_CODE_ERROR } from './otlp.js';

/**
 * The streamed exports' span JSON, written by the engine: SQL expressions over an export row `x` (the columns of
 * `spans`, export_evidence, export_confidence) that give the same bytes as spanJson.ts's otlpSpanJson and the head
 * of jaegerSpanJson (up to `"processID":`, the one piece that depends on the spans before it in its trace). The
 * exporter copies these bytes into its write buffers: no JS string, object or JSON.stringify per span, which made
 * most of the export stage (1 M bench set, 381 k spans: ~10 s of the stage's JS time reading strings out of the
 * engine and building text).
 *
 * The engine's text is JSON.stringify's only where the row is SIMPLE (exportSimple): no control character in any
 * text field (escaped as \uXXXX by JSON.stringify; only `"` and `\` are escaped here), no NULL where a value is
 * expected, an enumerated kind, times whose microseconds are exact doubles, an HTTP status that is a plain
 * decimal number, a confidence that both engines print as JavaScript does (1e-4 <= |c| < 1e15, or an integer).
 * Every other row is written by spanJson.ts from its columns; export.test.ts and writeExports.test.ts compare both
 * with the object mappings for awkward values.
 */

/** The service as the exports name it (a NULL service is 'unknown'). */
export const SERVICE = "coalesce(x.service, 'unknown')";

const KINDS = Object.keys(SPAN_KINDS);
/** Decimal digits of a plain JSON number (`Number(status)` prints them back unchanged). */
const DECIMAL = '^(0|[1-9][0-9]{0,14})$';
/** One more than the largest nanosecond time whose microseconds (`Number(ns / 1000n)`) are an exact double: (2^53 + 1) * 1000. */
const EXACT_NS = '9007199254740993000';

const text = (e: string) => `coalesce(${e}, '')`;

/**
 * The fields the JSON is built from, each computed once per row (an inner SELECT over `x`): [name, expression].
 * Text that the exports only test for truth is '' when NULL.
 */
const FIELDS: readonly (readonly [string, (d: Dialect) => string])[] = [
  ['trace_id', () => 'x.trace_id'],
  ['span_id', () => 'x.span_id'],
  ['parent', () => text('x.parent_span_id')],
  ['kind', () => 'x.kind'],
  ['node', () => 'x.node'],
  ['protocol', () => 'x.protocol'],
  ['service', () => SERVICE],
  ['method', () => text('x.method')],
  ['path', () => text('x.path')],
  ['status', () => text('x.status')],
  ['local_addr', () => text('x.local_addr')],
  ['remote_addr', () => text('x.remote_addr')],
  ['request_ids', () => text("array_to_string(x.request_ids, ',')")],
  ['evidence', () => text('x.export_evidence')],
  ['pid', () => 'x.pid'],
  ['tid', () => 'x.tid'],
  ['start_ns', () => 'x.start_ns'],
  // OTLP's end (never before the start) and Jaeger's duration are both taken from it.
  ['end_ns', () => 'CASE WHEN x.end_ns IS NULL OR x.end_ns < x.start_ns THEN x.start_ns ELSE x.end_ns END'],
  ['local_port', () => 'x.local_port'],
  ['remote_port', () => 'x.remote_port'],
  ['confidence', () => 'x.export_confidence'],
  ['http', (d) => `x.protocol = ${d.string('http')}`],
];

/**
 * True for a row the engine's text is right for (see above). Over the fields of `fields` (the inner SELECT).
 */
function simple(d: Dialect): string {
  const s = d.string;
  const texts = ['trace_id', 'span_id', 'parent', 'kind', 'node', 'protocol', 'service', 'method', 'path', 'status', 'local_addr', 'remote_addr', 'request_ids', 'evidence'];
  return [
    ...['trace_id', 'span_id', 'kind', 'node', 'protocol', 'pid', 'tid', 'start_ns'].map((c) => `${c} IS NOT NULL`),
    `kind IN (${KINDS.map((k) => s(k)).join(', ')})`,
    `start_ns >= 0 AND end_ns < ${EXACT_NS}`,
    `NOT regexp_matches(concat(${texts.join(', ')}), ${s(NOT_PLAIN)})`,
    `(NOT http OR status = '' OR regexp_matches(status, ${s(DECIMAL)}))`,
    `(confidence IS NULL OR (abs(confidence) < 1e15 AND (confidence = floor(confidence) OR abs(confidence) >= 1e-4)))`,
  ]
    .map((c) => `(${c})`)
    .join(' AND ');
}

/**
 * A character JSON.stringify escapes: a control character, `"` or `\`. Text fields without one are their own JSON
 * string content; rows with one (32 of 381 k spans on the 1 M bench set, SQL text in MySQL spans) are written by
 * spanJson.ts.
 */
const NOT_PLAIN = '[\\x00-\\x1f"\\\\]';

/**
 * One piece of a span's JSON text: constant text (`lit`) or a SQL expression giving text (`sql`), written where
 * `when` holds (a SQL condition; always if absent).
 */
type Piece = { lit: string; when?: string } | { sql: string; when?: string };

const lit = (text: string, when?: string): Piece => ({ lit: text, when });
const val = (sql: string, when?: string): Piece => ({ sql, when });
/** The pieces, each written only where `when` also holds. */
const all = (when: string, pieces: Piece[]): Piece[] => pieces.map((p) => ({ ...p, when: p.when ? `(${when}) AND (${p.when})` : when }));

/**
 * The pieces as one concat() of them: one string built per row (nested concats would build one per level).
 * Adjacent constants written under the same condition are joined.
 */
function concat(d: Dialect, pieces: Piece[]): string {
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (last && 'lit' in last && 'lit' in p && last.when === p.when) merged[merged.length - 1] = lit(last.lit + p.lit, p.when);
    else merged.push(p);
  }
  // Adjacent pieces under the same condition: one CASE (the condition tested once per row, not once per piece).
  const args: string[] = [];
  for (let i = 0; i < merged.length; ) {
    const when = merged[i]!.when;
    const group: string[] = [];
    for (; i < merged.length && merged[i]!.when === when; i++) {
      const p = merged[i]!;
      group.push('lit' in p ? d.string(p.lit) : p.sql);
    }
    if (!when) args.push(...group);
    else args.push(`CASE WHEN ${when} THEN ${group.length === 1 ? group[0] : `concat(${group.join(', ')})`} ELSE '' END`);
  }
  return `concat(${args.join(', ')})`;
}

/** A number field as decimal text. */
const digits = (d: Dialect, e: string): string => `CAST(${e} AS ${d.type('VARCHAR')})`;

/**
 * Nanoseconds (>= 0) as whole microseconds in decimal (the decimal text without its last three digits): one
 * integer division and one cast (two casts, a substring and a CASE before: ~5 % of the JSON texts' engine time).
 */
const micros = (d: Dialect, e: string): string => digits(d, d.intDiv(e, '1000'));

/** A text field as a JSON string (a simple row's text needs no escapes). */
const quoted = (field: string): Piece[] => [lit('"'), val(field), lit('"')];

/** How one export writes an attribute: a string, or a number that is an integer (`int`) or not (`dbl`). */
interface AttributeFormat {
  str(key: string, value: Piece[]): Piece[];
  int(key: string, digits: Piece[]): Piece[];
  dbl(key: string, digits: Piece[]): Piece[];
}

/**
 * The attributes of spanAttributes (spanRows.ts), in its order, comma-separated; kept in step with spanJson.ts's
 * attributesJson (writeExports.test.ts compares the exports with the object mappings).
 */
function attributes(d: Dialect, f: AttributeFormat): Piece[] {
  const opt = (when: string, pieces: Piece[]) => all(when, [lit(','), ...pieces]);
  const num = (e: string) => [val(digits(d, e))];
  const byProtocol = (http: string, other: string, when: string, value: (key: string) => Piece[]) => [
    ...opt(`${when} AND http`, value(http)),
    ...opt(`${when} AND NOT http`, value(other)),
  ];
  return [
    ...f.str('nitrace.protocol', quoted('protocol')),
    lit(','),
    ...f.str('nitrace.node', quoted('node')),
    lit(','),
    ...f.int('process.pid', num('pid')),
    lit(','),
    ...f.int('thread.id', num('tid')),
    ...byProtocol('http.request.method', 'nitrace.method', "method <> ''", (k) => f.str(k, quoted('method'))),
    ...byProtocol('url.path', 'nitrace.resource', "path <> ''", (k) => f.str(k, quoted('path'))),
    // An HTTP status is decimal digits (simple()): the number as written.
    ...opt("status <> '' AND http", f.int('http.response.status_code', [val('status')])),
    ...opt("status <> '' AND NOT http", f.str('nitrace.status', quoted('status'))),
    ...opt("local_addr <> ''", f.str('network.local.address', quoted('local_addr'))),
    ...opt('local_port IS NOT NULL', f.int('network.local.port', num('local_port'))),
    ...opt("remote_addr <> ''", f.str('network.peer.address', quoted('remote_addr'))),
    ...opt('remote_port IS NOT NULL', f.int('network.peer.port', num('remote_port'))),
    ...opt("request_ids <> ''", f.str('nitrace.request_ids', quoted('request_ids'))),
    ...opt("evidence <> ''", f.str('nitrace.parent_evidence', quoted('evidence'))),
    ...opt('confidence = floor(confidence)', f.int('nitrace.parent_confidence', num('CAST(confidence AS BIGINT)'))),
    ...opt('confidence <> floor(confidence)', f.dbl('nitrace.parent_confidence', num('confidence'))),
  ];
}

/** The span name (spanRows.ts spanName) as a JSON string. */
function name(): Piece[] {
  return quoted(`CASE WHEN method <> '' THEN (CASE WHEN path <> '' THEN concat(method, ' ', path) ELSE method END) WHEN path <> '' THEN path ELSE protocol END`);
}

/** otlpSpanJson(s), over the fields. */
function otlpJson(d: Dialect): string {
  const key = (k: string) => lit(`{"key":${JSON.stringify(k)},"value":`);
  const f: AttributeFormat = {
    str: (k, v) => [key(k), lit('{"stringValue":'), ...v, lit('}}')],
    int: (k, v) => [key(k), lit('{"intValue":"'), ...v, lit('"}}')],
    dbl: (k, v) => [key(k), lit('{"doubleValue":'), ...v, lit('}}')],
  };
  const kind = `CASE kind ${Object.entries(SPAN_KINDS)
    .map(([k, v]) => `WHEN ${d.string(k)} THEN ${d.string(String(v))}`)
    .join(' ')} ELSE ${d.string(String(SPAN_KIND_INTERNAL))} END`;
  // An HTTP status >= 500 (server) or >= 400 (client) as an error: decimal digits (simple()) compared as text.
  const threshold = `CASE WHEN kind = 'server' THEN '500' ELSE '400' END`;
  const error = `http AND status <> '' AND (length(status) > 3 OR (length(status) = 3 AND status >= ${threshold}))`;
  return concat(d, [
    lit('{"traceId":'),
    ...quoted('trace_id'),
    lit(',"spanId":'),
    ...quoted('span_id'),
    lit(',"name":'),
    ...name(),
    lit(',"kind":'),
    val(kind),
    lit(',"startTimeUnixNano":"'),
    val(digits(d, 'start_ns')),
    lit('","endTimeUnixNano":"'),
    val(digits(d, 'end_ns')),
    lit('","attributes":['),
    ...attributes(d, f),
    lit(']'),
    ...all("parent <> ''", [lit(',"parentSpanId":'), ...quoted('parent')]),
    lit(`,"status":{"code":${STATUS_CODE_ERROR}}`, error),
    lit('}'),
  ]);
}

/** jaegerSpanJson(...) up to and with `"processID":`, over the fields. */
function jaegerHead(d: Dialect): string {
  const key = (k: string) => lit(`{"key":${JSON.stringify(k)},"type":`);
  const f: AttributeFormat = {
    str: (k, v) => [key(k), lit('"string","value":'), ...v, lit('}')],
    int: (k, v) => [key(k), lit('"int64","value":'), ...v, lit('}')],
    dbl: (k, v) => [key(k), lit('"float64","value":'), ...v, lit('}')],
  };
  return concat(d, [
    lit('{"traceID":'),
    ...quoted('trace_id'),
    lit(',"spanID":'),
    ...quoted('span_id'),
    lit(',"operationName":'),
    ...name(),
    lit(',"references":'),
    ...all("parent <> ''", [lit('[{"refType":"CHILD_OF","traceID":'), ...quoted('trace_id'), lit(',"spanID":'), ...quoted('parent'), lit('}]')]),
    lit('[]', "parent = ''"),
    lit(',"startTime":'),
    val(micros(d, 'start_ns')),
    lit(',"duration":'),
    val(micros(d, '(end_ns - start_ns)')),
    lit(',"tags":[{"key":"span.kind","type":"string","value":'),
    ...quoted('kind'),
    lit('},'),
    ...attributes(d, f),
    lit('],"logs":[],"processID":'),
  ]);
}

/** The names of the fields (exportFieldItems), in their order: what a row that is not simple is written from. */
export const EXPORT_FIELDS = FIELDS.map(([n]) => n);

/** Select-list items over an export row `x`: the fields, EXPORT_FIELDS. */
export function exportFieldItems(d: Dialect): string[] {
  return FIELDS.map(([n, e]) => `${e(d)} AS ${n}`);
}

/** A select-list item over the fields: `simple`, true where the engine's JSON text is right for the row. */
export function exportSimpleItem(d: Dialect): string {
  return `${simple(d)} AS simple`;
}

/**
 * Select-list items over the fields and `simple`: `o`, the span's OTLP JSON text, `j`, its Jaeger JSON text up to
 * `"processID":`, and `t`, its trace id as a JSON string; all three NULL where the row is not simple.
 */
export function exportJsonItems(d: Dialect): string[] {
  return [
    `CASE WHEN simple THEN ${otlpJson(d)} END AS o`,
    `CASE WHEN simple THEN ${jaegerHead(d)} END AS j`,
    `CASE WHEN simple THEN ${concat(d, quoted('trace_id'))} END AS t`,
  ];
}
