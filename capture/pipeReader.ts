import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes per read: a Linux pipe's default capacity (a read returns at most what the pipe holds). */
const READ_BYTES = 1 << 16;

/**
 * Reads a pipe (an fd of our own) into one buffer reused for every read (net.Socket's `onread`). A stream's own
 * reads allocate a fresh buffer each; that external memory alone made V8 run half of its Mark-Compacts (22 -> 11
 * per 1 M replayed events, --trace-gc), and the steady replay's CPU per event was ~15 % lower without it.
 *
 * `onChunk` gets a new Buffer object per read over the same memory, valid only until it returns: whatever outlives
 * the call must be copied (RecordDecoder stages split records, SegmentBuilder copies fields and payloads). A new
 * object, not the same one, because readers cache work per buffer object (the redactor's BufferScan scans ahead).
 */
export class PipeReader {
  private readonly socket: Socket;
  /** Resolves once the pipe is done: end of file (every writer closed it), or a read error (`error`). */
  readonly ended: Promise<void>;
  error: Error | null = null;

  constructor(fd: number, onChunk: (chunk: Buffer) => void) {
    const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
    const onread: OnReadOpts = { buffer, callback: (n: number) => {
      onChunk(buffer.subarray(0, n));
      return true; // keep reading (pause() stops it)
    } };
    // `onread` is a documented option of new net.Socket() (Node >= 12.10) that @types/node lists for connect() only
    const options: SocketConstructorOpts & { onread: OnReadOpts } = { fd, readable: true, writable: false, onread };
    this.socket = new Socket(options);
    this.socket.on('error', (e) => (this.error ??= e));
    this.ended = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  /** Stop (true) or resume (false) reading: the writer blocks once the pipe is full. */
  pause(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }
}

/**
 * A pipe for a child's output: `writeFd` to pass as its stdio (then close here), `readFd` for a PipeReader. Node
 * has no pipe(2), and the pipes child_process makes are read by its own streams (a fresh buffer per read), so this
 * is a FIFO, unlinked as soon as both ends are open: an anonymous pipe from then on. Both fds are close-on-exec
 * (spawn dup2()s `writeFd` onto the child's fd, which is not).
 */
export function openPipe(): { readFd: number; writeFd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-pipe-'));
  try {
    const path = join(dir, 'pipe');
    execFileSync('mkfifo', ['-m', '600', path]);
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // returns at once, before any writer
    try {
      return { readFd, writeFd: openSync(path, constants.O_WRONLY) }; // blocking writes; returns at once: a reader exists
    } catch (e) {
      closeSync(readFd);
      throw e;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
