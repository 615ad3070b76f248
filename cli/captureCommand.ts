import { spawnSync } from 'node:child_process';
import { defineCommand } from './command.js';
import { runCapture, defaultNodeName } from '../capture/capture.js';
import { AGENT_PYTHON, AGENT_SCRIPT } from '../capture/kernelAgent.js';
import { formatSummary } from '../capture/summary.js';
import { runSketchCapture, sketchAgentConfig, SKETCH_AGENT_SCRIPT } from '../capture/sketchCapture.js';
import { UsageError } from '../core/errors.js';

export const captureCommand = defineCommand({
  name: 'capture',
  describe: 'record TCP socket I/O of processes with eBPF into Parquet segments (root)',
  builder: (y) =>
    y
      .usage('nitrace capture --out DIR [filters] [options] [-- CMD ARGS...]')
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'capture directory (must be new or empty, or --force)' })
      .option('pid', { alias: 'p', type: 'number', array: true, default: [] as number[], describe: 'trace this process and its children forked later (repeatable)' })
      .option('comm', { alias: 'c', type: 'string', array: true, default: [] as string[], describe: 'trace processes with this name (repeatable; with --pid: either matches)' })
      .option('port', { type: 'number', array: true, default: [] as number[], describe: 'only sockets with this local or remote port (repeatable)' })
      .option('netns', { type: 'number', array: true, default: [] as number[], describe: 'only sockets in this network namespace (inode of /proc/PID/ns/net; repeatable)' })
      .option('snaplen', { type: 'number', default: 512, describe: 'payload bytes kept per syscall (0..65536)' })
      .option('snaplen-port', { type: 'string', array: true, default: [] as string[], describe: 'PORT=N: keep N payload bytes (0..65536) on sockets with this local or remote port (repeatable)' })
      .option('greenlet', { type: 'boolean', default: true, describe: 'green-thread ids (gid) and green_spawn events from uprobes in greenlet (--no-greenlet: off)' })
      .option('duration', { alias: 'd', type: 'number', default: 0, describe: 'stop after S seconds (0: at command exit or Ctrl-C)' })
      .option('node', { type: 'string', default: defaultNodeName(), describe: 'node name recorded in every row' })
      .option('redact', { type: 'boolean', default: true, describe: 'replace credentials in payloads before writing (--no-redact keeps them)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace a capture already in --out' })
      .option('segment-mb', { type: 'number', default: 64, describe: 'close a segment at this much buffered data' })
      .option('segment-seconds', { type: 'number', default: 10, describe: 'close a segment after this long' })
      .option('ring-mb', { type: 'number', default: 64, describe: 'kernel ring buffer size in MiB (power of two); absorbs bursts while segments are written' })
      .option('nice', { type: 'number', default: 0, describe: 'nice value (1..19) for the capture\'s own decoding and writing while tracing: it then yields the CPU to the traced services, its queue absorbing the lag; it takes the normal priority back while the queue is over 64 MiB (0: normal priority)' })
      .option('mode', { type: 'string', choices: ['full', 'sketch'], default: 'full', describe: 'full: one event per syscall with payload heads; sketch: counts, byte totals, latency histograms and a count-min aggregated in kernel maps (capture/sketch.bpf.c)' })
      .option('drain-seconds', { type: 'number', default: 10, describe: 'sketch mode: read the kernel maps into DIR/sketch/ this often' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or summary on stderr' })
      .option('ebpf', { type: 'boolean', default: false, hidden: true, describe: 'print the BPF program and its cflags, then exit' })
      .example('nitrace capture --out /tmp/cap -- curl -s http://127.0.0.1:8080/', 'everything while curl runs')
      .example('nitrace capture --out /tmp/cap --comm uwsgi --comm glance-api --duration 60', 'two services for a minute')
      .example('nitrace capture --out /tmp/cap --port 5672 --snaplen 4096', 'RabbitMQ traffic with long payload heads')
      .example('nitrace capture --out /tmp/cap --comm nova-conductor --snaplen-port 5672=65536', 'whole oslo.messaging messages, 512-byte heads elsewhere')
      .example('nitrace capture --mode sketch --out /tmp/sk --comm uwsgi --duration 600', 'per-connection/process counts and latency histograms only, drained every 10 s')
      .epilog('Writes DIR/events/seg-*.parquet, DIR/processes.parquet and DIR/manifest.json (docs/capture-schema.md).\nWith -- CMD the exit code is CMD\'s.'),
  run: async (args) => {
    if (args.mode === 'sketch') {
      const command = ((args['--'] as (string | number)[] | undefined) ?? []).map(String);
      const cfg = { pids: args.pid, comms: args.comm, ports: args.port, netns: args.netns, drainSeconds: args.drainSeconds };
      if (args.ebpf) return spawnSync(AGENT_PYTHON, [SKETCH_AGENT_SCRIPT, JSON.stringify(sketchAgentConfig(cfg, [], '0')), '--ebpf'], { stdio: 'inherit' }).status ?? 1;
      const log = args.quiet ? () => {} : (line: string) => process.stderr.write(line + '\n');
      return (await runSketchCapture({ ...cfg, out: args.out, force: args.force, duration: args.duration, command, node: args.node, log })).exitCode;
    }
    const snaplenPorts = parseSnaplenPorts(args.snaplenPort);
    if (args.ebpf) {
      const r = spawnSync(AGENT_PYTHON, [AGENT_SCRIPT, JSON.stringify({ snaplen: args.snaplen, snaplen_ports: Object.fromEntries(snaplenPorts), greenlet: args.greenlet, ring_pages: args.ringMb * 256, salt: '0', pids: args.pid, comms: args.comm, ports: args.port, netns: args.netns, exclude_pids: [], stats_path: '/dev/null' }), '--ebpf'], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    const log = args.quiet ? () => {} : (line: string) => process.stderr.write(line + '\n');
    const command = ((args['--'] as (string | number)[] | undefined) ?? []).map(String);
    const result = await runCapture({
      out: args.out,
      force: args.force,
      pids: args.pid,
      comms: args.comm,
      ports: args.port,
      netns: args.netns,
      snaplen: args.snaplen,
      snaplenPorts,
      greenlet: args.greenlet,
      duration: args.duration,
      command,
      node: args.node,
      redact: args.redact,
      segmentMaxBytes: args.segmentMb * 1024 * 1024,
      segmentMaxSeconds: args.segmentSeconds,
      ringBufferBytes: args.ringMb * 1024 * 1024,
      nice: args.nice,
      log,
    });
    log(formatSummary(args.out, result.manifest));
    return result.exitCode;
  },
});

/** `--snaplen-port 5672=65536` (repeatable) -> port -> bytes; ranges are checked by validateOptions. */
function parseSnaplenPorts(values: string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const v of values) {
    const m = /^(\d+)=(\d+)$/.exec(String(v).trim());
    if (!m) throw new UsageError('capture', `--snaplen-port ${v}: expected PORT=BYTES, e.g. 5672=65536`);
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}
