/**
 * Upload on save: collects saved paths, waits for a quiet period (debounce), then hands one batch
 * to `flush`. While git rewrites the tree (`isPaused`), batches wait and are re-checked until it
 * settles. One flush at a time; saves during a flush form the next batch. Pure: the clock is
 * injected so tests drive it without sleeping.
 */

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SaveBatcherOptions {
  /** Read at each save: a change of the setting applies from the next save, not after a reload. */
  debounceMs: () => number;
  /** How often to look again while paused. */
  pausePollMs: number;
  isPaused: () => boolean;
  flush: (paths: string[]) => Promise<void>;
  onError: (err: unknown) => void;
  clock?: Clock;
}

export class SaveBatcher {
  private pending = new Set<string>();
  private timer: unknown = undefined;
  private flushing = false;
  private disposed = false;
  private readonly clock: Clock;

  constructor(private readonly opts: SaveBatcherOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** Records a saved path (relative, '/'-separated) and restarts the quiet period. */
  add(path: string): void {
    if (this.disposed) return;
    this.pending.add(path);
    this.arm(this.opts.debounceMs());
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.fire();
    }, ms);
  }

  private async fire(): Promise<void> {
    if (this.disposed || this.pending.size === 0) return;
    if (this.flushing) return; // the running flush re-arms when it ends
    if (this.opts.isPaused()) {
      this.arm(this.opts.pausePollMs);
      return;
    }
    const batch = [...this.pending].sort();
    this.pending.clear();
    this.flushing = true;
    try {
      await this.opts.flush(batch);
    } catch (e) {
      this.opts.onError(e);
    } finally {
      this.flushing = false;
      if (!this.disposed && this.pending.size > 0 && this.timer === undefined) this.arm(this.opts.debounceMs());
    }
  }
}
