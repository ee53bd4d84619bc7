/**
 * Files to copy → batches for the worker pool, and the pool's answers → summary, items, progress.
 * Small files are batched per source directory (worker affinity), big files go one per task (and
 * are named while in flight), a huge file is split into ranges (split-copy.ts). Owns the pool and
 * every task in flight; the run's shared state comes in explicitly (run-state.ts).
 */
import type { Entry } from './types';
import { BlitError, ErrorCodes } from './errors';
import { removeStaleTemps } from './atomic';
import { WorkerPool } from './worker-pool';
import { adaptBatch } from './planner';
import { SplitCopy } from './split-copy';
import { baseName, displayPath, join2, parentRel, EMPTY } from './paths';
import { failureOf } from './walk';
import { queueSourceRemoval } from './move-finalise';
import type { BatchOutput, FileTask, RemovalOutcome, TaskResult } from './worker-protocol';
import type { RunState } from './run-state';

export class CopyDispatcher {
  private pool: WorkerPool | null = null;
  private pending: FileTask[] = [];
  private pendingBytes = 0;
  private nextId = 1;
  private readonly taskRel = new Map<number, Buffer>();
  /** move: copied files whose sources wait in a worker for a sync (task id → rel). */
  private readonly removalRel = new Map<number, Buffer>();
  private readonly batchSentAt = new Map<FileTask[], number>();
  /** Range task id → the split huge file it belongs to. */
  private readonly splits = new Map<number, SplitCopy>();
  /** Sequence number of the source listing being diffed (worker affinity per directory). */
  private dirSeq = 0;
  private pendingDirSeq = 0;
  private lastDstParent: Buffer | null = null;
  private lastDstDirText = '';

  constructor(private readonly run: RunState) {
    run.onFatal(() => {
      this.pool?.cancel();
      this.pool?.wakeIdle();
    });
  }

  /** The next source listing's files belong together (one affinity group). */
  startDirectory(): void {
    this.dirSeq++;
  }

  /**
   * move --ignore-existing --checksum: hash `e` and the destination it kept (read-only, as a dry
   * run's hashOnly task); its source goes only if they are equal (EntryActions.onKept).
   */
  checkKept(e: Entry): void {
    this.queueFile(e, 'kept');
  }

  // A file replacing a symlink needs nothing special: rename() replaces the link, not its target.
  queueFile(e: Entry, how: 'create' | 'update' | 'hash' | 'kept'): void {
    const run = this.run;
    const options = run.options;
    const plan = run.plan;
    if (how === 'create' || how === 'update') run.item(how, e.rel, 'file', e.size);
    run.progress.planned(e.size);
    if (options.dryRun && how !== 'hash') return;
    if (!options.dryRun && how !== 'kept') run.dirs.touchParent(e.rel);
    const task: FileTask = {
      id: this.nextId++,
      src: run.srcAbsOf(e.rel).toString('latin1'),
      dstDir: this.dstDirText(parentRel(e.rel)),
      name: baseName(e.rel).toString('latin1'),
      size: e.size,
      mtimeNs: e.mtimeNs,
      mtimeMs: e.mtimeMs ?? -1,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      blocks: e.blocks ?? Math.ceil(e.size / 512),
      // kept: compared by hash (its mtime is not the source's), just hashed (no second verify).
      hashFirst: how === 'hash' || how === 'kept',
      // Dry run with --checksum: the workers hash both sides read-only to itemize truthfully.
      hashOnly: options.dryRun || how === 'kept',
      removeSource: options.mode === 'move' && !options.dryRun,
      verifyByHash: options.mode === 'move' && options.compare.mode === 'checksum' && how !== 'kept',
    };
    this.taskRel.set(task.id, e.rel);
    if (this.shouldSplit(task)) {
      this.startSplit(task, e.rel);
      return;
    }
    if (e.size >= plan.bigFileBytes) {
      // Big files are worth naming while they are in flight (progress displays, the daemon's job view).
      run.emit({ type: 'fileStart', rel: e.rel, size: e.size });
      this.submit([task]);
      return;
    }
    if (this.pending.length === 0) this.pendingDirSeq = this.dirSeq;
    this.pending.push(task);
    this.pendingBytes += e.size;
    if (this.pending.length >= plan.batchFiles || this.pendingBytes >= plan.batchBytes) this.flush();
  }

