/**
 * runLocalTransfer: walk → diff → dispatch to copy workers → atomic rename → metadata, streaming
 * (copies start while the walk goes on), then mirror deletions (delete-after), directory metadata
 * deepest first, and for a move the emptied source directories.
 *
 * Rules kept here:
 * - dryRun: item events are emitted and nothing on disk changes.
 * - mirror deletes only dstOnly entries the filter does not exclude, only after a complete source
 *   scan (else: none, ScanIncomplete warning) and only with deleteConfirmed (else: none, warning
 *   saying to pass --yes); both cases count deletionsSkipped.
 * - move removes a source file only after its copy was committed and verified (in the worker),
 *   or when the destination was already identical (size+mtime, or hash with --checksum); never
 *   one whose copy failed. `SRC/` keeps the (emptied) root directory, `SRC` removes it too.
 * - per-file failures go to summary.failures and the run goes on; fatal codes end it (thrown).
 * - a source dir replacing a destination non-dir, or the reverse, replaces the destination only
 *   when it is not a non-empty directory, unless this is a confirmed mirror.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Entry, EventSink, TransferOptions, TransferSummary } from './types';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { Filter } from './filter';
import { Walker, statEntry, failureOf, type DirListing } from './walk';
import { DestLister, LISTER_FAILED, type ListedDir, type QuickCheck } from './dest-lister';
import { Differ } from './differ';
import { decideFile, dirMetaDiffers, symlinkNeedsUpdate } from './compare';
import { defaultMetaOptions, writeSymlinkAtomic, type MetaOptions } from './metadata';
import { removeStaleTemps, tempPathFor } from './atomic';
import { deleteEntry } from './delete';
import { resolveEndpoints, type Endpoints } from './endpoints';
import { WorkerPool } from './worker-pool';
import { adaptBatch, planFromTuning, type Plan } from './planner';
import type { WorkloadSignature } from './perf/tuning';
import type { PerfHistory, PerfOutcome } from './perf/history';
import { fsTypeOf } from './perf/fstype';
import { SplitCopy } from './split-copy';
import { StallDetector } from './stall';
import { baseName, displayPath, join2, parentRel, EMPTY } from './paths';
import { applyDirFixes, asBlitError, cancelledError, injectedReadFailures, removeEmptiedSourceDirs, RunRecorder, type DirFix } from './run-support';
import type { FileTask, TaskResult } from './worker-protocol';

const PROGRESS_EVERY_MS = 100;
/** Source listings the walker may run ahead of the diff while the destination is read in parallel. */
const LISTER_PIPELINE = 16;
/** Directories the walker reads ahead in the background (cold-cache trees; see walk.ts). */
const WALK_READ_AHEAD_DIRS = 8;
/** A temp file untouched this long belongs to a dead run. */
const STALE_TEMP_MS = 15 * 60 * 1000;

/** What a local run gets from its host besides the options (passed explicitly, no globals). */
export interface LocalRunContext {
  /**
   * Local performance history (perf/history.ts): warm-starts the tuning and records this run.
   * The CLI/daemon opens it at their edge: PerfHistory.open(perfHistoryOptionsFromEnv(process.env)).
   * Omitted or null: machine defaults, nothing recorded.
   */
  history?: PerfHistory | null;
}

export async function runLocalTransfer(srcArg: string, dstArg: string, options: TransferOptions, onEvent: EventSink, context: LocalRunContext = {}): Promise<TransferSummary> {
  const ends = resolveEndpoints(srcArg, dstArg);
  const filter = Filter.fromSpec(options.filter);
  const sig: WorkloadSignature = { fsType: await fsTypeOf(ends.srcAbs), dstFsType: await fsTypeOf(ends.dstAbs), mode: 'local' };
  const run = new LocalRun(ends, options, filter, onEvent, sig, context.history ?? null);
  return run.execute();
}

