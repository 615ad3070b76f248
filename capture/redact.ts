/**
 * Byte-level redaction of captured payload heads, in place, keeping every length and delimiter so protocol
 * parsers still frame the message. Two rule sets:
 * - `redactSecrets` (capture, on by default, `--no-redact` turns it off): credentials must never reach disk.
 * - `maskGroundTruth` (analysis, always): OSProfiler's trace context is the answer the reconstruction is scored
 *   against, so it must never be evidence.
 * Payloads may be cut at the snaplen: a value running to the end of the payload is replaced to the end.
 */

const STAR = 0x2a; // '*': secrets
const EX = 0x78; // 'x': masked ground truth

/** HTTP header names whose values are credentials (OpenStack's token headers among them). */
const SECRET_HEADERS = ['x-auth-token', 'x-subject-token', 'x-service-token', 'authorization', 'proxy-authorization',
  'cookie', 'set-cookie', 'x-trace-hmac'];
/** OSProfiler's trace context headers. */
const GROUND_TRUTH_HEADERS = ['x-trace-info', 'x-trace-hmac'];

/** JSON keys whose string values are secrets: password, admin_password, _context_auth_token, secret, ... */
const SECRET_KEY_PATTERN = '[A-Za-z0-9_.-]*(?:passw(?:or)?d|secret|token|credential|private_key|api_key)[A-Za-z0-9_.-]*';
/** OSProfiler ids in RPC contexts and in its own notifications (e.g. written to Redis). */
const GROUND_TRUTH_KEY_PATTERN = '(?:base_id|parent_id|trace_id|hmac_key)';

/** Cheap first pass: most payloads contain none of these, and skip every rule below. */
const SECRET_HINT = /token|passw|secret|authoriz|cookie|hmac|credential|private_key|api_key|auth/i;
const GROUND_TRUTH_HINT = /x-trace-|trace_info|base_id|parent_id|trace_id|hmac_key|osprofiler/i;
/** OSProfiler's Redis driver keys its notifications by trace: osprofiler_opt:<base_id>... */
const OSPROFILER_KEY_RULE = /osprofiler[A-Za-z_]*:([0-9A-Fa-f-]{8,})/gid;

function headerRule(names: string[]): RegExp {
  // Value: from after "name:" and spaces to the end of the line (or of the captured bytes).
  return new RegExp(`(?:^|\\n)(?:${names.join('|')})[ \\t]*:[ \\t]*([^\\r\\n]*)`, 'gid');
}

/**
 * A JSON string value of a matching key, in plain JSON ("k": "v") or escaped inside a JSON string, as
 * oslo.messaging nests its message (\"k\": \"v\"). The value stops at the closing quote of its own level.
 */
function jsonStringRule(keyPattern: string): RegExp {
  return new RegExp(`(\\\\*)"(${keyPattern})\\1"\\s*:\\s*\\1"((?:(?!\\1")[^"])*)`, 'gid');
}

/** `_context_trace_info`: an object ({...}); masked up to its closing brace (no nested objects inside). */
const TRACE_INFO_RULE = /(\\*)"_context_trace_info\1"\s*:\s*(\{[^}]*\}?|null)/gid;

const SECRET_HEADER_RULE = headerRule(SECRET_HEADERS);
const GROUND_TRUTH_HEADER_RULE = headerRule(GROUND_TRUTH_HEADERS);
const SECRET_JSON_RULE = jsonStringRule(SECRET_KEY_PATTERN);
const GROUND_TRUTH_JSON_RULE = jsonStringRule(GROUND_TRUTH_KEY_PATTERN);
/** Form or query parameters: password=...&, token=... */
const SECRET_FORM_RULE = new RegExp(`(?:^|[?&\\s])${SECRET_KEY_PATTERN}=([^&\\s]*)`, 'gid');
/** SQL that sets a password: IDENTIFIED BY 'x', PASSWORD('x'). */
const SQL_PASSWORD_RULE = /(?:identified\s+by|password\s*\(?\s*=?\s*)\s*'([^']*)/gid;
/** Redis inline AUTH command. */
const REDIS_INLINE_AUTH_RULE = /(?:^|\n)AUTH ([^\r\n]*)/gid;

function fillGroup(payload: Uint8Array, re: RegExp, text: string, group: number, byte: number, keep?: RegExp): number {
  let hits = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const span = m.indices?.[group];
    if (!span) continue;
    const [start, end] = span;
    for (let i = start; i < end; i++) {
      if (keep && keep.test(text[i]!)) continue;
      payload[i] = byte;
    }
    if (end > start) hits++;
    if (m[0].length === 0) re.lastIndex++;
  }
  return hits;
}

