/**
 * The codec of the capture's events segments: zstd, as DuckDB wrote them before (every Parquet reader the analysis
 * uses, DuckDB and ClickHouse, reads it). Pages are compressed by the native zstd of @mongodb-js/zstd (napi-rs; the
 * linux/darwin/windows binaries are npm packages of their own, optional dependencies, so `npm ci` fetches them from
 * the npm registry with no build step or download from elsewhere), on a libuv worker thread while the capture
 * reads its pipe. Where that binary is missing (another platform, an install made before it was a dependency), zstd
 * compiled to WebAssembly (@bokuweb/zstd-wasm) compresses instead: the same format, reads back the same.
 * Measured on 60 MiB of replay-sample records in 1 MiB pages, one core, level 1 (dev, load ~10): native ~60 ms CPU,
 * wasm ~100 ms (ratio 14.1 both). Earlier (compute-servers-v2 payloads, load ~17): zstd-wasm level 1 ~450 MB/s at
 * ratio 22.7, level 3 ~390 MB/s at 27.4; Node's own brotli q1 ~480 MB/s at 19.2, gzip level 1 ~180 MB/s at 9.0,
 * snappy (napi) ~110 MB/s at 6.2.
 */
import { init, createCCtx, compressUsingDict } from '@bokuweb/zstd-wasm';
import { nativeZstd } from '../core/nativeZstd.js';
import type { PageCodec } from './plainParquet.js';

/** parquet.thrift CompressionCodec.ZSTD */
const CODEC_ZSTD = 6;
/**
 * zstd levels. wasm: 1 is the fastest of the levels that still find the repeated HTTP/SQL text (see the figures
 * above). native: 2, because the binding compresses as a stream without the page's size, so zstd takes its parameters
 * for large inputs, where level 1's longer minimum match lost the 64-bit timestamp columns (mono_ns, ts_ns: +50 %
 * bytes, +15 % per segment in the replay); level 2 there is as small as wasm level 1 (mono_ns pages 599 k vs 602 k
 * bytes, mixed 1 MiB pages 4.18 M vs 4.46 M) at native level 1's CPU (~55 ms per 60 MiB vs wasm ~100, dev, load ~10).
 */
export const ZSTD_LEVEL = { native: 2, wasm: 1 } as const;

/** The page codec for writeParquet (capture/plainParquet.ts), and which zstd compresses. */
export interface ZstdCodec extends PageCodec {
  engine: 'native' | 'wasm';
}

/** The engines that can compress here (wasm always; native when its binary loads). */
export function zstdEngines(): ZstdCodec['engine'][] {
  return nativeZstd() === null ? ['wasm'] : ['native', 'wasm'];
}

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
 * The page codec: native zstd when its binary loads, else zstd-wasm (`engine` forces one, for tests and benchmarks).
 * zstd-wasm keeps one context per codec, reused for every page: the library's compress() makes and frees a context
 * per call (its tables set up again each time), ~15 % of the codec's CPU on the replay sample's pages.
 */
export async function zstdCodec(engine?: ZstdCodec['engine']): Promise<ZstdCodec> {
  const n = engine === 'wasm' ? null : nativeZstd();
  if (n !== null) {
    const level = ZSTD_LEVEL.native;
    return { id: CODEC_ZSTD, engine: 'native', compress: (page) => n.compress(Buffer.from(page.buffer, page.byteOffset, page.byteLength), level) };
  }
  if (engine === 'native') throw new Error('zstdCodec: the native zstd (@mongodb-js/zstd) is not installed');
  await (shared[READY] ??= init());
  const cctx = createCCtx();
  const level = ZSTD_LEVEL.wasm;
  return { id: CODEC_ZSTD, engine: 'wasm', compress: (page) => compressUsingDict(cctx, page, NO_DICT, level) };
}
