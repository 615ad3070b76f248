/** The manifest's accounting at the end of a capture (capture/manifest.ts: startManifest, finishManifest). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startManifest, finishManifest, type CaptureEnd } from './manifest.js';
import type { AgentStats } from './kernelAgent.js';

const stats: AgentStats = { kernel_emitted: 1000, ringbuf_drops: 5, payload_faults: 1, active_map_full: 2, filtered_in_kernel: 40, green_switches: 7, agent_records: 995, agent_bytes: 99_000 };
const base: CaptureEnd = { stats, stopClock: { when: 'stop', realtime_ns: '2000000000500', monotonic_ns: '1000000000000', uncertainty_ns: 100 }, greenlet: null, decoderMalformed: 0, failure: null, interrupted: false };

function running() {
  const m = startManifest('n', { release: 'r', version: 'v', machine: 'm' }, {
    snaplen: 512, snaplen_ports: {}, greenlet: true, redact: true, pids: [], comms: [], ports: [], netns: [], command: null,
    segment_max_bytes: 1, segment_max_seconds: 1, ring_buffer_bytes: 1,
  }, new Date(0));
  m.clock.mono_to_realtime_ns = '1000000000000';
  m.events.written = 990;
  return m;
}

test('finishManifest: a clean stop is complete, its losses are the kernel\'s, nothing unflushed, drift from the stop clock', () => {
  const m = running();
  assert.equal(m.status, 'running');
  finishManifest(m, base, new Date(5000));
  assert.equal(m.status, 'complete');
  assert.equal(m.error, null);
  assert.deepEqual(m.losses, { ringbuf_drops: 5, active_map_full: 2, payload_faults: 1, unflushed: 0, decoder_malformed: 0 });
  assert.deepEqual(m.counters, { kernel_emitted: 1000, filtered_in_kernel: 40, agent_records: 995, green_switches: 7 });
  assert.equal(m.clock.drift_ns, 500);
  assert.equal(m.stopped_at, new Date(5000).toISOString());
});

test('finishManifest: a failure counts what the agent forwarded but no segment holds; an interrupt is not a failure', () => {
  const failed = running();
  finishManifest(failed, { ...base, failure: 'disk full while writing x', decoderMalformed: 1 });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error, 'disk full while writing x');
  assert.equal(failed.losses.unflushed, 5);
  assert.equal(failed.losses.decoder_malformed, 1);
  const stopped = running();
  finishManifest(stopped, { ...base, interrupted: true });
  assert.equal(stopped.status, 'interrupted');
  const early = running();
  finishManifest(early, { ...base, stats: null, stopClock: null, failure: 'could not load the probes' });
  assert.equal(early.status, 'failed');
  assert.equal(early.losses.unflushed, null, 'unknown without the agent\'s counters');
});
