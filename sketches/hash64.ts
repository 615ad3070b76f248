import { xxh3 } from '@node-rs/xxhash';

/**
 * A 64-bit hash of a key as two unsigned 32-bit halves (XXH3-64, @node-rs/xxhash: ~0.7 µs per short string here,
 * dominated by the N-API call). HyperLogLog needs 64 bits to stay unbiased past 2^32 distinct values, and Count-Min
 * derives its d row hashes from the two halves (Kirsch-Mitzenmacher double hashing).
 */
export interface Hash64 {
  hi: number;
  lo: number;
}

const MASK32 = 0xffffffffn;

export function hash64(key: string | Uint8Array, seed = 0n): Hash64 {
  const h = xxh3.xxh64(key, seed);
  return { hi: Number(h >> 32n), lo: Number(h & MASK32) };
}

/** 16 lowercase hex chars of the 64-bit hash (trace-shape ids). */
export function hash64Hex(key: string | Uint8Array): string {
  return xxh3.xxh64(key, 0n).toString(16).padStart(16, '0');
}
