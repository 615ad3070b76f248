import type { Diagnostics } from '../diagnostics.js';
import type { ColumnBatch } from '../engine/columns.js';
import { GappedStream } from '../protocols/gappedStream.js';
import { FrameReader } from '../protocols/parseFrames.js';
import type { ConnectionFacts, ProtocolSpec, Stitcher } from '../protocols/protocol.js';
import { protocols } from '../protocols/registry.js';
import type { CallRecord, Chunk, Frame, MessageType } from '../protocols/types.js';
import type { CallSpanWriter } from './callSpans.js';
import { FrameQueue } from './frameQueue.js';

/** Chunks of each direction looked at to recognise a connection's protocol and which side is its client. */
export const CLASSIFY_CHUNKS = 64;

/** What the stream knows of a connection (a row of `conns`). */
export interface ConnectionMeta {
  connIdx: number;
  node: string;
  localPort: number | null;
  remotePort: number | null;
}

/** Where a connection's results go: call spans, or a messaging protocol's own table. */
export interface ParseOutputs {
  calls: CallSpanWriter;
  /** One batch per messaging protocol table, by table name. */
  messageBatch(table: string): ColumnBatch;
}

type AnySpec = ProtocolSpec<Frame, unknown>;

/**
 * One connection's bytes, pushed syscall by syscall in time order, become calls or messages: the first chunks of
 * both directions decide the protocol and which side is the client (else a well-known server port does), then each
 * direction is framed as it arrives (FrameReader) and the frames are handed to the protocol's stitcher in the order
 * their first bytes moved. Memory holds the chunks not yet framed and the frames not yet stitched, not the
 * connection.
 */
export class ConnectionParser {
  /** Chunks seen before the protocol was recognised, per direction. */
  private readonly early: { send: Chunk[]; recv: Chunk[] } = { send: [], recv: [] };
  private spec: AnySpec | null = null;
  private client = false;
  private streams: { send: GappedStream; recv: GappedStream } | null = null;
  private readers: { request: FrameReader<Frame>; response: FrameReader<Frame> } | null = null;
  private stitcher: Stitcher<Frame> | null = null;
  /** Frames parsed but not yet stitched, per type, in stream order. */
  private readonly queued = { request: new FrameQueue<Frame>(), response: new FrameQueue<Frame>() };
  /** Exit time of the latest chunk pushed: frames not yet parsed start no earlier. */
  private now = 0n;
  private callIndex = 0;
  private unrecognised = false;
  /** Frames of each type counted since their counter was last added to the diagnostics (see flushCounts). */
  private readonly framesCounted = { request: 0, response: 0 };
  private readonly framesAdded = { request: 0, response: 0 };
  private counterNames: { request: string; response: string } | null = null;

  constructor(
    private readonly meta: ConnectionMeta,
    private readonly out: ParseOutputs,
    private readonly diag: Diagnostics,
  ) {}

  push(direction: 'send' | 'recv', chunk: Chunk): void {
    if (chunk.tsNs > this.now) this.now = chunk.tsNs;
    if (this.unrecognised) return;
    if (!this.spec) {
      this.early[direction].push(chunk);
      // Only a match of the first protocol in the registry decides before enough chunks were seen (the chunks before
      // this one were tried already), so a full attempt waits until then.
      const enough = this.early.send.length >= CLASSIFY_CHUNKS || this.early.recv.length >= CLASSIFY_CHUNKS;
      const firstMatches = chunk.data.length > 0 && this.early[direction].length <= CLASSIFY_CHUNKS && protocols[0]!.classify(chunk.data) !== null;
      if (!(enough || firstMatches) || !this.recognise(false)) return;
    } else this.streams![direction].push(chunk);
    this.advance();
  }

  end(): void {
    if (!this.spec && !this.unrecognised) this.recognise(true);
    if (!this.spec) {
      this.diag.add('connections_unrecognised', 1);
      return;
    }
    this.streams!.send.final = true;
    this.streams!.recv.final = true;
    this.advance();
    this.flushCounts();
    this.release(true);
    this.stitcher!.end();
    const name = this.spec.name;
    for (const [type, r] of [['request', this.readers!.request], ['response', this.readers!.response]] as const) {
      if (r.invalidCount > 0) {
        this.diag.warn(`${name}-invalid`, `${name}: bytes that are not ${name} ${type}s skipped (count = bytes)`, r.skippedBytes);
      } else if (r.skippedBytes > 0) this.diag.add(`${name}_bytes_skipped_in_gaps`, r.skippedBytes);
      if (r.incompleteBytes > 0) this.diag.add(`${name}_bytes_incomplete_at_end`, r.incompleteBytes);
    }
    if (this.stitcher!.errorCount > 0) this.diag.warn(`${name}-unpaired`, `${name}: requests or responses without their other half`, this.stitcher!.errorCount);
  }

  /** Adds the frames counted but not added yet to the diagnostics (at the end, or when a parser failed). */
  flushCounts(): void {
    if (!this.counterNames) return;
    for (const type of ['request', 'response'] as const) this.addCount(type, this.counterNames[type]);
  }

  private addCount(type: MessageType, counter: string): void {
    const n = this.framesCounted[type] - this.framesAdded[type];
    if (n > 0) this.diag.add(counter, n);
    this.framesAdded[type] = this.framesCounted[type];
  }