class LocalRun {
  private readonly start = Date.now();
  private readonly summary: TransferSummary;
  private plan: Plan;
  private readonly meta: MetaOptions;
  private srcRoot: Buffer;
  private dstRoot: Buffer;
  /** Single-file transfer: the source path (its name may differ from the destination's). */
  private singleSrc: Buffer | null = null;
  private pool: WorkerPool | null = null;
  private pending: FileTask[] = [];
  private pendingBytes = 0;
  private nextId = 1;
  private readonly taskRel = new Map<number, Buffer>();
  private readonly batchSentAt = new Map<FileTask[], number>();
  private filesPlanned = 0;
  private bytesPlanned = 0;
  private filesDone = 0;
  private bytesDone = 0;
  private scanComplete = false;
  private lastProgress = 0;
  private fatal: BlitError | null = null;
  private mkdirsInFlight = 0;
  private readonly mkdirWaiters: Array<() => void> = [];
  private readonly dirFixes: DirFix[] = [];
  private readonly fixedDirs = new Set<string>();
  /** Source directory entries by rel (latin1): their metadata is re-applied when we touch them. */
  private readonly srcDirEntries = new Map<string, Entry>();
  private readonly deletions: Entry[] = [];
  private readonly srcDirs: Buffer[] = [];
  private stall: StallDetector | null = null;
  private lastHeartbeat = 0;
  /** Sequence number of the source listing being diffed (worker affinity per directory). */
  private dirSeq = 0;
  private pendingDirSeq = 0;
  private readonly recorder: RunRecorder;
  /** Range task id → the split huge file it belongs to. */
  private readonly splits = new Map<number, SplitCopy>();

  constructor(
    private readonly ends: Endpoints,
    private readonly options: TransferOptions,
    private readonly filter: Filter,
    private readonly emit: EventSink,
    sig: WorkloadSignature,
    history: PerfHistory | null,
  ) {
    this.recorder = new RunRecorder(sig, history, this.start, options.debug?.workers !== undefined);
    this.plan = planFromTuning(this.recorder.tuning, options.debug);
    this.meta = defaultMetaOptions();
    this.srcRoot = Buffer.from(ends.srcAbs);
    this.dstRoot = Buffer.from(ends.dstAbs);
    this.summary = {
      filesTransferred: 0,
      bytesTransferred: 0,
      dirsCreated: 0,
      symlinksCreated: 0,
      entriesDeleted: 0,
      deletionsSkipped: 0,
      filesUnchanged: 0,
      failures: [],
      durationMs: 0,
      firstByteMs: null,
      dryRun: options.dryRun,
    };
  }

  async execute(): Promise<TransferSummary> {
    const signal = this.options.signal;
    if (signal?.aborted) throw cancelledError();
    const onAbort = (): void => this.setFatal(cancelledError());
    signal?.addEventListener('abort', onAbort);
    this.stall = new StallDetector({
      timeoutMs: this.options.debug?.stallTimeoutMs ?? 10_000,
      describeInFlight: () => this.describeInFlight(),
      beforeCheck: () => {
        const hb = this.pool?.heartbeat() ?? 0;
        if (hb !== this.lastHeartbeat) {
          this.lastHeartbeat = hb;
          this.stall?.tick('copy');
        }
      },
      onStall: (err) => this.onStall(err),
    });
    this.stall.start();
    let outcome: PerfOutcome = 'failed';
    try {
      if (this.ends.kind === 'single') await this.runSingle();
      else await this.runTree();
      outcome = this.summary.failures.length > 0 ? 'partial' : 'ok';
    } catch (err) {
      if (err instanceof BlitError && err.code === ErrorCodes.Cancelled) outcome = 'cancelled';
      throw asBlitError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.stall.stop();
      if (this.pool) await this.pool.close();
      // Ranges that never came back (worker died, stall): their shared temp must not stay behind.
      for (const split of new Set(this.splits.values())) split.abort();
      await this.recorder.record(outcome, this.summary, this.plan);
    }
    this.summary.durationMs = Date.now() - this.start;
    this.summary.peakRssBytes = process.resourceUsage().maxRSS * 1024;
    this.progress(true);
    return this.summary;
  }

