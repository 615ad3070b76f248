import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { packageRoot } from '../core/version.js';
import { NitraceError } from '../core/errors.js';
import { PipeReader, openPipe } from './pipeReader.js';

/** Configuration handed to capture/agent.py (JSON on argv). */
export interface AgentConfig {
  snaplen: number;
  /** --snaplen-port: payload bytes kept for sockets with this local or remote port (JSON keys are ports). */
  snaplen_ports: Record<string, number>;
  /** Attach the greenlet uprobes (green-thread ids, green_spawn events) to libraries traced processes map. */
  greenlet: boolean;
  ring_pages: number;
  salt: string; // decimal u63, a string because it exceeds 2^53
  pids: number[];
  comms: string[];
  ports: number[];
  netns: number[];
  exclude_pids: number[];
  stats_path: string;
}

export interface ClockSample {
  when: string;
  realtime_ns: string;
  monotonic_ns: string;
  uncertainty_ns: number;
}

/** Counters the agent reports (names from capture/agent.py). */
export interface AgentStats {
  kernel_emitted: number;
  ringbuf_drops: number;
  payload_faults: number;
  active_map_full: number;
  filtered_in_kernel: number;
  green_switches: number;
  /** Events the consumer wrote to Node (capture/nitrace_consumer.c), and their bytes. */
  agent_records: number;
  agent_bytes: number;
  /** The consumer's own counters (records, conns, threads, unknown_conn, unknown_thread, queue sizes, ...). */
  consumer?: Record<string, number | boolean>;
  final?: boolean;
}

/** Greenlet libraries the agent attached its uprobes to, and those it would not (capture/greenlet_probes.py). */
export interface GreenletReport {
  /** Libraries with the processes (pids) whose memory holds the probes. */
  attached: { path: string; version: string; pids: number[] }[];
  skipped: { path: string; reason: string }[];
}

type ControlMessage =
  | { type: 'ready'; pid: number; clock: ClockSample; probes: number }
  | ({ type: 'stats' } & AgentStats)
  | { type: 'error'; stage: string; message: string }
  | ({ type: 'greenlet' } & GreenletReport)
  | { type: 'stopped'; clock: ClockSample };

export const AGENT_PYTHON = '/usr/bin/python3';
export const AGENT_SCRIPT = join(packageRoot, 'capture', 'agent.py');

/**
 * The kernel agent (capture/agent.py) as a child process: raw ring-buffer records arrive on its stdout (a pipe
 * read into one reused buffer, capture/pipeReader.ts), control messages as JSON lines on fd 3. The agent dies with
 * us (PR_SET_PDEATHSIG).
 */
export class KernelAgent {
  stats: AgentStats | null = null;
  stopClock: ClockSample | null = null;
  error: string | null = null;
  /** Latest greenlet report (the agent sends one whenever it attaches to a new library). */
  greenlet: GreenletReport = { attached: [], skipped: [] };
  readonly exited: Promise<number>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly records: PipeReader,
    readonly readyClock: ClockSample,
    readonly pid: number,
    readonly probes: number,
    exited: Promise<number>,
  ) {
    this.exited = exited;
  }

  /**
   * Start the agent and resolve once its probes are attached; `onData` receives raw record bytes (a chunk is valid
   * only during the call: PipeReader). `command`: the agent's interpreter and script (tests put a stand-in there).
   */
  static start(cfg: AgentConfig, onData: (chunk: Buffer) => void, command: [string, string] = [AGENT_PYTHON, AGENT_SCRIPT]): Promise<KernelAgent> {
    const pipe = openPipe();
    let child: ChildProcess;
    try {
      child = spawn(command[0], [command[1], JSON.stringify(cfg)], { stdio: ['ignore', pipe.writeFd, 'inherit', 'pipe'] });
    } finally {
      closeSync(pipe.writeFd); // the agent (and its consumer) hold the write end now: EOF once they exit
    }
    const records = new PipeReader(pipe.readFd, onData);
    // exited: the process has exited and every record it wrote has been read
    const closed = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    const exited = Promise.all([closed, records.ended]).then(([code]) => code);
    return new Promise((resolve, reject) => {
      let agent: KernelAgent | null = null;
      let pendingError: string | null = null;
      let greenlet: GreenletReport | null = null;
      child.on('error', (err) => reject(new NitraceError('capture', `cannot start ${command[0]}: ${err.message}`, 3)));
      const lines = createInterface({ input: child.stdio[3] as Readable });
      lines.on('line', (line) => {
        let msg: ControlMessage;
        try {
          msg = JSON.parse(line) as ControlMessage;
        } catch {
          return;
        }
        if (msg.type === 'ready') {
          agent = new KernelAgent(child, records, msg.clock, msg.pid, msg.probes, exited);
          if (greenlet) agent.greenlet = greenlet;
          resolve(agent);
        } else if (msg.type === 'stats') {
          if (agent) agent.stats = msg;
        } else if (msg.type === 'error') {
          pendingError = `${msg.stage}: ${msg.message}`;
          if (agent) agent.error = pendingError;
        } else if (msg.type === 'greenlet') {
          greenlet = { attached: msg.attached, skipped: msg.skipped };
          if (agent) agent.greenlet = greenlet;
        } else if (msg.type === 'stopped') {
          if (agent) agent.stopClock = msg.clock;
        }
      });
      void exited.then((code) => {
        if (!agent) {
          reject(new NitraceError('capture', loadFailureMessage(pendingError ?? `the kernel agent exited with code ${code} before attaching its probes`), 3));
        }
      });
    });
  }

  /** Stop or resume reading the agent's records (backpressure while segments are written). */
  pause(paused: boolean): void {
    this.records.pause(paused);
  }

  /** Ask the agent to drain the ring buffer and stop; resolves with its exit code once stdout is fully read. */
  async stop(): Promise<number> {
    this.pause(false);
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Turn BCC's load errors into what to do about them. */
function loadFailureMessage(detail: string): string {
  if (/Permission denied|Operation not permitted|EPERM/.test(detail) && process.getuid?.() !== 0) {
    return `loading BPF programs needs root (${detail})`;
  }
  if (/No such file|kernel headers|modules\/.*build|failed to compile/i.test(detail)) {
    return `BCC could not compile the probes: ${detail}\nInstall the toolchain with \`make kernel-deps\` (scripts/setup-kernel.sh).`;
  }
  return `could not load the probes: ${detail}`;
}
