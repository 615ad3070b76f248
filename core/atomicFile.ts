import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Write `data` to `path` through `path.tmp`, fsync'd, then renamed: a reader (or a crash) never sees half a file.
 * `durable: false` skips the fsync for outputs that are regenerated anyway (figures).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  if (opts.durable ?? true) {
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(tmp, path);
}
