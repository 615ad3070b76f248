import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { protocols } from './registry.js';

test('registry: every protocol folder with a spec.ts is registered exactly once', () => {
  const dir = join(packageRoot, 'analyze', 'protocols');
  const withSpec = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'spec.ts'))).sort();
  const names = protocols.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual([...names].sort(), withSpec);
});
