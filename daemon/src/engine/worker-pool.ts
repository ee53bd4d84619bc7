/**
 * A pool of copy workers (worker_threads). Tasks travel in batches (one message per batch each
 * way) so the per-message cost is shared by many small files; a big file is a batch of one.
 * Cancel: a shared flag every worker checks between files and between chunks of a big file, so a
 * worker stops after its current syscall and removes its temp file.
 */
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import type { BatchOutput, BatchReply, BatchRequest, FileTask, WorkerInit } from './worker-protocol';
import type { CopyPrimitive } from './types';
import type { MetaOptions } from './metadata';
import { createBatchRunner } from './copy-task';
import { askToExit } from './worker-exit';

interface Slot {
  worker: Worker;
  inFlight: Map<number, FileTask[]>;
  ready: Promise<void>;
  /** move: sources waiting in the worker for a sync (its last reply's removalsWaiting). */
  removalsWaiting: number;
}

export interface PoolOptions {
  workers: number;
  meta: MetaOptions;
  order: CopyPrimitive[];
  needHash: boolean;
  /** Called once per finished batch (tasks empty for a flushRemovals request), on the main thread. */
  onResults: (tasks: FileTask[], out: BatchOutput) => void;
  /** A worker died (crash, OOM): its in-flight tasks are reported failed by the pool. */
  onWorkerError: (err: Error, tasks: FileTask[]) => void;
  /**
   * Until the first worker has started (~70-200 ms: a thread, its modules, ffi-rs), run batches
   * on the main thread instead of letting them wait. Keeps the first byte and one-file jobs fast.
   * Not with needHash (the hasher's WASM is initialised asynchronously).
   */
  inlineWhileStarting?: boolean;
}

/**
 * Only small batches run inline: the main thread cannot see an abort while it is blocked in a
 * copy, so inline work must stay short (a few ms). Not a move's: its sources wait for a sync in
 * the worker that copied them, and the main thread must not block in one.
 */
