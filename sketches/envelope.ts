import { crc32 } from 'node:zlib';
import { SketchError } from './sketchError.js';

/**
 * The binary form every sketch shares, so a blob read back from Parquet says what it is and whether it was damaged:
 *
 *   bytes 0..3   'NTSK' magic
 *   byte  4      envelope version (1)
 *   byte  5      kind code (SKETCH_KINDS)
 *   bytes 6..9   payload length, u32 little-endian
 *   payload      the sketch's own encoding (parameters first, then state)
 *   4 bytes      CRC-32 (zlib) of everything before it, u32 little-endian
 */
export const SKETCH_KINDS = { ddsketch: 1, hyperloglog: 2, spacesaving: 3, countmin: 4, traceshapes: 5 } as const;
export type SketchKind = keyof typeof SKETCH_KINDS;

const MAGIC = [0x4e, 0x54, 0x53, 0x4b]; // 'NTSK'
const VERSION = 1;
const HEADER = 10;
const TRAILER = 4;

export function wrapPayload(kind: SketchKind, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length + TRAILER);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = SKETCH_KINDS[kind];
  view.setUint32(6, payload.length, true);
  out.set(payload, HEADER);
  view.setUint32(HEADER + payload.length, crc32(out.subarray(0, HEADER + payload.length)), true);
  return out;
}

/** The kind a blob declares (checked: magic, version, length, CRC). */
export function blobKind(blob: Uint8Array): SketchKind {
  return open(blob).kind;
}

/** Checks the envelope and returns the payload; `expected` names the kind the caller can decode. */
export function unwrapPayload(blob: Uint8Array, expected: SketchKind): Uint8Array {
  const { kind, payload } = open(blob);
  if (kind !== expected) throw new SketchError(`blob holds a ${kind} sketch, not a ${expected} sketch`);
  return payload;
}

function open(blob: Uint8Array): { kind: SketchKind; payload: Uint8Array } {
  if (!(blob instanceof Uint8Array)) throw new SketchError(`sketch blob must be bytes, got ${typeof blob}`);
  if (blob.length < HEADER + TRAILER || MAGIC.some((b, i) => blob[i] !== b)) {
    throw new SketchError(`corrupt sketch blob: no 'NTSK' header (${blob.length} bytes)`);
  }
  if (blob[4] !== VERSION) throw new SketchError(`sketch blob has envelope version ${blob[4]}; this nitrace reads version ${VERSION}`);
  const code = blob[5];
  const kind = (Object.keys(SKETCH_KINDS) as SketchKind[]).find((k) => SKETCH_KINDS[k] === code);
  if (!kind) throw new SketchError(`sketch blob has unknown kind code ${code}`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const len = view.getUint32(6, true);
  if (HEADER + len + TRAILER !== blob.length) {
    throw new SketchError(`corrupt ${kind} blob: header says ${len} payload bytes, blob has ${blob.length - HEADER - TRAILER}`);
  }
  const want = view.getUint32(HEADER + len, true);
  const got = crc32(blob.subarray(0, HEADER + len));
  if (want !== got) throw new SketchError(`corrupt ${kind} blob: CRC-32 mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`);
  return { kind, payload: blob.subarray(HEADER, HEADER + len) };
}