  /** Send the partial batch. */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.submit(batch, this.pendingDirSeq);
  }

  /** Send a partial batch when a worker would otherwise sit idle (keeps first byte fast). */
  flushIfIdle(): void {
    if (this.pending.length === 0) return;
    if (!this.pool || this.pool.batchesInFlight < this.run.plan.workers) this.flush();
  }

  /** More batches in flight than the workers can use soon: the walk should wait (waitForRoom). */
  saturated(): boolean {
    const plan = this.run.plan;
    return this.pool !== null && this.pool.batchesInFlight > plan.workers * plan.batchesPerWorker;
  }

  async waitForRoom(): Promise<void> {
    await this.pool?.waitBelow(this.run.plan.workers * 2);
  }

  /**
   * Every submitted task answered; for a move, every source waiting in a worker synced and
   * removed too (unless the run is fatal: a cancelled or failed move syncs nothing more and keeps
   * them, as it keeps the sources of copies it never finished).
   */
  async drain(): Promise<void> {
    if (!this.pool) return;
    await this.pool.drain();
    if (!this.run.fatal && this.pool.flushRemovals()) await this.pool.drain();
  }

  /** End the workers; ranges that never came back (worker died, stall) drop their shared temp. */
  async close(): Promise<void> {
    if (this.pool) await this.pool.close();
    for (const split of new Set(this.splits.values())) split.abort();
  }

  /** Changes while any worker makes progress (the stall detector's copy heartbeat). */
  heartbeat(): number {
    return this.pool?.heartbeat() ?? 0;
  }

  /** A worker is inside a move's sync: alive, though its heartbeat stands still. */
  syncing(): boolean {
    return this.pool?.syncing() ?? false;
  }

  /** Names of the files in flight, for the stall message. */
  describeInFlight(): string {
    const tasks = this.pool?.inFlightTasks() ?? [];
    if (tasks.length === 0) return this.run.progress.scanComplete ? '' : 'the source scan';
    const names = tasks.slice(0, 5).map((t) => displayPath(this.taskRel.get(t.id) ?? Buffer.from(t.name, 'latin1')));
    return names.join(', ') + (tasks.length > 5 ? ` and ${tasks.length - 5} more` : '');
  }

  /** A stall: the run is fatal; a worker stuck in a syscall never answers, so end it and clean up. */
  onStall(err: BlitError): void {
    this.run.recorder.stallEvents++;
    const lost = this.pool?.inFlightTasks() ?? [];
    this.run.setFatal(err);
    void this.pool?.close({ force: true }).then(() => {
      for (const t of lost) removeStaleTemps(Buffer.from(t.dstDir, 'latin1'), Buffer.from(t.name, 'latin1'));
    });
    this.pool?.abandonAll();
  }

  /** Huge, dense, not compared by hash, several workers, no reflink (a clone is instant anyway). */
  private shouldSplit(t: FileTask): boolean {
    const plan = this.run.plan;
    return t.size >= plan.hugeFileBytes && t.size >= 2 * plan.minRangeBytes && plan.workers >= 2 && !t.hashFirst && t.blocks * 512 >= t.size && plan.order[0] !== 'reflink';
  }

  private startSplit(task: FileTask, rel: Buffer): void {
    this.run.emit({ type: 'fileStart', rel, size: task.size });
    let split: SplitCopy;
    try {
      split = new SplitCopy(task, this.run.meta, (r) => queueSourceRemoval(this.run, rel, r, task.size));
    } catch (err) {
      this.taskRel.delete(task.id);
      this.run.newDirs.fail(rel, failureOf(err, rel, 'cannot create destination file', 'destination'));
      return;
    }
    const ranges = split.rangeTasks(this.run.plan.workers, () => this.nextId++, this.run.plan.minRangeBytes);
    ranges.forEach((r, i) => {
      this.splits.set(r.id, split);
      this.submit([r], i);
    });
  }

  private ensurePool(): WorkerPool {
    if (this.pool) return this.pool;
    const run = this.run;
    this.pool = new WorkerPool({
      workers: run.plan.workers,
      meta: run.meta,
      order: run.plan.order,
      needHash: run.options.compare.mode === 'checksum',
      inlineWhileStarting: true,
      onResults: (tasks, results) => this.onResults(tasks, results),
      onWorkerError: (err, tasks) => {
        for (const t of tasks) run.fail({ path: displayPath(this.taskRel.get(t.id) ?? Buffer.from(t.name, 'latin1')), code: ErrorCodes.Internal, reason: `copy worker failed: ${err.message}` });
        run.setFatal(new BlitError({ code: ErrorCodes.Internal, message: `copy worker failed: ${err.message}`, cause: err }));
      },
    });
    return this.pool;
  }

  private submit(tasks: FileTask[], affinity?: number): void {
    this.run.recorder.noteSubmit();
    this.batchSentAt.set(tasks, Date.now());
    this.ensurePool().submit(tasks, affinity);
  }

  private onResults(tasks: FileTask[], out: BatchOutput): void {
    const run = this.run;
    const results = out.results;
    run.stall?.tick('copy');
    const sent = this.batchSentAt.get(tasks);
    this.batchSentAt.delete(tasks);
    if (sent !== undefined && tasks.length > 1) {
      // A move's syncfs is a cost per sync: counted per file it shrank batches to the minimum,
      // one syncfs per 8 files (11,259 on a 100k move; DEVLOG move-sync).
      adaptBatch(run.plan, tasks.length, Date.now() - sent - (out.syncMs ?? 0));
    }
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      const split = this.splits.get(r.id);
      if (split) {
        this.splits.delete(r.id);
        const final = split.onRangeResult(r);
        if (final) this.handleResult(split.task, final);
        continue;
      }
      // Workers answer in task order; the lookup is only a safety net.
      const task = tasks[i]?.id === r.id ? tasks[i] : tasks.find((t) => t.id === r.id);
      if (task) this.handleResult(task, r);
    }
    if (out.removals) this.onRemovals(out.removals);
    run.recorder.sample(this.pool, run.plan, run.progress.filesDone, run.progress.bytesDone);
    run.progress.report(false);
  }

  private handleResult(task: FileTask, r: TaskResult): void {
    const run = this.run;
    const summary = run.summary;
    const rel = this.taskRel.get(task.id) ?? EMPTY;
    this.taskRel.delete(task.id);
    // A checkKept task (hashOnly outside a dry run): whatever it finds, the destination stays.
    const kept = task.hashOnly === true && !run.options.dryRun;
    // Named in flight by queueFile (big): done however it settled (a failure: its fileError).
    if (task.size >= run.plan.bigFileBytes && (r.status === 'copied' || r.status === 'same' || r.status === 'differs')) {
      run.emit({ type: 'fileDone', rel, size: r.bytes });
    }
    switch (r.status) {
      case 'copied':
        if (task.hashFirst) run.item('update', rel, 'file', r.bytes);
        summary.filesTransferred++;
        summary.bytesTransferred += r.bytes;
        run.recorder.noteCopied(r.bytes);
        run.progress.done(r.bytes);
        if (summary.firstByteMs === null && r.firstByteAt !== undefined) {
          summary.firstByteMs = Math.max(0, r.firstByteAt - run.start);
          run.emit({ type: 'firstByte', elapsedMs: summary.firstByteMs });
        }
        break;
      case 'differs':
        // A kept destination stays as it is; a dry run's would be updated.
        if (kept) summary.filesUnchanged++;
        else run.item('update', rel, 'file', task.size);
        run.progress.done(task.size);
        break;
      case 'same':
        summary.filesUnchanged++;
        run.progress.done(task.size);
        break;
      case 'failed':
        // Not reported when its directory could not be created (that failure says why).
        run.newDirs.fail(rel, { path: displayPath(rel), code: r.code ?? ErrorCodes.IoError, reason: r.reason ?? 'failed' });
        break;
      case 'cancelled':
        break;
    }
    if (r.sourceKeptReason) run.fail({ path: displayPath(rel), code: ErrorCodes.VerifyFailed, reason: r.sourceKeptReason });
    if (r.removalQueued) this.removalRel.set(task.id, rel);
  }

  /** move: sources a worker synced and removed, or kept (a failed sync, a changed source). */
  private onRemovals(outcomes: RemovalOutcome[]): void {
    for (const o of outcomes) {
      const rel = this.removalRel.get(o.id);
      this.removalRel.delete(o.id);
      if (o.kept !== null) this.run.fail({ path: displayPath(rel ?? EMPTY), code: ErrorCodes.VerifyFailed, reason: o.kept });
    }
  }

  /** Destination directory as latin1 text, memoized for the run of files from one listing. */
  private dstDirText(parent: Buffer): string {
    if (this.lastDstParent === null || !this.lastDstParent.equals(parent)) {
      this.lastDstParent = parent;
      this.lastDstDirText = join2(this.run.dstRoot, parent).toString('latin1');
    }
    return this.lastDstDirText;
  }
}
