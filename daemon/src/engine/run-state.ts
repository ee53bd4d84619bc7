/**
 * The state one local run shares between its parts (orchestrator.ts composes them: tree-run,
 * single-file, entry-actions, copy-dispatch, mirror-deletions, move-finalise). It is passed to
 * each part explicitly; nothing else is shared. Holds what every part reads (options, filter,
 * roots, plan) and what every part reports into (summary, items, failures, the fatal error,
 * progress counters, directories whose metadata must be re-applied).
 */
import type { Entry, EventSink, TransferOptions, TransferSummary } from './types';
import { BlitError, ErrorCodes } from './errors';
import type { Filter } from './filter';
import type { Endpoints } from './endpoints';
import { defaultMetaOptions, type MetaOptions } from './metadata';
import type { Plan } from './planner';
import type { StallDetector } from './stall';
import { join2, parentRel } from './paths';
import { TweakedDirs } from './dir-tweaks';
import { DeferredRemovals } from './durable';
import { NewDirs } from './new-dirs';
import type { DirFix, RunRecorder } from './run-support';

const PROGRESS_EVERY_MS = 100;

export type ItemAction = 'create' | 'update' | 'delete' | 'mkdir' | 'symlink';

export class RunState {
  readonly summary: TransferSummary;
  readonly meta: MetaOptions = defaultMetaOptions();
  readonly progress: RunProgress;
  readonly dirs: DirTracker;
  /** Existing destination directories made u+rwx for the run (dir-tweaks.ts). */
  readonly tweaks: TweakedDirs;
  /** Directories this run creates (in the background) and those it could not (new-dirs.ts). */
  readonly newDirs: NewDirs;
  /** move: sources the main thread removes once their destinations are on disk (move-finalise.ts). */
  readonly sourceRemovals = new DeferredRemovals();
  /** Roots of the transfer; a single-file run re-roots them at the parents (single-file.ts). */
  srcRoot: Buffer;
  dstRoot: Buffer;
  /** Single-file transfer: the source path (its name may differ from the destination's). */
  singleSrc: Buffer | null = null;
  /** Set once (setFatal): every part stops taking new work. */
  fatal: BlitError | null = null;
  /** Started by the orchestrator; parts tick it when they make progress of their kind. */
  stall: StallDetector | null = null;
  private readonly fatalListeners: Array<(err: BlitError) => void> = [];

  constructor(
    /** Date.now() when the run began (durations, first byte). */
    readonly start: number,
    readonly ends: Endpoints,
    readonly options: TransferOptions,
    readonly filter: Filter,
    readonly emit: EventSink,
    readonly recorder: RunRecorder,
    /** Mutable on purpose: batch sizes and workers adapt while running (planner.ts, perf/tuning.ts). */
    readonly plan: Plan,
  ) {
    this.srcRoot = Buffer.from(ends.srcAbs);
    this.dstRoot = Buffer.from(ends.dstAbs);
    this.progress = new RunProgress(emit);
    this.dirs = new DirTracker(options.dryRun);
    this.tweaks = new TweakedDirs((rel) => join2(this.dstRoot, rel), options.dryRun);
    this.newDirs = new NewDirs(() => this.dstRoot, {
      fail: (f) => this.fail(f),
      created: () => this.summary.dirsCreated++,
      skipped: (n) => (this.summary.skippedInFailedDirs = (this.summary.skippedInFailedDirs ?? 0) + n),
    });
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

  srcAbsOf(rel: Buffer): Buffer {
    return this.singleSrc ?? join2(this.srcRoot, rel);
  }

  item(action: ItemAction, rel: Buffer, kind: Entry['kind'], size: number): void {
    this.emit({ type: 'item', action, rel, kind, size });
  }

  fail(f: { path: string; code: string; reason: string }): void {
    this.summary.failures.push(f);
    this.emit({ type: 'fileError', failure: f });
    // A full destination ends the run wherever it shows up (file, directory, symlink).
    if (f.code === ErrorCodes.NoSpace) this.setFatal(new BlitError({ code: ErrorCodes.NoSpace, message: f.reason, path: f.path }));
  }

  setFatal(err: BlitError): void {
    if (this.fatal) return;
    this.fatal = err;
    for (const l of this.fatalListeners) l(err);
  }

  /** Called once, synchronously, when the run turns fatal (the copy dispatcher cancels its workers). */
  onFatal(listener: (err: BlitError) => void): void {
    this.fatalListeners.push(listener);
  }

  throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }
}

/** Planned/done counters and the throttled progress event. */
export class RunProgress {
  filesPlanned = 0;
  bytesPlanned = 0;
  filesDone = 0;
  bytesDone = 0;
  scanComplete = false;
  private last = 0;

  constructor(private readonly emit: EventSink) {}

  planned(bytes: number): void {
    this.filesPlanned++;
    this.bytesPlanned += bytes;
  }

  done(bytes: number): void {
    this.filesDone++;
    this.bytesDone += bytes;
  }

  report(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_EVERY_MS) return;
    this.last = now;
    this.emit({ type: 'progress', filesDone: this.filesDone, bytesDone: this.bytesDone, filesPlanned: this.filesPlanned, bytesPlanned: this.bytesPlanned, scanComplete: this.scanComplete });
  }
}

/**
 * Destination directories whose metadata is applied after their children (applyDirFixes), and the
 * source directory entries that metadata comes from.
 */
export class DirTracker {
  readonly fixes: DirFix[] = [];
  private readonly fixed = new Set<string>();
  /** Source directory entries by rel (latin1): their metadata is re-applied when we touch them. */
  private readonly srcEntries = new Map<string, Entry>();

  constructor(private readonly dryRun: boolean) {}

  /** Remember a source directory's entry (its metadata is what the destination gets). */
  noteSource(e: Entry): void {
    this.srcEntries.set(e.rel.toString('latin1'), e);
  }

  /** Queue a directory's metadata to be applied after its children (once per directory). */
  fix(rel: Buffer, entry: Entry): void {
    const key = rel.toString('latin1');
    if (this.fixed.has(key)) return;
    this.fixed.add(key);
    this.fixes.push({ rel, entry });
  }

  /** We changed something inside rel's parent: its mtime moved, so re-apply the source's. */
  touchParent(rel: Buffer): void {
    if (this.dryRun) return;
    const parent = parentRel(rel);
    const entry = this.srcEntries.get(parent.toString('latin1'));
    if (entry) this.fix(parent, entry);
  }
}
