import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { init, decompress } from '@bokuweb/zstd-wasm';
import { zstdCodec, zstdEngines } from './segmentCodec.js';

const installed = (() => {
  try {
    createRequire(import.meta.url).resolve('@mongodb-js/zstd');
    return true;
  } catch {
    return false;
  }
})();

test('segmentCodec: the native zstd is the default where the package is installed, zstd-wasm otherwise', async () => {
  assert.deepEqual(zstdEngines(), installed ? ['native', 'wasm'] : ['wasm']);
  assert.equal((await zstdCodec()).engine, installed ? 'native' : 'wasm');
  if (!installed) await assert.rejects(zstdCodec('native'), /not installed/);
});

test('segmentCodec: every engine makes zstd frames of the page, a copy (the page memory is reused after)', async () => {
  await init();
  const page = new Uint8Array(200_000);
  for (let i = 0; i < page.length; i++) page[i] = (i * 31 + (i >> 9)) & 0x7f;
  // a view inside a larger buffer, as the writer's scratch pages are
  const backing = new Uint8Array(page.length + 64);
  backing.set(page, 32);
  const view = backing.subarray(32, 32 + page.length);
  for (const engine of zstdEngines()) {
    const codec = await zstdCodec(engine);
    const out = await codec.compress(view);
    backing.fill(0);
    assert.equal(codec.id, 6);
    assert.ok(out.length < page.length / 4, `${engine}: ${out.length} bytes`);
    assert.deepEqual(Buffer.from(decompress(out)), Buffer.from(page), engine);
    backing.set(page, 32);
  }
});