  // ---------------------------------------------------------------- tree transfer

  private async runTree(): Promise<void> {
    const srcRootEntry = statEntry(this.srcRoot, EMPTY);
    if (!srcRootEntry || srcRootEntry.kind !== 'dir') throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'source is not a directory', path: this.ends.srcAbs });
    const differ = new Differ(this.dstRoot, this.filter, true);
    this.srcDirEntries.set('', srcRootEntry);
    if (!this.ends.dstExists) {
      this.item('mkdir', EMPTY, 'dir', 0);
      if (!this.options.dryRun) {
        try {
          // `blit copy SRC NEWDIR` creates NEWDIR, then NEWDIR/SRC (rsync semantics).
          if (this.ends.createDstParent) fs.mkdirSync(path.dirname(this.ends.dstAbs));
          fs.mkdirSync(this.dstRoot, 0o700);
        } catch (err) {
          throw fromErrno(err, this.ends.dstAbs, 'cannot create the destination directory');
        }
        this.summary.dirsCreated++;
      } else {
        differ.markMissing(EMPTY);
      }
      this.fixDir(EMPTY, srcRootEntry);
    } else {
      const dstRootEntry = statEntry(this.dstRoot, EMPTY) ?? undefined;
      if (dirMetaDiffers(srcRootEntry, dstRootEntry)) this.fixDir(EMPTY, srcRootEntry);
    }

    const walker = new Walker(this.srcRoot, {
      filter: this.filter,
      fastStat: true,
      readAheadDirs: WALK_READ_AHEAD_DIRS,
      signal: this.options.signal,
      onError: (f) => this.fail(f),
      onSkipped: (rel, why) => this.emit({ type: 'warning', message: `${displayPath(rel)}: skipped (${why})` }),
      beforeReadDir: injectedReadFailures(this.options.debug?.failReadDirs),
    });
    // The destination side of the march runs on a helper thread once it is up (dest-lister.ts);
    // until then, and for a destination that does not exist yet, the main thread reads it.
    const c = this.options.compare;
    const quick: QuickCheck = c.ignoreExisting ? null : c.mode === 'default' ? 'default' : c.mode === 'size-only' ? 'size-only' : null;
    const lister = this.ends.dstExists ? new DestLister(this.dstRoot, quick) : null;
    const queue: Array<{ listing: DirListing; listed: Promise<ListedDir> | undefined }> = [];
    let complete = true;
    const diffOne = async (item: { listing: DirListing; listed: Promise<ListedDir> | undefined }): Promise<void> => {
      let listed = item.listed ? await item.listed : undefined;
      if (listed && 'error' in listed && listed.error.code === LISTER_FAILED) listed = undefined;
      if (this.fatal) return;
      this.dirSeq++;
      for (const e of item.listing.entries) if (e.kind === 'dir') this.srcDirEntries.set(e.rel.toString('latin1'), e);
      try {
        differ.diff(
          item.listing,
          {
            srcOnly: (e) => this.onSrcOnly(e),
            both: (s, d) => this.onBoth(s, d),
            same: (s) => this.onSame(s),
            tempFile: (rel) => this.onTempFile(rel),
            dstOnly: (d) => this.deletions.push(d),
          },
          listed,
        );
      } catch (err) {
        // The destination directory exists but cannot be read: nothing below it is safe to delete.
        complete = false;
        this.fail(failureOf(err, item.listing.dir, 'cannot read destination directory'));
      }
      this.flushIfIdle();
    };
    let listings = 0;
    try {
      for (const listing of walker) {
        if (this.fatal) break;
        this.stall!.tick('walk');
        if (this.options.mode === 'move') this.srcDirs.push(listing.dir);
        // Parents are always diffed before their children (FIFO): the differ relies on it.
        queue.push({ listing, listed: lister?.usable ? lister.list(listing) : undefined });
        while (queue.length > (lister?.usable ? LISTER_PIPELINE : 0)) await diffOne(queue.shift()!);
        if (this.pool && this.pool.batchesInFlight > this.plan.workers * this.plan.batchesPerWorker) {
          await this.pool.waitBelow(this.plan.workers * 2);
        } else if (++listings % 8 === 0) {
          await yieldToLoop();
        }
        this.progress(false);
      }
      while (queue.length > 0 && !this.fatal) await diffOne(queue.shift()!);
    } finally {
      await lister?.close();
    }
    if (!complete) walker.complete = false;
    this.scanComplete = true;
    if (!this.fatal) this.flush();
    if (this.pool) await this.pool.drain();
    await this.mkdirsDone();
    this.throwIfFatal();
    this.progress(true);

    if (this.options.mode === 'mirror') this.runDeletions(walker.complete);
    if (!this.options.dryRun) applyDirFixes(this.dirFixes, this.dstRoot, this.meta, (f) => this.fail(f));
    if (this.options.mode === 'move' && !this.options.dryRun) removeEmptiedSourceDirs(this.srcDirs, this.srcRoot, this.ends.contentsOnly);
  }

  private onSrcOnly(e: Entry): void {
    if (this.fatal) return;
    switch (e.kind) {
      case 'dir':
        this.makeDir(e);
        return;
      case 'file':
        this.queueFile(e, undefined, 'create');
        return;
      case 'symlink':
        this.writeSymlink(e, 'symlink');
    }
  }

  private onBoth(s: Entry, d: Entry): void {
    if (this.fatal) return;
    if (s.kind !== d.kind && (s.kind === 'dir' || d.kind === 'dir')) {
      if (this.options.compare.ignoreExisting) return;
      if (!this.removeConflicting(d)) return;
      this.onSrcOnly(s);
      return;
    }
    if (s.kind === 'dir') {
      if (dirMetaDiffers(s, d)) this.fixDir(s.rel, s);
      return;
    }
    if (s.kind === 'symlink') {
      if (symlinkNeedsUpdate(s, d, this.options.compare)) this.writeSymlink(s, 'update');
      else this.removeSourceIfMove(s);
      return;
    }
    const decision = decideFile(s, d, this.options.compare);
    if (decision === 'skip') {
      this.summary.filesUnchanged++;
      // --ignore-existing skips content we never compared: the source is not removed then.
      if (!this.options.compare.ignoreExisting) this.removeSourceIfMove(s);
      return;
    }
    this.queueFile(s, d, decision === 'hash' ? 'hash' : 'update');
  }

  /**
   * A temp file left by an earlier run that was killed (SIGKILL, power loss): removed once it has
   * not been written for STALE_TEMP_MS, so a live run's temp (written continuously) is never hit.
   */
  private onTempFile(rel: Buffer): void {
    if (this.options.dryRun) return;
    const abs = join2(this.dstRoot, rel);
    try {
      const st = fs.lstatSync(abs);
      if (!st.isFile() || Date.now() - st.mtimeMs < STALE_TEMP_MS) return;
      fs.unlinkSync(abs);
      this.touchParent(rel);
      this.emit({ type: 'warning', message: `${displayPath(rel)}: removed a temp file left by an interrupted run` });
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }

  /** A file the destination lister found identical by the quick check. */
  private onSame(s: Entry): void {
    if (this.fatal) return;
    this.summary.filesUnchanged++;
    this.removeSourceIfMove(s);
  }

  /** Make way for a source entry of another kind. Returns false (failure recorded) if refused. */
  /** Queue a directory's metadata to be applied after its children (once per directory). */
  private fixDir(rel: Buffer, entry: Entry): void {
    const key = rel.toString('latin1');
    if (this.fixedDirs.has(key)) return;
    this.fixedDirs.add(key);
    this.dirFixes.push({ rel, entry });
  }

  /** We changed something inside rel's parent: its mtime moved, so re-apply the source's. */
  private touchParent(rel: Buffer): void {
    if (this.options.dryRun) return;
    const parent = parentRel(rel);
    const entry = this.srcDirEntries.get(parent.toString('latin1'));
    if (entry) this.fixDir(parent, entry);
  }

  /** Counted as deletions in a dry run too, so its summary says what the real run will do. */
  private removeConflicting(d: Entry): boolean {
    const confirmedMirror = this.options.mode === 'mirror' && this.options.deleteConfirmed;
    const dryRun = this.options.dryRun;
    if (!dryRun) this.touchParent(d.rel);
    try {
      if (d.kind === 'dir' && confirmedMirror) {
        // Replaced whole: each entry in it is a deletion, itemized and counted as a mirror's are.
        this.summary.entriesDeleted += deleteEntry(this.dstRoot, d, undefined, (rel, kind) => this.item('delete', rel, kind, 0), dryRun).deleted;
        return true;
      }
      this.item('delete', d.rel, d.kind, 0);
      if (!dryRun) {
        const abs = join2(this.dstRoot, d.rel);
        // A directory only when empty: never lose data in a plain copy.
        if (d.kind === 'dir') fs.rmdirSync(abs);
        else fs.unlinkSync(abs);
      }
      this.summary.entriesDeleted++;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        this.fail({ path: displayPath(d.rel), code: ErrorCodes.NotADirectory, reason: 'destination is a non-empty directory where the source has a file; not replaced (use a confirmed mirror)' });
      } else {
        this.fail(failureOf(err, d.rel, 'cannot replace destination entry'));
      }
      return false;
    }
  }

  private makeDir(e: Entry): void {
    this.item('mkdir', e.rel, 'dir', 0);
    this.fixDir(e.rel, e);
    this.touchParent(e.rel);
    if (this.options.dryRun) return;
    // In the background (libuv pool): on a deep tree serial mkdirs held up the walk while the
    // workers idled. A file can reach a worker first; its AtomicFile then creates the directory
    // (createParents). Either way the directory was absent when listed, so it counts as created.
    this.mkdirsInFlight++;
    fs.mkdir(join2(this.dstRoot, e.rel), { recursive: true, mode: 0o700 }, (err) => {
      this.mkdirsInFlight--;
      if (err) this.fail(failureOf(err, e.rel, 'cannot create directory'));
      else this.summary.dirsCreated++;
      if (this.mkdirsInFlight === 0) for (const wake of this.mkdirWaiters.splice(0)) wake();
    });
  }

  /** Resolves when every background mkdir has finished. */
  private async mkdirsDone(): Promise<void> {
    while (this.mkdirsInFlight > 0) await new Promise<void>((resolve) => this.mkdirWaiters.push(resolve));
  }

  private writeSymlink(e: Entry, action: 'symlink' | 'update'): void {
    this.item(action, e.rel, 'symlink', 0);
    if (this.options.dryRun) return;
    this.touchParent(e.rel);
    const dirAbs = join2(this.dstRoot, parentRel(e.rel));
    const write = (): void => writeSymlinkAtomic(dirAbs, baseName(e.rel), e.linkTarget!, e, this.meta, tempPathFor);
    try {
      try {
        write();
      } catch (err) {
        // Its directory's background mkdir may not have run yet (makeDir).
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        fs.mkdirSync(dirAbs, { recursive: true, mode: 0o700 });
        write();
      }
      this.summary.symlinksCreated++;
      this.removeSourceIfMove(e);
    } catch (err) {
      this.fail(failureOf(err, e.rel, 'cannot create symlink'));
    }
  }

  private removeSourceIfMove(e: Entry): void {
    if (this.options.mode !== 'move' || this.options.dryRun) return;
    try {
      fs.unlinkSync(this.srcAbsOf(e.rel));
    } catch (err) {
      this.fail(failureOf(err, e.rel, 'copied, but cannot remove the source'));
    }
  }

  // A file replacing a symlink needs nothing special: rename() replaces the link, not its target.
  private queueFile(e: Entry, _d: Entry | undefined, how: 'create' | 'update' | 'hash'): void {
    if (how !== 'hash') this.item(how, e.rel, 'file', e.size);
    this.filesPlanned++;
    this.bytesPlanned += e.size;
    if (this.options.dryRun && how !== 'hash') return;
    if (!this.options.dryRun) this.touchParent(e.rel);
    const task: FileTask = {
      id: this.nextId++,
      src: this.srcAbsOf(e.rel).toString('latin1'),
      dstDir: this.dstDirText(parentRel(e.rel)),
      name: baseName(e.rel).toString('latin1'),
      size: e.size,
      mtimeNs: e.mtimeNs,
      mtimeMs: e.mtimeMs ?? -1,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      blocks: e.blocks ?? Math.ceil(e.size / 512),
      hashFirst: how === 'hash',
      // Dry run with --checksum: the workers hash both sides read-only to itemize truthfully.
      hashOnly: this.options.dryRun,
      removeSource: this.options.mode === 'move',
      verifyByHash: this.options.mode === 'move' && this.options.compare.mode === 'checksum',
    };
    this.taskRel.set(task.id, e.rel);
    if (this.shouldSplit(task)) {
      this.startSplit(task, e.rel);
      return;
    }
    if (e.size >= this.plan.bigFileBytes) {
      // Big files are worth naming while they are in flight (progress displays, the daemon's job view).
      this.emit({ type: 'fileStart', rel: e.rel, size: e.size });
      this.submit([task]);
      return;
    }
    if (this.pending.length === 0) this.pendingDirSeq = this.dirSeq;
    this.pending.push(task);
    this.pendingBytes += e.size;
    if (this.pending.length >= this.plan.batchFiles || this.pendingBytes >= this.plan.batchBytes) this.flush();
  }

  /** Huge, dense, not compared by hash, several workers, no reflink (a clone is instant anyway). */
  private shouldSplit(t: FileTask): boolean {
    return t.size >= this.plan.hugeFileBytes && t.size >= 2 * this.plan.minRangeBytes && this.plan.workers >= 2 && !t.hashFirst && t.blocks * 512 >= t.size && this.plan.order[0] !== 'reflink';
  }

  private startSplit(task: FileTask, rel: Buffer): void {
    this.emit({ type: 'fileStart', rel, size: task.size });
    let split: SplitCopy;
    try {
      split = new SplitCopy(task, this.meta);
    } catch (err) {
      this.taskRel.delete(task.id);
      const f = failureOf(err, rel, 'cannot create destination file');
      this.fail(f);
      return;
    }
    const ranges = split.rangeTasks(this.plan.workers, () => this.nextId++, this.plan.minRangeBytes);
    ranges.forEach((r, i) => {
      this.splits.set(r.id, split);
      this.submit([r], i);
    });
  }

  // ---------------------------------------------------------------- workers

  private ensurePool(): WorkerPool {
    if (this.pool) return this.pool;
    this.pool = new WorkerPool({
      workers: this.plan.workers,
      meta: this.meta,
      order: this.plan.order,
      needHash: this.options.compare.mode === 'checksum',
      inlineWhileStarting: true,
      onResults: (tasks, results) => this.onResults(tasks, results),
      onWorkerError: (err, tasks) => {
        for (const t of tasks) this.fail({ path: displayPath(this.taskRel.get(t.id) ?? Buffer.from(t.name, 'latin1')), code: ErrorCodes.Internal, reason: `copy worker failed: ${err.message}` });
        this.setFatal(new BlitError({ code: ErrorCodes.Internal, message: `copy worker failed: ${err.message}`, cause: err }));
      },
    });
    return this.pool;
  }

  private submit(tasks: FileTask[], affinity?: number): void {
    this.recorder.noteSubmit();
    this.batchSentAt.set(tasks, Date.now());
    this.ensurePool().submit(tasks, affinity);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.submit(batch, this.pendingDirSeq);
  }

  /** Send a partial batch when a worker would otherwise sit idle (keeps first byte fast). */
  private flushIfIdle(): void {
    if (this.pending.length === 0) return;
    if (!this.pool || this.pool.batchesInFlight < this.plan.workers) this.flush();
  }

  private onResults(tasks: FileTask[], results: TaskResult[]): void {
    this.stall?.tick('copy');
    const sent = this.batchSentAt.get(tasks);
    this.batchSentAt.delete(tasks);
    if (sent !== undefined && tasks.length > 1) adaptBatch(this.plan, tasks.length, Date.now() - sent);
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
    this.recorder.sample(this.pool, this.plan, this.filesDone, this.bytesDone);
    this.progress(false);
  }

  private handleResult(task: FileTask, r: TaskResult): void {
    const rel = this.taskRel.get(task.id) ?? EMPTY;
    this.taskRel.delete(task.id);
    switch (r.status) {
      case 'copied':
        if (task.size >= this.plan.bigFileBytes) this.emit({ type: 'fileDone', rel, size: r.bytes });
        if (task.hashFirst) this.item('update', rel, 'file', r.bytes);
        this.summary.filesTransferred++;
        this.summary.bytesTransferred += r.bytes;
        this.recorder.noteCopied(r.bytes);
        this.filesDone++;
        this.bytesDone += r.bytes;
        if (this.summary.firstByteMs === null && r.firstByteAt !== undefined) {
          this.summary.firstByteMs = Math.max(0, r.firstByteAt - this.start);
          this.emit({ type: 'firstByte', elapsedMs: this.summary.firstByteMs });
        }
        break;
      case 'differs':
        this.item('update', rel, 'file', task.size);
        this.filesDone++;
        this.bytesDone += task.size;
        break;
      case 'same':
        this.summary.filesUnchanged++;
        this.filesDone++;
        this.bytesDone += task.size;
        break;
      case 'failed': {
        const f = { path: displayPath(rel), code: r.code ?? ErrorCodes.IoError, reason: r.reason ?? 'failed' };
        this.fail(f);
        break;
      }
      case 'cancelled':
        break;
    }
    if (r.sourceKeptReason) this.fail({ path: displayPath(rel), code: ErrorCodes.VerifyFailed, reason: r.sourceKeptReason });
  }

  // ---------------------------------------------------------------- single file

  private async runSingle(): Promise<void> {
    const srcAbs = Buffer.from(this.ends.srcAbs);
    const src = statEntry(srcAbs, baseName(srcAbs));
    if (!src) throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'source is not a file or symlink', path: this.ends.srcAbs });
    const dstAbs = Buffer.from(this.ends.dstAbs);
    let dst: Entry | undefined;
    try {
      dst = statEntry(dstAbs, baseName(dstAbs)) ?? undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Address everything relative to the parents, under the destination's name.
    this.srcRoot = parentRel(srcAbs);
    this.dstRoot = parentRel(dstAbs);
    this.singleSrc = srcAbs;
    const name = baseName(dstAbs);
    if (dst) this.onBoth({ ...src, rel: name }, { ...dst, rel: name });
    else this.onSrcOnly({ ...src, rel: name });
    this.scanComplete = true;
    this.flush();
    if (this.pool) await this.pool.drain();
    this.throwIfFatal();
  }

  // ---------------------------------------------------------------- after the copies

  private runDeletions(scanComplete: boolean): void {
    if (this.deletions.length === 0) return;
    if (!scanComplete) {
      const n = this.countHeld(false);
      this.summary.deletionsSkipped += n;
      this.emit({ type: 'warning', message: `${ErrorCodes.ScanIncomplete}: the source could not be read completely, so ${n} destination entr${n === 1 ? 'y was' : 'ies were'} not deleted` });
      return;
    }
    if (!this.options.deleteConfirmed && !this.options.dryRun) {
      // Itemized (the CLI lists them when it asks) and counted entry by entry, as the confirmed
      // pass will delete and count them: "Delete N entries?" then "N deleted".
      const n = this.countHeld(true);
      this.summary.deletionsSkipped += n;
      this.emit({ type: 'warning', message: `${n} destination entr${n === 1 ? 'y is' : 'ies are'} not in the source and were not deleted: deletions need confirmation (pass --yes)` });
      return;
    }
    // Deepest first is not needed (each entry is a distinct top of a dst-only subtree).
    for (const d of this.deletions) {
      if (this.fatal) break;
      try {
        this.touchParent(d.rel);
        // A dry run reports exactly what a real run would delete (same walk, nothing removed).
        const r = deleteEntry(this.dstRoot, d, this.filter, (rel, kind) => this.item('delete', rel, kind, 0), this.options.dryRun);
        this.summary.entriesDeleted += r.deleted;
        this.stall?.tick('delete');
      } catch (err) {
        this.fail(failureOf(err, d.rel, 'cannot delete'));
      }
    }
  }

  /** Entries the held deletions would remove (read, nothing removed); each 'delete' item when `itemize`. */
  private countHeld(itemize: boolean): number {
    let n = 0;
    for (const d of this.deletions) {
      try {
        n += deleteEntry(this.dstRoot, d, this.filter, (rel, kind) => itemize && this.item('delete', rel, kind, 0), true).deleted;
      } catch {
        n++; // an unreadable directory still counts as the one entry we know of
        if (itemize) this.item('delete', d.rel, d.kind, 0);
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- plumbing

  /** Destination directory as latin1 text, memoized for the run of files from one listing. */
  private dstDirText(parent: Buffer): string {
    if (this.lastDstParent === null || !this.lastDstParent.equals(parent)) {
      this.lastDstParent = parent;
      this.lastDstDirText = join2(this.dstRoot, parent).toString('latin1');
    }
    return this.lastDstDirText;
  }
  private lastDstParent: Buffer | null = null;
  private lastDstDirText = '';

  private srcAbsOf(rel: Buffer): Buffer {
    return this.singleSrc ?? join2(this.srcRoot, rel);
  }

  private item(action: 'create' | 'update' | 'delete' | 'mkdir' | 'symlink', rel: Buffer, kind: Entry['kind'], size: number): void {
    this.emit({ type: 'item', action, rel, kind, size });
  }

  private fail(f: { path: string; code: string; reason: string }): void {
    this.summary.failures.push(f);
    this.emit({ type: 'fileError', failure: f });
    // A full destination ends the run wherever it shows up (file, directory, symlink).
    if (f.code === ErrorCodes.NoSpace) this.setFatal(new BlitError({ code: ErrorCodes.NoSpace, message: f.reason, path: f.path }));
  }

  private setFatal(err: BlitError): void {
    if (this.fatal) return;
    this.fatal = err;
    this.pool?.cancel();
    this.pool?.wakeIdle();
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  private progress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    this.emit({ type: 'progress', filesDone: this.filesDone, bytesDone: this.bytesDone, filesPlanned: this.filesPlanned, bytesPlanned: this.bytesPlanned, scanComplete: this.scanComplete });
  }

  private describeInFlight(): string {
    const tasks = this.pool?.inFlightTasks() ?? [];
    if (tasks.length === 0) return this.scanComplete ? '' : 'the source scan';
    const names = tasks.slice(0, 5).map((t) => displayPath(this.taskRel.get(t.id) ?? Buffer.from(t.name, 'latin1')));
    return names.join(', ') + (tasks.length > 5 ? ` and ${tasks.length - 5} more` : '');
  }

  private onStall(err: BlitError): void {
    this.recorder.stallEvents++;
    const lost = this.pool?.inFlightTasks() ?? [];
    this.setFatal(err);
    // A worker stuck in a syscall never answers: end it, then remove its temp files ourselves.
    void this.pool?.close().then(() => {
      for (const t of lost) removeStaleTemps(Buffer.from(t.dstDir, 'latin1'), Buffer.from(t.name, 'latin1'));
    });
    this.pool?.abandonAll();
  }
}