/** AMQP 0-9-1 connection.start-ok (class 10, method 11): the SASL response holds user and password. */
function redactAmqpStartOk(p: Uint8Array): number {
  // Frame: type 1 (method), channel 0, u32 size, class u16 = 10, method u16 = 11 (AMQP 0-9-1 spec, 4.2.3).
  if (p.length < 15 || p[0] !== 1 || p[1] !== 0 || p[2] !== 0) return 0;
  if (p[7] !== 0 || p[8] !== 10 || p[9] !== 0 || p[10] !== 11) return 0;
  let off = 11;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (off + 4 > p.length) return 0;
  off += 4 + view.getUint32(off); // client-properties table
  if (off >= p.length) return 0;
  off += 1 + p[off]!; // mechanism shortstr
  if (off + 4 > p.length) return 0;
  const len = view.getUint32(off);
  off += 4;
  const end = Math.min(p.length, off + len);
  for (let i = off; i < end; i++) if (p[i] !== 0) p[i] = STAR; // keep PLAIN's NUL separators
  return end > off ? 1 : 0;
}

/** MySQL HandshakeResponse41 (client's second packet, sequence id 1): the auth response after the user name. */
function redactMysqlHandshake(p: Uint8Array): number {
  // Header: 3-byte length, seq id 1; then caps u32, max packet u32, charset u8, 23 zero bytes (filler).
  if (p.length < 37 || p[3] !== 1) return 0;
  for (let i = 13; i < 36; i++) if (p[i] !== 0) return 0;
  const caps = p[4]! | (p[5]! << 8) | (p[6]! << 16) | (p[7]! << 24);
  const CLIENT_PROTOCOL_41 = 0x200;
  if (!(caps & CLIENT_PROTOCOL_41)) return 0;
  let off = 36;
  while (off < p.length && p[off] !== 0) off++; // user name
  off++;
  if (off >= p.length) return 0;
  const len = p[off]!; // auth response: 1-byte length (or length-encoded int < 251: same)
  off++;
  const end = Math.min(p.length, off + (len < 251 ? len : 0));
  for (let i = off; i < end; i++) p[i] = STAR;
  return end > off ? 1 : 0;
}

/** Redis AUTH (and HELLO ... AUTH) in RESP arrays: the one or two bulk strings after AUTH. */
function redactRedisAuth(p: Uint8Array, text: string): number {
  const marker = '$4\r\nAUTH\r\n';
  let hits = 0;
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
    let off = at + marker.length;
    for (let arg = 0; arg < 2 && text[off] === '$'; arg++) {
      const eol = text.indexOf('\r\n', off);
      if (eol < 0) break;
      const start = eol + 2;
      const end = Math.min(p.length, start + Number(text.slice(off + 1, eol)));
      for (let i = start; i < end; i++) p[i] = STAR;
      off = end + 2;
      hits++;
    }
  }
  return hits;
}

/** Replaces credentials in a payload head, in place. Returns how many values it replaced. */
export function redactSecrets(payload: Uint8Array): number {
  let hits = redactAmqpStartOk(payload) + redactMysqlHandshake(payload);
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  if (!SECRET_HINT.test(text)) return hits;
  hits += fillGroup(payload, SECRET_HEADER_RULE, text, 1, STAR);
  hits += fillGroup(payload, SECRET_JSON_RULE, text, 3, STAR);
  hits += fillGroup(payload, SECRET_FORM_RULE, text, 1, STAR);
  hits += fillGroup(payload, SQL_PASSWORD_RULE, text, 1, STAR);
  hits += redactRedisAuth(payload, text);
  hits += fillGroup(payload, REDIS_INLINE_AUTH_RULE, text, 1, STAR);
  return hits;
}

/**
 * Masks OSProfiler ground truth in place: X-Trace-Info / X-Trace-HMAC header values, `_context_trace_info` in
 * RPC messages, base_id/parent_id/trace_id/hmac_key string values, and the trace ids in OSProfiler's Redis keys.
 * Returns how many values it masked.
 */
export function maskGroundTruth(payload: Uint8Array): number {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  if (!GROUND_TRUTH_HINT.test(text)) return 0;
  let hits = fillGroup(payload, GROUND_TRUTH_HEADER_RULE, text, 1, EX);
  hits += fillGroup(payload, TRACE_INFO_RULE, text, 2, EX, /[{}\\"]/);
  hits += fillGroup(payload, GROUND_TRUTH_JSON_RULE, text, 3, EX);
  hits += fillGroup(payload, OSPROFILER_KEY_RULE, text, 1, EX);
  return hits;
}

/** Command-line flags whose next value (or `=value`) is a secret: --os-password x, --token=x, ... */
const SECRET_FLAG_RULE = new RegExp(`(--?${SECRET_KEY_PATTERN}(?:=| ))(\\S+)`, 'gi');
/** "Header: value" arguments, as in curl -H 'X-Auth-Token: x'. */
const SECRET_HEADER_ARG_RULE = new RegExp(`((?:${SECRET_HEADERS.join('|')})\\s*:\\s*)(\\S+)`, 'gi');

/** Process command lines are recorded in processes.parquet: credentials passed as arguments are replaced. */
export function redactCommandLine(cmdline: string): string {
  return cmdline
    .replace(SECRET_FLAG_RULE, (_m, flag: string, value: string) => flag + '*'.repeat(value.length))
    .replace(SECRET_HEADER_ARG_RULE, (_m, name: string, value: string) => name + '*'.repeat(value.length));
}
