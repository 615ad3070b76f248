/**
 * Memory reused from one segment to the next. On the lab VM the first write to a fresh 4 KiB page costs ~17 us (the
 * hypervisor backs it then; docs/capture.md): ~15 MB of new arrays per 200 k-event segment was ~300 ns per event,
 * more than the work done in them. Views handed out are valid until the same slot is asked for again; their bytes
 * are whatever the last user left (callers write every byte they read).
 */
export class ScratchMemory {
  private readonly slots = new Map<string, ArrayBuffer>();

  bytes(slot: string, n: number): Uint8Array {
    return new Uint8Array(this.buffer(slot, n), 0, n);
  }

  words(slot: string, n: number): Uint32Array {
    return new Uint32Array(this.buffer(slot, 4 * n), 0, n);
  }

  private buffer(slot: string, n: number): ArrayBuffer {
    let b = this.slots.get(slot);
    if (!b || b.byteLength < n) {
      b = new ArrayBuffer(Math.max(n, Math.ceil((b?.byteLength ?? 0) * 1.25)));
      this.slots.set(slot, b);
    }
    return b;
  }
}
