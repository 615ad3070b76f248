import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics, stepOf } from './diagnostics.js';
import { NitraceError } from '../core/errors.js';

test('an unexpected error names the innermost step it was thrown in; a user error does not', async () => {
  const diag = new Diagnostics();
  const boom = new Error('Out of Memory Error: could not allocate block');
  await assert.rejects(
    diag.step('correlate', () => diag.step('correlate_ownership', async () => { throw boom; })),
    (err: unknown) => err === boom && stepOf(err) === 'correlate_ownership',
  );
  assert.ok(diag.timingsMs.correlate_ownership !== undefined, 'the failed step is still timed');
  const bad = new NitraceError('analyze', 'capture dir x: no manifest', 2);
  await assert.rejects(diag.step('load', async () => { throw bad; }), (err: unknown) => err === bad && stepOf(err) === undefined);
  assert.equal(stepOf('not an error'), undefined);
});
