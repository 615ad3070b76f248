import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/version.js';
import { messagingProtocols, pooledSessionProtocols, protocols, requestIdFields, resourceIdFields, resourcePathProtocols, rowIdFields, sessionBeginPaths, sessionEndPaths } from './registry.js';

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

test('registry: correlate/ names no protocol, edge kind or resource id field (protocol knowledge lives in the specs)', () => {
  // What the correlators need to know of a protocol they ask the registry for (messagingProtocols, pooledSessions...).
  const correlate = join(packageRoot, 'analyze', 'correlate');
  const named = [...new Set([...protocols.map((p) => p.name), ...protocols.map((p) => p.edgeKind), ...Object.keys(resourceIdFields)])];
  for (const f of readdirSync(correlate).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const text = readFileSync(join(correlate, f), 'utf8');
    for (const name of named) assert.ok(!text.includes(`'${name}'`), `${f} names ${name}`);
  }
});

test('registry: what the correlators ask of protocols comes from the specs', () => {
  assert.deepEqual(messagingProtocols, ['amqp']);
  assert.deepEqual(resourcePathProtocols, ['http']);
  assert.deepEqual(pooledSessionProtocols, ['mysql']);
  assert.deepEqual([...sessionBeginPaths], ['SELECT ?']);
  assert.deepEqual([...sessionEndPaths].sort(), ['COMMIT', 'ROLLBACK']);
  assert.deepEqual(resourceIdFields, { sql_uuid: 'uuid', sql_keystone_id: 'keystone_id', sql_row_id: 'row_id' });
  assert.deepEqual(rowIdFields, ['sql_row_id']);
  // Row ids name database rows, never a request: no field is both.
  assert.deepEqual(rowIdFields.filter((f) => requestIdFields.includes(f)), []);
});
