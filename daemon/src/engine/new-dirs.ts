/**
 * Destination directories a local run creates, and those it could not. A directory is made in
 * the background (libuv pool: on a deep tree serial mkdirs held up the walk while the workers
 * idled), so a file can reach a worker first, whose AtomicFile then creates the directory itself
 * (createParents) or fails on the same cause. A directory whose creation failed is ONE failure
 * with its cause; what is below it is not attempted, or its failure not reported, and counted in
 * skippedInFailedDirs (rsync: "skipping any contents from this failed directory"), as the remote
 * destination does (remote/destination.ts failedDirs). Each file used to fail on its own
 * (`sub/f1: copy: operation not permitted`), and each subdirectory again.
 *
 * The background mkdir's callback can come after the workers' failures, or a child's before its
 * parent's: a failure below a directory still queued settles it first, synchronously (settle()),
 * so the directory that really failed is the one reported.
 */
import * as fs from 'node:fs';
import type { Failure } from './types';
import { failureOf } from './walk';
import { displayPath, join2, parentRel } from './paths';

export interface NewDirsSink {
  fail(f: Failure): void;
  /** Directories really created (the summary's dirsCreated). */
  created(): void;
  /** Entries below a failed directory (the summary's skippedInFailedDirs). */
  skipped(n: number): void;
}

const key = (rel: Buffer): string => rel.toString('latin1');

/**
 * Directories a run could not create (each reported once, with its cause): what is below one is
 * not attempted, or its failure not reported (NewDirs here, remote/destination.ts); a move keeps
 * the source directories they cover (push-client.ts, tree-run.ts).
 */
export class FailedDirs {
  private readonly dirs = new Set<string>();

  /** `keyOf` names a directory in the set: its bytes, or (ofFailurePaths) its display form. */
  constructor(private readonly keyOf: (rel: Buffer) => string = key) {}

  /**
   * The directories among a run's failure paths (display form, as a summary names them): the
   * push client only hears the daemon's failures. A false match (two names, one display form)
   * only keeps more.
   */
  static ofFailurePaths(paths: Iterable<string>): FailedDirs {
    const f = new FailedDirs(displayPath);
    for (const p of paths) f.dirs.add(p);
    return f;
  }

  add(dir: Buffer): void {
    this.dirs.add(this.keyOf(dir));
  }

  /** Is `dir` one of them, or below one? */
  covers(dir: Buffer): boolean {
    if (this.dirs.size === 0) return false;
    for (let d = dir; ; d = parentRel(d)) {
      if (this.dirs.has(this.keyOf(d))) return true;
      if (d.length === 0) return false;
    }
  }
}

export class NewDirs {
  /** Directories whose mkdir is still in the background; dropped once settled (made or failed). */
  private readonly queued = new Set<string>();
  /** Directories whose own creation failed (reported); everything below them is skipped. */
  private readonly failed = new FailedDirs();
  /** Source directories --ignore-existing did not make: another kind of entry is kept there. */
  private readonly kept = new FailedDirs();
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly dstRoot: () => Buffer,
    private readonly sink: NewDirsSink,
  ) {}

  /** Create `rel` in the background. */
  make(rel: Buffer): void {
    const k = key(rel);
    this.queued.add(k);
    this.inFlight++;
    fs.mkdir(join2(this.dstRoot(), rel), { recursive: true, mode: 0o700 }, (err) => {
      this.inFlight--;
      // Settled on this thread meanwhile (a failure below it came first): nothing left to do.
      if (this.queued.has(k)) this.settled(rel, k, err);
      if (this.inFlight === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves when every background mkdir has finished. */
  async done(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Is directory `dir` one whose creation failed, or below one? (Settled first if queued.) */
  failedAt(dir: Buffer): boolean {
    if (this.queued.size > 0) this.settle(dir);
    return this.failed.covers(dir);
  }

  /**
   * A failure of an entry in a directory this run creates: reported, unless that directory
   * could not be created (then its own failure says why, and this entry is counted).
   */
  fail(rel: Buffer, f: Failure): void {
    if (rel.length > 0 && this.failedAt(parentRel(rel))) this.sink.skipped(1);
    else this.sink.fail(f);
  }

  /** Count `n` entries below a failed directory, not attempted. */
  skip(n: number): void {
    this.sink.skipped(n);
  }

  /** Is `dir` a directory that could not be created, or below one? (Listings below it are not
   * diffed; it is left out of the final metadata pass: it does not exist.) */
  missing(rel: Buffer): boolean {
    return this.failed.covers(rel);
  }

  /**
   * Directory `rel` is not made: what is in its place could not be replaced (the caller reported
   * why). As a failed mkdir: what is below it is not attempted, and counted.
   */
  refused(rel: Buffer): void {
    this.failed.add(rel);
  }

  /** --ignore-existing kept a non-directory where source directory `rel` would go. */
  keptOther(rel: Buffer): void {
    this.kept.add(rel);
  }

  /**
   * Is destination directory `rel` in place, as far as this run knows (call after done())? Not
   * when it or one above it failed, was refused or kept: a move keeps such a source directory,
   * which, empty, would otherwise be on neither side.
   */
  inPlace(rel: Buffer): boolean {
    return !this.failed.covers(rel) && !this.kept.covers(rel);
  }

  /** Make a queued directory now (its queued parents first), as its background mkdir would. */
  private settle(rel: Buffer): void {
    const k = key(rel);
    if (!this.queued.has(k)) return;
    if (rel.length > 0) this.settle(parentRel(rel));
    let err: unknown = null;
    try {
      fs.mkdirSync(join2(this.dstRoot(), rel), { recursive: true, mode: 0o700 });
    } catch (e) {
      err = e;
    }
    this.settled(rel, k, err);
  }

  private settled(rel: Buffer, k: string, err: unknown): void {
    this.queued.delete(k); // before the parent is settled below: settle() and make()'s callback skip it
    if (!err) {
      this.sink.created();
      return;
    }
    // Its parent may still be queued (callbacks come in any order): settled first, so a parent
    // that failed is the one reported and this directory is counted below it.
    if (rel.length > 0 && this.failedAt(parentRel(rel))) {
      this.sink.skipped(1);
      return;
    }
    this.failed.add(rel);
    this.sink.fail(failureOf(err, rel, 'cannot create directory', 'destination'));
  }
}
