import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

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
  /** Resolves at end of file (the writer closed), rejects on a read error. */
  readonly ended: Promise<void>;

  constructor(fd: number, onChunk: (chunk: Buffer) => void) {
    const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
    const onread: OnReadOpts = { buffer, callback: (n: number) => {
      onChunk(buffer.subarray(0, n));
      return true; // keep reading (pause() stops it)
    } };
    // `onread` is a documented option of new net.Socket() (Node >= 12.10) that @types/node lists for connect() only
    const options: SocketConstructorOpts & { onread: OnReadOpts } = { fd, readable: true, writable: false, onread };
    this.socket = new Socket(options);
    this.ended = new Promise((resolve, reject) => {
      this.socket.on('end', () => resolve());
      this.socket.on('error', reject);
    });
  }

  /** Stop (true) or resume (false) reading: the writer blocks once the pipe is full. */
  pause(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }
}
