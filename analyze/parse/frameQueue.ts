/**
 * Frames parsed but not yet stitched, oldest first (ConnectionParser keeps one per direction). Frames are taken
 * from the head and the slots are used again once the queue is empty (at most releases), so a queue that has grown
 * allocates nothing per frame: Array.prototype.splice made a new array of the frames taken at every release and
 * the emptied array grew its store again at the next push (measured in the parse worker, 1 M bench set: ~50 MB and
 * ~120 MB of the worker's ~2 GB allocated).
 */
export class FrameQueue<F> {
  private readonly items: (F | undefined)[] = [];
  private head = 0;
  private tail = 0;

  push(f: F): void {
    this.items[this.tail++] = f;
  }

  /** The oldest frame, or undefined if the queue is empty. */
  peek(): F | undefined {
    return this.head < this.tail ? this.items[this.head] : undefined;
  }

  /** Removes the oldest frame (the queue must not be empty). */
  shift(): void {
    // A slot does not keep a frame taken alive: a frame's head is a view on its whole event block's bytes.
    this.items[this.head++] = undefined;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.tail) {
      // A queue that never empties (frames always held back) moves its frames to the front now and then.
      const n = this.tail - this.head;
      this.items.copyWithin(0, this.head, this.tail);
      this.items.fill(undefined, n, this.tail);
      this.head = 0;
      this.tail = n;
    }
  }
}

/** Taken slots at the front of a queue that never empties before its frames are moved down. */
const COMPACT_AFTER = 1024;
