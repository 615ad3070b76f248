import duckdbBindings from '@duckdb/node-bindings';

/**
 * Fills a DuckDB VARCHAR vector with a block of strings in a few native calls instead of one per row. A vector's
 * data is one 16-byte duckdb_string_t per row: the length (4 bytes), then the bytes themselves if there are 12 or
 * fewer (zero-padded: DuckDB compares inlined strings by all 16 bytes), else a 4-byte prefix and a pointer into the
 * vector's string heap. Short strings are written inline here; a long one is given to the engine once per block
 * (vector_assign_string_element copies it into the heap) and the rows that repeat it reuse its record. The records
 * are then copied into the vector in one call. Most strings the parse step appends are short or repeat within a
 * block (kind, protocol, method, status, node, SQL paths): per 2 048-row block of call_sides, a handful of native
 * calls per column instead of up to 2 048.
 */

/** Bytes of a duckdb_string_t. */
const RECORD = 16;
/** Longest string stored inside its record. */
const INLINE = 12;

/** The engine's vector (duckdb_vector). */
type RawVector = Parameters<typeof duckdbBindings.vector_assign_string_element>[0];

/** What writeStrings knows of a dictionary's entries, kept per dictionary (one per transferred batch column). */
interface PreparedDictionary {
  /** Per entry: 0 not looked at yet, 1 inline (its record in `records`), 2 long. */
  state: Uint8Array;
  records: Uint8Array;
  /** Per long entry: the block it was last assigned in (block number + 1) and its row there. */
  block: Int32Array;
  row: Int32Array;
}

const utf8 = new TextEncoder();

export class StringVectorWriter {
  private readonly records: Uint8Array;
  private readonly words: Uint32Array;
  /** Rows whose long string the engine was given in this block, and rows that copy another row's record. */
  private readonly assigned: Int32Array;
  private readonly copyTo: Int32Array;
  private readonly copyFrom: Int32Array;
  private readonly scratch = new Uint8Array(INLINE * 3);
  private readonly prepared = new WeakMap<readonly string[], PreparedDictionary>();
  private blocks = 0;

  constructor(private readonly maxRows: number) {
    this.records = new Uint8Array(maxRows * RECORD);
    this.words = new Uint32Array(this.records.buffer);
    this.assigned = new Int32Array(maxRows);
    this.copyTo = new Int32Array(maxRows);
    this.copyFrom = new Int32Array(maxRows);
  }

  /** Rows [off, off + n) of `values` (NULL rows: nulls[i] = 1) into rows [0, n) of `vector`. */
  write(vector: RawVector, values: ArrayLike<string | null>, nulls: Uint8Array, off: number, n: number): void {
    this.check(n);
    const { records } = this;
    records.fill(0, 0, n * RECORD);
    let assigned = 0;
    let copies = 0;
    let first: Map<string, number> | null = null;
    for (let i = 0; i < n; i++) {
      if (nulls[off + i]) continue;
      const s = values[off + i]!;
      if (this.inline(s, i * RECORD)) continue;
      const at = (first ??= new Map()).get(s);
      if (at === undefined) {
        duckdbBindings.vector_assign_string_element(vector, i, s);
        first.set(s, i);
        this.assigned[assigned++] = i;
      } else {
        this.copyTo[copies] = i;
        this.copyFrom[copies++] = at;
      }
    }
    this.finish(vector, n, assigned, copies);
  }

  /** Rows [off, off + n) given as codes into `dictionary` (see dictionaryEncode), into rows [0, n) of `vector`. */
  writeCoded(vector: RawVector, codes: Int32Array, dictionary: readonly string[], nulls: Uint8Array, off: number, n: number): void {
    this.check(n);
    const { records } = this;
    const d = this.prepare(dictionary);
    const block = ++this.blocks;
    let assigned = 0;
    let copies = 0;
    for (let i = 0; i < n; i++) {
      const at = i * RECORD;
      if (nulls[off + i]) {
        records.fill(0, at, at + RECORD);
        continue;
      }
      const code = codes[off + i]!;
      let state = d.state[code]!;
      if (state === 0) {
        records.fill(0, at, at + RECORD);
        state = d.state[code] = this.inline(dictionary[code]!, at) ? 1 : 2;
        if (state === 1) d.records.set(records.subarray(at, at + RECORD), code * RECORD);
      }
      if (state === 1) {
        records.set(d.records.subarray(code * RECORD, code * RECORD + RECORD), at);
      } else if (d.block[code] !== block) {
        duckdbBindings.vector_assign_string_element(vector, i, dictionary[code]!);
        d.block[code] = block;
        d.row[code] = i;
        this.assigned[assigned++] = i;
      } else {
        this.copyTo[copies] = i;
        this.copyFrom[copies++] = d.row[code]!;
      }
    }
    this.finish(vector, n, assigned, copies);
  }

  private check(n: number): void {
    if (n > this.maxRows) throw new Error(`duckdb: ${n} strings in a block of at most ${this.maxRows}`);
  }

  private prepare(dictionary: readonly string[]): PreparedDictionary {
    let d = this.prepared.get(dictionary);
    if (!d) {
      const k = dictionary.length;
      d = { state: new Uint8Array(k), records: new Uint8Array(k * RECORD), block: new Int32Array(k), row: new Int32Array(k) };
      this.prepared.set(dictionary, d);
    }
    return d;
  }

  /** Writes `s` inline into the (zeroed) record at byte `at` if its UTF-8 form fits; false if it is longer. */
  private inline(s: string, at: number): boolean {
    const len = s.length;
    if (len > INLINE) return false;
    const records = this.records;
    for (let k = 0; k < len; k++) {
      const ch = s.charCodeAt(k);
      if (ch >= 0x80) {
        // Not ASCII: its UTF-8 form may be longer than its UTF-16 length (scratch holds any 12 units' UTF-8).
        const written = utf8.encodeInto(s, this.scratch).written!;
        if (written > INLINE) {
          records.fill(0, at, at + RECORD);
          return false;
        }
        records.set(this.scratch.subarray(0, written), at + 4);
        this.words[at >>> 2] = written;
        return true;
      }
      records[at + 4 + k] = ch;
    }
    this.words[at >>> 2] = len;
    return true;
  }

  /** Takes the records of the strings the engine stored, copies them to the rows that repeat them, writes all. */
  private finish(vector: RawVector, n: number, assigned: number, copies: number): void {
    const records = this.records;
    if (assigned > 0) {
      const stored = duckdbBindings.vector_get_data(vector, n * RECORD);
      for (let k = 0; k < assigned; k++) {
        const at = this.assigned[k]! * RECORD;
        records.set(stored.subarray(at, at + RECORD), at);
      }
    }
    for (let k = 0; k < copies; k++) records.copyWithin(this.copyTo[k]! * RECORD, this.copyFrom[k]! * RECORD, this.copyFrom[k]! * RECORD + RECORD);
    duckdbBindings.copy_data_to_vector(vector, 0, records.buffer as ArrayBuffer, 0, n * RECORD);
  }
}
