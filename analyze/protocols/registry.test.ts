import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { protocols, requestIdFields } from './registry.js';

test('registry: every protocol folder with a spec.ts is registered exactly once', () => {
  const dir = join(packageRoot, 'analyze', 'protocols');
  const withSpec = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'spec.ts'))).sort();
  const names = protocols.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual([...names].sort(), withSpec);
});

test('registry: request id fields come from the specs, and correlate/ repeats none of them', () => {
  // The fields OpenStack's request id travels in (HTTP headers and body heads, oslo's RPC context, SQL text).
  assert.deepEqual([...requestIdFields].sort(), ['body:request_id', 'global_request_id', 'openstack-request-id', 'request_id', 'x-compute-request-id', 'x-openstack-request-id', 'x-request-id']);
  const correlate = join(packageRoot, 'analyze', 'correlate');
  for (const f of readdirSync(correlate).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const text = readFileSync(join(correlate, f), 'utf8');
    for (const field of requestIdFields.filter((x) => x.includes('-') || x.includes(':'))) assert.ok(!text.includes(`'${field}'`), `${f} names ${field}`);
  }
});

test('registry: correlate/ names no protocol outside the files that still do (a ratchet: issue 8 item 6)', () => {
  // Protocol knowledge belongs in the specs. These files still name protocols in their SQL; no other file may start.
  const stillNaming = new Set(['dbSession.ts', 'handlerEnds.ts', 'ownership.ts', 'resourceIds.ts']);
  const correlate = join(packageRoot, 'analyze', 'correlate');
  for (const f of readdirSync(correlate).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && !stillNaming.has(n))) {
    const text = readFileSync(join(correlate, f), 'utf8');
    for (const p of protocols) assert.ok(!text.includes(`'${p.name}'`), `${f} names the protocol ${p.name}`);
  }
});
