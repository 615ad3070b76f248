/**
 * A real RabbitMQ broker for tests: Debian's rabbitmq-server (scripts/setup-rabbitmq.sh installs it) started as a
 * throwaway node on loopback, free ports, a fresh temporary directory for everything it writes (data, logs, Erlang
 * cookie), and its own epmd on its own port. It never meets a broker already on the machine (the lab's on 5672 and
 * its Erlang node, epmd on 4369): different ports, node name, cookie and epmd. `stop()` stops the node, the epmd
 * this started and removes the directory. No systemd, no rabbitmqctl: the AMQP handshake says when it is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './freePorts.js';

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'];

export interface RabbitMqServer {
  /** AMQP port on 127.0.0.1 (user guest/guest, vhost /). */
  port: number;
  /** oslo.messaging transport URL. */
  transportUrl: string;
  /** The broker's OS process (beam.smp): what `nitrace capture --pid` takes. */
  pid: number;
  /** The broker's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface RabbitMqOptions {
  /**
   * AMQP frame_max the broker offers (py-amqp, kombu's client, takes the broker's value): a smaller one splits
   * messages into more body frames. RabbitMQ's minimum is 4096; default here 131072 (RabbitMQ's default).
   */
  frameMax?: number;
  /** How long to wait for the broker to accept AMQP connections (ms; Erlang boots slowly on a loaded machine). */
  startTimeoutMs?: number;
  /** AMQP port (default: a free one), for callers that start the broker's clients while it boots. */
  amqpPort?: number;
}

/** Why a broker cannot be started here (for a test's skip message), or null. */
export function rabbitmqMissing(): string | null {
  if (!existsSync(RABBITMQ_SERVER)) return `rabbitmq-server is not installed (${RABBITMQ_SERVER}): run scripts/setup-rabbitmq.sh as root (make test does)`;
  if (!EPMD.some((p) => existsSync(p))) return 'epmd (erlang-base) is not installed: run scripts/setup-rabbitmq.sh as root';
  return null;
}

const running = new Set<ChildProcess>();
const runningPids = new Set<number>();
// A test that throws past its `finally` must not leave a broker behind.
process.once('exit', () => {
  for (const pid of runningPids) killQuietly(pid, 'SIGKILL');
  for (const child of running) child.kill('SIGKILL');
});

export async function startRabbitMq(opts: RabbitMqOptions = {}): Promise<RabbitMqServer> {
  const missing = rabbitmqMissing();
  if (missing) throw new Error(missing);
  const [distPort, epmdPort, freeAmqp] = (await freePorts(3)) as [number, number, number];
  const amqpPort = opts.amqpPort ?? freeAmqp;
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-rabbitmq-'));
  mkdirSync(join(dir, 'home'));
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
      'distribution.listener.interface = 127.0.0.1',
      `distribution.listener.port_range.min = ${distPort}`,
      `distribution.listener.port_range.max = ${distPort}`,
      `frame_max = ${opts.frameMax ?? 131072}`,
      // a test machine's disk may be fuller than RabbitMQ's default 50 MB floor allows for publishing
      'disk_free_limit.absolute = 1MB',
      'log.console = false',
      'log.file.level = warning',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const node = `nitrace${process.pid}x${amqpPort}@localhost`;
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'), // the Erlang cookie goes here, not into the user's home
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'), // not /etc/rabbitmq's
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'beam.pid'),
  };
  // Our own epmd in the foreground, so it is ours to stop (erl would otherwise daemonize one that outlives the test).
  const epmd = spawn(EPMD.find((p) => existsSync(p))!, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env, stdio: 'ignore' });
  running.add(epmd);
  epmd.once('exit', () => running.delete(epmd));
  const wrapper = spawn(RABBITMQ_SERVER, [], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(wrapper);
  let output = '';
  const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-4000));
  wrapper.stdout!.on('data', keep);
  wrapper.stderr!.on('data', keep);
  let wrapperExited = false;
  const wrapperDone = new Promise<void>((resolve) => wrapper.once('exit', () => ((wrapperExited = true), running.delete(wrapper), resolve())));
  const logFile = join(dir, 'log', `${node}.log`);
  const log = (): string => `${output}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : ''}`.trim();
  let beam: number | null = null;
  const stop = async (): Promise<void> => {
    beam ??= childPid(wrapper.pid!);
    if (beam !== null) {
      // SIGTERM makes the Erlang VM stop the node in order (RabbitMQ >= 3.7); the wrapper script exits after it.
      killQuietly(beam, 'SIGTERM');
      for (let i = 0; i < 300 && alive(beam); i++) await sleep(100);
      if (alive(beam)) killQuietly(beam, 'SIGKILL');
      runningPids.delete(beam);
    }
    if (!wrapperExited) {
      wrapper.kill('SIGTERM');
      const t = setTimeout(() => wrapper.kill('SIGKILL'), 10_000);
      await wrapperDone;
      clearTimeout(t);
    }
    if (epmd.exitCode === null && epmd.signalCode === null) {
      const gone = new Promise((r) => epmd.once('exit', r));
      epmd.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
  try {
    while (Date.now() < deadline && !wrapperExited) {
      beam ??= childPid(wrapper.pid!);
      if (beam !== null) runningPids.add(beam);
      if (await amqpAnswers(amqpPort)) {
        beam ??= childPid(wrapper.pid!);
        if (beam === null) throw new Error('rabbitmq-server answers but its beam.smp process was not found');
        return { port: amqpPort, transportUrl: `rabbit://guest:guest@127.0.0.1:${amqpPort}/`, pid: beam, log, stop };
      }
      await sleep(250);
    }
    throw new Error(`rabbitmq-server (node ${node}) did not accept AMQP on 127.0.0.1:${amqpPort}${wrapperExited ? ' (it exited)' : ' in time'}: ${log() || 'no output'}`);
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Whether a broker on the port answers the AMQP 0-9-1 protocol header with a frame (connection.start). */
function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    s.once('data', (d: Buffer) => done(d[0] === 1));
  });
}

/** The wrapper script runs erl (exec'd into beam.smp) as its one child. */
function childPid(pid: number): number | null {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'beam.smp') return k;
  } catch {
    /* gone */
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}
