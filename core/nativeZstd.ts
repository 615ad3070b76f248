/**
 * The native zstd of @mongodb-js/zstd (napi-rs; its linux/darwin/windows binaries are npm packages of their own,
 * optional dependencies: `npm ci` fetches them from the npm registry, nothing is built or downloaded from
 * elsewhere), or null where its binary does not load (another platform, an install made before it was a
 * dependency): callers keep a way without it. Both calls run on the libuv thread pool; `data` must stay unchanged
 * until the promise settles.
 */
import { createRequire } from 'node:module';

export interface NativeZstd {
  /** The binding itself: the package's index.js wrapper drops the level argument (1.2.2), the binding takes it. */
  compress: (data: Buffer, level?: number) => Promise<Buffer>;
  decompress: (data: Buffer) => Promise<Buffer>;
}

let native: NativeZstd | null | undefined;

export function nativeZstd(): NativeZstd | null {
  if (native === undefined) {
    try {
      native = createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as NativeZstd;
    } catch {
      native = null;
    }
  }
  return native;
}
