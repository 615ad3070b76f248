import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalShape, type ShapeSpan } from './canonicalShape.js';

const span = (id: string, parent: string | null, label: string, start = 0, end = 10): ShapeSpan => ({ span_id: id, parent_span_id: parent, label, start_ns: start, end_ns: end });

test('the same tree in any span or child order has one shape; a different label or count is another shape', () => {
  const a = [span('r', null, 'server api GET /v2/servers', 0, 100), span('c1', 'r', 'client api SELECT'), span('c2', 'r', 'client api get'), span('s1', 'c1', 'server mariadbd SELECT')];
  const b = [a[3]!, a[2]!, a[1]!, a[0]!];
  assert.equal(canonicalShape(a).shape, canonicalShape(b).shape);
  assert.equal(canonicalShape(a).description, 'server api GET /v2/servers [4 spans, depth 3]');
  assert.equal(canonicalShape(a).latencyNs, 100);
  // The memcached get under the SQL client instead of the root: same labels, other tree.
  const moved = [a[0]!, a[1]!, span('c2', 'c1', 'client api get'), a[3]!];
  assert.notEqual(canonicalShape(moved).shape, canonicalShape(a).shape);
  assert.notEqual(canonicalShape([...a, span('c3', 'r', 'client api get')]).shape, canonicalShape(a).shape);
});

test('orphans become roots under one virtual root; cycles and self-parents do not hang', () => {
  const t = canonicalShape([span('x', 'missing', 'client a get', 5, 7), span('y', null, 'server b GET /', 1, 20)]);
  assert.match(t.description, /^2 roots: client a get \| server b GET \/ \[2 spans, depth 2\]$/);
  assert.equal(t.latencyNs, 19);
  const cyc = canonicalShape([span('p', 'q', 'A'), span('q', 'p', 'B'), span('s', 's', 'C')]);
  assert.equal(cyc.spans, 3);
  assert.match(cyc.shape, /^[0-9a-f]{16}$/);
  // A chain 5000 deep (no stack overflow).
  const deep = Array.from({ length: 5000 }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`, 'L'));
  assert.match(canonicalShape(deep).description, /depth 5000/);
});
