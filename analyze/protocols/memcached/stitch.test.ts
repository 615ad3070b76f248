import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAll, streamOf, type RecordedChunk } from '../../../testing/protocolTestkit.js';
import { findFrameBoundary, parseFrame } from './parse.js';
import { stitch } from './stitch.js';
import { metaCommands, pymemcache, pythonMemcached } from './testdata.js';

const parser = { parseFrame, findFrameBoundary };
function stitchRecorded(recorded: readonly RecordedChunk[]) {
  return stitch(parseAll(parser, 'request', streamOf(recorded, 'request')).frames, parseAll(parser, 'response', streamOf(recorded, 'response')).frames);
}
const TOKEN = 'keystone.token-' + 'a'.repeat(32);

describe('memcached stitch', () => {
  it('python-memcached session', () => {
    const { records, errorCount } = stitchRecorded(pythonMemcached);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.path, r.status, r.resp?.command, r.hits]), [
      ['set', TOKEN, 'ok', 'STORED', null],
      ['get', TOKEN, 'ok', 'VALUE', 1],
      ['get', 'missing-key', 'ok', 'END', 0],
      ['get', 'tok1', 'ok', 'VALUE', 1],
      ['delete', TOKEN, 'ok', 'DELETED', null],
      ['incr', 'counter', 'ok', 'NOT_FOUND', null],
      ['set', 'counter', 'ok', 'STORED', null],
      ['incr', 'counter', 'ok', '7', null],
      ['set', 'big', 'ok', 'STORED', null],
      ['get', 'big', 'ok', 'VALUE', 1],
    ]);
  });
  it('pymemcache session: a noreply set gets no reply and does not shift the pairing', () => {
    const { records, errorCount } = stitchRecorded(pymemcache);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.resp?.command ?? null]), [
      ['set', 'STORED'], ['add', 'NOT_STORED'], ['gets', 'VALUE'], ['gets', 'VALUE'], ['cas', 'STORED'], ['touch', 'TOUCHED'],
      ['set', null], ['get', 'VALUE'], ['version', 'VERSION'],
    ]);
    assert.equal(records[7]!.hits, 2);
  });
  it('meta commands and an unknown command (error)', () => {
    const { records, errorCount } = stitchRecorded(metaCommands);
    assert.equal(errorCount, 0);
    assert.deepEqual(records.map((r) => [r.method, r.path, r.status, r.resp?.command]), [
      ['ms', 'meta1', 'ok', 'HD'], ['mg', 'meta1', 'ok', 'VA'], ['mg', 'nothere', 'ok', 'EN'], ['md', 'meta1', 'ok', 'HD'],
      ['mn', null, 'ok', 'MN'], ['bogus_command', null, 'error', 'ERROR'], ['stats', null, 'ok', 'STAT'],
    ]);
  });
});