  /**
   * Decides the protocol once the first chunks allow it: the first protocol in registry order that recognises a
   * head (both directions interleaved by time: the first message decides even if the capture began mid-stream);
   * the decision waits until CLASSIFY_CHUNKS chunks per direction were seen unless the first protocol already
   * matched. Else a well-known server port decides. Returns true once decided.
   */
  private recognise(atEnd: boolean): boolean {
    const heads: { ts: bigint; dir: 'send' | 'recv'; data: Uint8Array }[] = [];
    for (const dir of ['send', 'recv'] as const) {
      for (const c of this.early[dir].slice(0, CLASSIFY_CHUNKS)) if (c.data.length) heads.push({ ts: c.tsNs, dir, data: c.data });
    }
    heads.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    const enough = atEnd || this.early.send.length >= CLASSIFY_CHUNKS || this.early.recv.length >= CLASSIFY_CHUNKS;
    for (const [i, spec] of protocols.entries()) {
      const h = heads.find((x) => spec.classify(x.data) !== null);
      if (h) {
        if (i > 0 && !enough) return false; // a protocol earlier in the registry may still match a later head
        this.start(spec, (h.dir === 'send') === (spec.classify(h.data) === 'request'));
        return true;
      }
    }
    if (!enough) return false;
    const { localPort, remotePort } = this.meta;
    for (const spec of protocols) {
      if (remotePort !== null && spec.defaultPorts.includes(remotePort)) return this.startByPort(spec, true);
      if (localPort !== null && spec.defaultPorts.includes(localPort)) return this.startByPort(spec, false);
    }
    this.unrecognised = true;
    const bytes = [...this.early.send, ...this.early.recv].reduce((n, c) => n + Math.max(c.bytes, c.data.length), 0);
    if (bytes > 0) this.diag.add('bytes_unrecognised', bytes);
    if (!atEnd) this.diag.add('connections_unrecognised', 1);
    this.early.send = [];
    this.early.recv = [];
    return false;
  }

  private startByPort(spec: AnySpec, client: boolean): boolean {
    this.diag.add(`${spec.name}_connections_recognised_by_port`, 1);
    this.start(spec, client);
    return true;
  }

  private start(spec: AnySpec, client: boolean): void {
    this.spec = spec;
    this.client = client;
    this.streams = { send: new GappedStream([], false), recv: new GappedStream([], false) };
    for (const dir of ['send', 'recv'] as const) for (const c of this.early[dir]) this.streams[dir].push(c);
    this.early.send = [];
    this.early.recv = [];
    const [reqStream, respStream] = client ? [this.streams.send, this.streams.recv] : [this.streams.recv, this.streams.send];
    // Counter names made once per connection, not per frame (millions of frames).
    const counter = (type: MessageType) => `${spec.name}_${type}s`;
    const requests = counter('request');
    const responses = counter('response');
    // The first frame of a type adds its counter (so counters keep the order they were first met in), the others
    // are counted here and added by flushCounts (a counter looked up by name per frame cost more than the frame's
    // own fields: 1.7 M MySQL packets in the 1 M bench set).
    this.readers = {
      request: new FrameReader(spec, reqStream, 'request', (f) => {
        this.queued.request.push(f);
        const before = this.framesCounted.request;
        this.framesCounted.request += f.frameCount ?? 1;
        if (before === 0) this.addCount('request', requests);
      }),
      response: new FrameReader(spec, respStream, 'response', (f) => {
        this.queued.response.push(f);
        const before = this.framesCounted.response;
        this.framesCounted.response += f.frameCount ?? 1;
        if (before === 0) this.addCount('response', responses);
      }),
    };
    this.counterNames = { request: requests, response: responses };
    const facts: ConnectionFacts = { connIdx: this.meta.connIdx, node: this.meta.node, client };
    const table = spec.messages;
    const batch = table ? this.out.messageBatch(table.table) : null;
    this.stitcher = spec.createStitcher({
      call: (rec) => this.writeCall(rec),
      message: (m) => table!.write(m, facts, batch!),
    });
  }

  private writeCall(rec: CallRecord): void {
    // A response without its request is kept only where this process answered it: its thread was already blocked
    // in recv when the capture began (the spatial step completes it from the client side).
    if (rec.orphan && this.client) return;
    this.out.calls.write(rec, this.client ? 'client' : 'server', this.meta.node, this.meta.connIdx, this.callIndex++);
  }

  private advance(): void {
    this.readers!.request.pump();
    this.readers!.response.pump();
    this.release(false);
  }

  /**
   * Hands parsed frames to the stitcher in the order their first bytes moved (requests first at equal times),
   * holding back any frame that a frame still being read in the other direction could precede.
   */
  private release(all: boolean): void {
    const { request: rq, response: rs } = this.queued;
    const openReq = this.readers!.request.openFrameTs() ?? this.now;
    const openResp = this.readers!.response.openFrameTs() ?? this.now;
    for (;;) {
      const a = rq.peek();
      const b = rs.peek();
      if (a && (!b || a.tsStartNs <= b.tsStartNs)) {
        if (!all && a.tsStartNs > openResp) break;
        this.stitcher!.push(a, 'request');
        rq.shift();
      } else if (b) {
        if (!all && b.tsStartNs >= openReq) break;
        this.stitcher!.push(b, 'response');
        rs.shift();
      } else break;
    }
  }
}
