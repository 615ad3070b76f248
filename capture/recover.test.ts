/**
 * capture-recover on every state a kill -9 can leave, built by hand without root: whatever the moment, every file
 * left in events/ is a readable segment listed in the manifest, and written + unflushed = forwarded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, truncateSync, statSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { recoverCapture } from './recover.js';
import { SegmentBuilder } from './segmentBuilder.js';
import { SegmentWriter } from './segmentWriter.js';
import { startManifest, writeManifest, type CaptureManifest } from './manifest.js';
import { RecordDecoder } from './recordDecoder.js';
import { ringRecord } from '../testing/ringRecords.js';
import { query } from '../testing/liveTestHelpers.js';

/** A segment's builder with `n` events starting at `t0` ns. */
function builderOf(n: number, t0: bigint): SegmentBuilder {
  const b = new SegmentBuilder(null);
  const d = new RecordDecoder();
  const recs = Buffer.concat(Array.from({ length: n }, (_, i) => ringRecord({ monoNs: t0 + BigInt(i), seq: i, payload: `event ${i}` })));
  d.push(recs, (buf, off) => b.add(buf, off));
  return b;
}

test('capture-recover: temps removed, spools converted or dropped, unlisted segments adopted, a corrupt spool quarantined; losses add up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace recover ')); // a path with spaces
  const ev = join(dir, 'events');
  try {
    mkdirSync(ev);
    const m: CaptureManifest = startManifest('n', { release: 'r', version: 'v', machine: 'm' }, {
      snaplen: 512, snaplen_ports: {}, greenlet: false, redact: true, pids: [], comms: [], ports: [], netns: [], command: null,
      segment_max_bytes: 1, segment_max_seconds: 1, ring_buffer_bytes: 1,
    });
    const w = await SegmentWriter.open('n', 0n);
    const seg = async (k: number, n: number) => {
      const b = builderOf(n, BigInt(k) * 1_000_000n);
      const spool = join(ev, `seg-00000${k}.spool.parquet`);
      await SegmentWriter.writeSpool(spool, b.columns(), b.rows);
      return { spool, b };
    };
    // 1: complete and listed
    let s = await seg(1, 10);
    m.segments.push(await w.convert(s.spool, join(ev, 'seg-000001.parquet'), 'events/seg-000001.parquet'));
    // 2: complete, the manifest was not rewritten yet
    s = await seg(2, 20);
    await w.convert(s.spool, join(ev, 'seg-000002.parquet'), 'events/seg-000002.parquet');
    // 3: spooled, not converted
    await seg(3, 30);
    // 4: converted, spool not removed yet
    s = await seg(4, 40);
    copyFileSync(s.spool, join(ev, 'spool-4'));
    await w.convert(s.spool, join(ev, 'seg-000004.parquet'), 'events/seg-000004.parquet');
    copyFileSync(join(ev, 'spool-4'), s.spool);
    rmSync(join(ev, 'spool-4'));
    // 5: spool being written; 6: segment being written (half files under .tmp names)
    s = await seg(5, 50);
    copyFileSync(s.spool, `${s.spool}.tmp`);
    rmSync(s.spool);
    truncateSync(`${s.spool}.tmp`, 100);
    writeFileSync(join(ev, 'seg-000006.parquet.tmp'), 'PAR1 half');
    // 7: a spool damaged on disk (not a crash of nitrace: e.g. a copy cut short)
    s = await seg(7, 70);
    truncateSync(s.spool, Math.floor(statSync(s.spool).size / 2));
    w.close();
    m.events.written = 10;
    writeManifest(dir, m);
    writeFileSync(join(dir, 'manifest.json.tmp'), '{"half');
    writeFileSync(join(dir, 'agent-stats.json'), JSON.stringify({ kernel_emitted: 230, ringbuf_drops: 0, payload_faults: 0, active_map_full: 0, filtered_in_kernel: 0, green_switches: 0, agent_records: 230, agent_bytes: 0, final: true }));

    const r = await recoverCapture(dir);
    assert.deepEqual(r.converted, ['events/seg-000003.parquet']);
    assert.deepEqual(r.adopted, ['events/seg-000002.parquet', 'events/seg-000004.parquet']);
    assert.deepEqual(r.droppedSpools, ['events/seg-000004.spool.parquet']);
    assert.deepEqual(r.removedTemps.sort(), ['events/seg-000005.spool.parquet.tmp', 'events/seg-000006.parquet.tmp', 'manifest.json.tmp']);
    assert.equal(r.quarantined.length, 1);
    assert.match(r.quarantined[0]!, /^events\/seg-000007\.spool\.parquet: /);

    const files = readdirSync(ev).filter((f) => f.endsWith('.parquet')).sort();
    assert.deepEqual(files, ['seg-000001.parquet', 'seg-000002.parquet', 'seg-000003.parquet', 'seg-000004.parquet']);
    assert.deepEqual(readdirSync(join(ev, 'quarantine')), ['seg-000007.spool.parquet']);
    const after = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CaptureManifest;
    assert.equal(after.status, 'recovered');
    assert.deepEqual(after.segments.map((x) => x.file), files.map((f) => `events/${f}`));
    const [[rows]] = await query<[bigint]>(`SELECT count(*) FROM read_parquet('${ev}/*.parquet')`);
    assert.equal(Number(rows), 100);
    assert.equal(after.events.written, 100);
    assert.equal(after.losses.unflushed, 130, 'spool 5 (50) and quarantined 7 (70) and segment 6 (10 unknown) are lost');
    assert.equal(after.events.written + after.losses.unflushed!, after.counters.agent_records);
    assert.match(after.error!, /quarantine/);

    const again = await recoverCapture(dir);
    assert.deepEqual([again.converted, again.adopted, again.droppedSpools, again.removedTemps, again.quarantined], [[], [], [], [], []], 'recovering twice changes nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A stand-in for an agent that outlived its capture: its command line names the stats file, as the real one's does. */
function fakeAgent(statsPath: string, finishAfterMs: number, records: number): ChildProcess {
  const script = `setTimeout(() => {
    const fs = require('node:fs');
    fs.writeFileSync(${JSON.stringify(statsPath)} + '.tmp', JSON.stringify({ kernel_emitted: ${records}, ringbuf_drops: 0, payload_faults: 0, active_map_full: 0, filtered_in_kernel: 0, green_switches: 0, agent_records: ${records}, agent_bytes: 0, final: true }));
    fs.renameSync(${JSON.stringify(statsPath)} + '.tmp', ${JSON.stringify(statsPath)});
  }, ${finishAfterMs});`;
  return spawn(process.execPath, ['-e', script, JSON.stringify({ stats_path: statsPath })], { stdio: 'ignore' });
}

test('capture-recover waits for an agent that outlived its capture, refuses a capture whose agent keeps running, says when counters are not final', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace recover-agent '));
  const stats = join(dir, 'agent-stats.json');
  const periodic = { kernel_emitted: 3, ringbuf_drops: 0, payload_faults: 0, active_map_full: 0, filtered_in_kernel: 0, green_switches: 0, agent_records: 3, agent_bytes: 0, final: false, time_ns: '1796000000000000000' };
  const capture = (pid: number) => {
    rmSync(join(dir, 'events'), { recursive: true, force: true });
    mkdirSync(join(dir, 'events'));
    const m = startManifest('n', { release: 'r', version: 'v', machine: 'm' }, {
      snaplen: 512, snaplen_ports: {}, greenlet: false, redact: true, pids: [], comms: [], ports: [], netns: [], command: null,
      segment_max_bytes: 1, segment_max_seconds: 1, ring_buffer_bytes: 1,
    });
    m.agent = { pid, probes: 1 };
    writeManifest(dir, m);
    writeFileSync(stats, JSON.stringify(periodic));
  };
  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)));
  try {
    // The agent writes its final counters 1.5 s after the capture died: recover waits for them.
    let agent = fakeAgent(stats, 1500, 42);
    capture(agent.pid!);
    const t0 = Date.now();
    const lines: string[] = [];
    let r = await recoverCapture(dir, { log: (l) => lines.push(l) });
    assert.ok(Date.now() - t0 >= 1000, 'waited for the agent');
    assert.equal(r.agentCounters, 'final');
    assert.equal(r.manifest.counters.agent_records, 42);
    assert.equal(r.manifest.losses.unflushed, 42);
    assert.equal(r.manifest.error, null);
    assert.match(lines.join('\n'), new RegExp(`waiting for the kernel agent \\(pid ${agent.pid}\\)`));
    await exited(agent);

    // An agent that keeps running (the capture is still running): an error after the timeout, nothing changed.
    agent = fakeAgent(stats, 60_000, 1);
    capture(agent.pid!);
    writeFileSync(join(dir, 'events', 'seg-000001.parquet.tmp'), 'half');
    await assert.rejects(recoverCapture(dir, { agentTimeoutMs: 500 }), /agent \(pid \d+\) still runs after 1 s: is the capture still running\?/);
    assert.equal((JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CaptureManifest).status, 'running');
    assert.deepEqual(readdirSync(join(dir, 'events')), ['seg-000001.parquet.tmp']);
    agent.kill('SIGKILL');
    await exited(agent);

    // The agent is gone without final counters (killed too): its periodic ones, said to give a lower bound.
    capture(agent.pid!);
    r = await recoverCapture(dir);
    assert.equal(r.agentCounters, 'periodic');
    assert.equal(r.agentCountersAt, new Date(1796000000000).toISOString());
    assert.equal(r.manifest.losses.unflushed, 3);
    assert.match(r.manifest.error!, /died without its final counters; losses\.unflushed is a lower bound/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