const INLINE_MAX_BYTES = 8 * 1024 * 1024;
function inlineable(tasks: FileTask[]): boolean {
  let bytes = 0;
  for (const t of tasks) {
    if (t.range || t.hashFirst || t.removeSource) return false;
    bytes += t.size;
  }
  return bytes <= INLINE_MAX_BYTES;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly cancelBuf = new SharedArrayBuffer(12);
  private readonly cancelFlag = new Int32Array(this.cancelBuf);
  private nextBatch = 1;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  private active = 0;
  private readonly init: WorkerInit;
  private readyCount = 0;
  private inlineBusy = 0;
  private inlineRunner: ((tasks: FileTask[]) => BatchOutput) | null = null;

  constructor(private readonly opts: PoolOptions) {
    this.init = { meta: opts.meta, order: opts.order, cancel: this.cancelBuf, needHash: opts.needHash };
    this.resize(opts.workers);
  }

  /**
   * Use `n` workers from now on (the tuning adapter grows or shrinks the pool while running).
   * Growing spawns threads; shrinking stops giving work to the extra ones (they finish what they
   * have and idle until close()).
   */
  resize(n: number): void {
    n = Math.max(1, Math.floor(n));
    while (this.slots.length < n) this.slots.push(this.spawn());
    this.active = n;
  }

  private spawn(): Slot {
    const worker = new Worker(path.join(__dirname, 'copy-worker.js'), { workerData: this.init });
    const slot: Slot = {
      worker,
      inFlight: new Map(),
      removalsWaiting: 0,
      ready: new Promise((resolve, reject) => {
        worker.once('message', () => {
          this.readyCount++;
          resolve();
        });
        worker.once('error', reject);
      }),
    };
    slot.ready.catch(() => undefined);
    worker.on('message', (msg: BatchReply | { ready: true }) => {
      if (!('batch' in msg)) return;
      const tasks = slot.inFlight.get(msg.batch);
      slot.inFlight.delete(msg.batch);
      if (msg.removalsWaiting !== undefined) slot.removalsWaiting = msg.removalsWaiting;
      if (tasks) this.opts.onResults(tasks, msg);
      this.wakeIdle();
    });
    worker.on('error', (err) => {
      const lost = [...slot.inFlight.values()].flat();
      slot.inFlight.clear();
      this.opts.onWorkerError(err, lost);
      this.wakeIdle();
    });
    return slot;
  }

  /** Workers currently given work. */
  get activeWorkers(): number {
    return this.active;
  }

  /** Workers with at least one batch in flight (for the tuning adapter's "busy" figure). */
  get busyWorkers(): number {
    let n = 0;
    for (const s of this.slots) if (s.inFlight.size > 0) n++;
    return n;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Batches currently in the workers. */
  get batchesInFlight(): number {
    let n = this.inlineBusy;
    for (const s of this.slots) n += s.inFlight.size;
    return n;
  }

  /** Tasks currently in the workers (for the stall message and the daemon's "in flight" view). */
  inFlightTasks(): FileTask[] {
    const out: FileTask[] = [];
    for (const s of this.slots) for (const t of s.inFlight.values()) out.push(...t);
    return out;
  }

  /** Send a batch to the least loaded worker. */
  /**
   * `affinity` (e.g. a destination-directory sequence number): batches with the same affinity go
   * to the same worker unless it is clearly busier than the least loaded one, so two threads
   * rarely create files in the same directory at once (they would contend on its inode lock).
   */
  submit(tasks: FileTask[], affinity?: number): void {
    if (tasks.length === 0) return;
    if (this.closed) throw new Error('pool closed');
    if (this.readyCount === 0 && this.opts.inlineWhileStarting && !this.opts.needHash && inlineable(tasks)) {
      this.runInline(tasks, affinity);
      return;
    }
    let best = this.slots[0]!;
    for (let i = 1; i < this.active; i++) if (this.slots[i]!.inFlight.size < best.inFlight.size) best = this.slots[i]!;
    if (affinity !== undefined) {
      const preferred = this.slots[affinity % this.active]!;
      if (preferred.inFlight.size <= best.inFlight.size + 1) best = preferred;
    }
    this.post(best, { batch: this.nextBatch++, tasks });
  }

  /**
   * move, once every batch is back: ask each worker holding sources that wait for a sync to sync
   * and remove them (their outcomes come through onResults). Returns whether any was asked; then
   * drain() waits for the answers.
   */
  flushRemovals(): boolean {
    let asked = false;
    for (const slot of this.slots) {
      if (slot.removalsWaiting === 0) continue;
      this.post(slot, { batch: this.nextBatch++, tasks: [], flushRemovals: true });
      asked = true;
    }
    return asked;
  }

  private post(slot: Slot, req: BatchRequest): void {
    slot.inFlight.set(req.batch, req.tasks);
    slot.worker.postMessage(req);
  }

  /** Run a batch on the main thread at the next turn of the event loop (workers still starting). */
  private runInline(tasks: FileTask[], affinity?: number): void {
    this.inlineBusy++;
    setImmediate(() => {
      this.inlineBusy--;
      if (this.closed) return;
      if (this.readyCount > 0) {
        this.submit(tasks, affinity); // a worker came up meanwhile: give it the batch
        return;
      }
      this.inlineRunner ??= createBatchRunner(this.init);
      this.opts.onResults(tasks, this.inlineRunner(tasks));
      this.wakeIdle();
    });
  }

  /** Resolves when at most `maxBatches` batches are in flight. */
  async waitBelow(maxBatches: number): Promise<void> {
    while (this.batchesInFlight > maxBatches) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /** Wait until every submitted batch has come back. */
  drain(): Promise<void> {
    return this.waitBelow(0);
  }

  /** A counter the workers bump between files and chunks: changes while any worker makes progress. */
  heartbeat(): number {
    return Atomics.load(this.cancelFlag, 1);
  }

  /** A worker is inside a move's sync (the stall detector's sign of life while it writes back). */
  syncing(): boolean {
    return Atomics.load(this.cancelFlag, 2) > 0;
  }

  /** Ask workers to stop after their current syscall; they reply with 'cancelled' results. */
  cancel(): void {
    Atomics.store(this.cancelFlag, 0, 1);
  }

  /** Wake waiters (e.g. after an abort) so the caller can re-check its state. */
  wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Forget everything in flight (the workers are being terminated); wakes every waiter. */
  abandonAll(): void {
    for (const s of this.slots) s.inFlight.clear();
    this.wakeIdle();
  }

  /**
   * End the workers. Normally each is asked to exit between batches: terminate() lands wherever
   * the thread is, and inside an ffi-rs call (a worker still loading the native library, or in a
   * batch) its pending termination makes ffi-rs panic and abort the whole process (seen once
   * under load, DEVLOG h41-gaps). `force` (a stall: a worker stuck in a syscall never reads its
   * messages) terminates at once; a worker that has not exited EXIT_GRACE_MS after the request
   * is terminated too. Resolves with each worker's exit code (0: exited when asked; 1: terminated).
   */
  close(opts: { force?: boolean } = {}): Promise<number[]> {
    this.closed = true;
    return Promise.all(this.slots.map((s) => (opts.force ? s.worker.terminate() : askToExit(s.worker))));
  }
}
