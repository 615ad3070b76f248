/**
 * The codec of the capture's events segments: zstd, as DuckDB wrote them before (every Parquet reader the analysis
 * uses, DuckDB and ClickHouse, reads it), compressed in this process by zstd compiled to WebAssembly
 * (@bokuweb/zstd-wasm: the reference C library, no native build step, so `npm ci` works offline and in CI).
 * Measured on 134 k payloads of the compute-servers-v2 sample in 1 MiB pages (dev, load ~17, noisy):
 * zstd-wasm level 1 ~450 MB/s at ratio 22.7, level 3 ~390 MB/s at 27.4; Node's own brotli q1 ~480 MB/s at 19.2,
 * gzip level 1 ~180 MB/s at 9.0, snappy (napi) ~110 MB/s at 6.2.
 */
import { init, createCCtx, compressUsingDict } from '@bokuweb/zstd-wasm';

/** parquet.thrift CompressionCodec.ZSTD */
const CODEC_ZSTD = 6;
/** zstd level: 1 is the fastest of the levels that still find the repeated HTTP/SQL text (see the figures above). */
export const ZSTD_LEVEL = 1;

/**
 * init() instantiates the module anew, and a context made before then would point into the old memory: it runs
 * once per process and copy of the package (keyed by where it resolves), however many copies of this file are
 * loaded (benchmarks load two checkouts side by side).
 */
const READY = Symbol.for(`nitrace zstd-wasm ready: ${import.meta.resolve('@bokuweb/zstd-wasm')}`);
const shared = globalThis as unknown as Record<symbol, Promise<void> | undefined>;

/** No dictionary: compressUsingDict with it is plain ZSTD_compressCCtx (the same frames as ZSTD_compress). */
const NO_DICT = new Uint8Array(0);

/**
 * The page codec for writeParquet (capture/plainParquet.ts), once its WebAssembly module is loaded. One zstd context
 * per codec, reused for every page: the library's compress() makes and frees a context per call (its tables set up
 * again each time), ~15 % of the codec's CPU on the replay sample's pages (dev, zstd level 1: ~1.05 -> ~0.9 us/event).
 */
export async function zstdCodec(level = ZSTD_LEVEL): Promise<{ id: number; compress: (page: Uint8Array) => Uint8Array }> {
  await (shared[READY] ??= init());
  const cctx = createCCtx();
  return { id: CODEC_ZSTD, compress: (page) => compressUsingDict(cctx, page, NO_DICT, level) };
}
