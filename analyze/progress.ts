/**
 * A one-line progress indicator on stderr for long steps: redrawn in place on a terminal, a line every 25 %
 * otherwise (CI logs), nothing when quiet.
 */
export class Progress {
  private lastQuarter = -1;
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(done: number): void {
    if (!this.enabled || this.total <= 0) return;
    const frac = Math.min(1, done / this.total);
    if (process.stderr.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      process.stderr.write(`\r${this.label} [${bar}] ${done}/${this.total}`);
    } else {
      const q = Math.floor(frac * 4);
      if (q > this.lastQuarter) {
        this.lastQuarter = q;
        process.stderr.write(`${this.label}: ${done}/${this.total}\n`);
      }
    }
  }

  done(): void {
    this.update(this.total);
    if (this.enabled && process.stderr.isTTY && this.total > 0) process.stderr.write('\n');
  }
}
