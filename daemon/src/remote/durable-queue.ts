/**
 * Remote move: messages that may go out only once the files they name are on disk (push: blitd's
 * item batches, on which the client removes sources; pull: blit's committed indices, on which
 * blitd removes them). The sync runs off the event loop (makeDurableBelow), so blitd's other calls
 * and this transfer's data keep flowing while a write-back takes seconds. One sync at a time:
 * messages queued meanwhile share the next one (a syncfs after a long one has little left to
 * write); messages go out in the order queued. The first failure stops the queue: nothing more is
 * sent (the sources not yet removed are kept) and `failed` is told once.
 */
import { makeDurableBelow, notDurableError } from '../engine/durable';

export class DurableQueue<T> {
  private msgs: T[] = [];
  private rels: Buffer[] = [];
  private links: Buffer[] = [];
  private running: Promise<void> | undefined;
  private error: unknown;

  constructor(
    /** The destination root the rels are below. */
    private readonly root: Buffer,
    private readonly send: (msg: T) => Promise<void>,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Queue `msg`, to go out once the files `rels` and symlinks `links` (below the root) are durable. */
  push(msg: T, rels: readonly Buffer[], links: readonly Buffer[] = []): void {
    if (this.error !== undefined) return;
    this.msgs.push(msg);
    for (const r of rels) this.rels.push(r);
    for (const l of links) this.links.push(l);
    this.running ??= this.drain();
  }

  /** Resolves when every message queued so far went out; rejects with the failure that stopped the queue. */
  async drained(): Promise<void> {
    while (this.running) await this.running;
    if (this.error !== undefined) throw this.error;
  }

  private async drain(): Promise<void> {
    try {
      while (this.msgs.length > 0) {
        const msgs = this.msgs;
        const rels = this.rels;
        const links = this.links;
        this.msgs = [];
        this.rels = [];
        this.links = [];
        if (rels.length + links.length > 0) {
          try {
            await makeDurableBelow(this.root, rels, links);
          } catch (err) {
            throw notDurableError(err);
          }
        }
        for (const m of msgs) await this.send(m);
      }
    } catch (err) {
      this.error = err;
      this.msgs = [];
      this.rels = [];
      this.links = [];
      this.failed(err);
    } finally {
      this.running = undefined;
    }
  }
}
