/**
 * What the march decided, per entry (differ.ts callbacks), for a tree run and a single-file run
 * alike: create directories (in the background), write symlinks, hand files to the copy
 * dispatcher, make way for an entry of another kind, remove stale temp files of a killed run.
 *
 * - a source dir replacing a destination non-dir, or the reverse, replaces the destination only
 *   when it is not a non-empty directory, unless this is a confirmed mirror.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import { ErrorCodes } from './errors';
import { decideFile, decideKept, dirMetaDiffers, fileMetaDiffers, sameSymlink, symlinkNeedsUpdate } from './compare';
import { applyFileMetaOnly, writeSymlinkAtomic } from './metadata';
import { removeIfStaleTemp, tempPathFor } from './atomic';
import { deleteEntry } from './delete';
import { baseName, displayPath, join2, parentRel } from './paths';
import { failureOf } from './walk';
import type { CopyDispatcher } from './copy-dispatch';
import { removeSourceIfMove } from './move-finalise';
import type { RunState } from './run-state';

export class EntryActions {
  constructor(
    private readonly run: RunState,
    private readonly copies: CopyDispatcher,
  ) {}

  onSrcOnly(e: Entry): void {
    if (this.run.fatal) return;
    switch (e.kind) {
      case 'dir':
        this.makeDir(e);
        return;
      case 'file':
        this.copies.queueFile(e, 'create');
        return;
      case 'symlink':
        this.writeSymlink(e, 'symlink');
    }
  }

  onBoth(s: Entry, d: Entry): void {
    const run = this.run;
    if (run.fatal) return;
    const compare = run.options.compare;
    if (s.kind !== d.kind && (s.kind === 'dir' || d.kind === 'dir')) {
      // A source directory not made here is not in place: a move keeps it (NewDirs.inPlace).
      if (compare.ignoreExisting) {
        if (s.kind === 'dir') run.newDirs.keptOther(s.rel);
        return;
      }
      if (!this.removeConflicting(d)) {
        if (s.kind === 'dir') run.newDirs.refused(s.rel);
        return;
      }
      this.onSrcOnly(s);
      return;
    }
    if (s.kind === 'dir') {
      // Made u+rwx first when it lacks it (rsync's dir tweaking), so what changes inside it can.
      if (run.tweaks.tweak(d.rel, d.mode) || dirMetaDiffers(s, d, run.meta.preserveOwner)) run.dirs.fix(s.rel, s);
      return;
    }
    if (s.kind === 'symlink') {
      if (symlinkNeedsUpdate(s, d, compare, run.meta.preserveOwner)) this.writeSymlink(s, 'update');
      // In place (the same target): its source goes. --ignore-existing keeps any other.
      else if (sameSymlink(s, d)) removeSourceIfMove(run, s);
      return;
    }
    const decision = decideFile(s, d, compare);
    // Content kept (skip) or perhaps kept (hash: a changed file is replaced with the source's
    // mode anyway): a differing mode/owner is re-applied alone, as rsync -a does.
    if (decision !== 'transfer' && !compare.ignoreExisting && fileMetaDiffers(s, d, run.meta.preserveOwner) && !this.fixFileMeta(s)) return;
    if (decision === 'skip' && compare.ignoreExisting) return this.onKept(s, d);
    if (decision === 'skip') {
      run.summary.filesUnchanged++;
      removeSourceIfMove(run, s);
      return;
    }
    this.copies.queueFile(s, decision === 'hash' ? 'hash' : 'update');
  }

  /**
   * --ignore-existing kept `d` unread. A move (not a dry run) still asks the run's own check
   * whether it is the source's copy, and removes the source only then: the quick check (or size)
   * here, or with --checksum both hashed by a worker (CopyDispatcher.checkKept: read-only, off
   * this thread). One that differs keeps its source; either way it counts as unchanged.
   */
  private onKept(s: Entry, d: Entry): void {
    const run = this.run;
    const o = run.options;
    const decision = o.mode === 'move' && !o.dryRun ? decideKept(s, d, o.compare) : 'transfer';
    if (decision === 'hash') return this.copies.checkKept(s);
    run.summary.filesUnchanged++;
    if (decision === 'skip') removeSourceIfMove(run, s);
  }

  /** chmod/chown of a destination file whose content stays. False: failed (recorded). */
  private fixFileMeta(s: Entry): boolean {
    const run = this.run;
    if (run.options.dryRun) return true;
    try {
      applyFileMetaOnly(join2(run.dstRoot, s.rel), s, run.meta);
      return true;
    } catch (err) {
      run.fail(failureOf(err, s.rel, 'cannot set mode or owner'));
      return false;
    }
  }

  /** A file the destination lister found identical by the quick check (mode and owner included). */
  onSame(s: Entry): void {
    if (this.run.fatal) return;
    this.run.summary.filesUnchanged++;
    removeSourceIfMove(this.run, s);
  }

  /**
   * A temp file left by an earlier run that was killed (SIGKILL, power loss): removed once it has
   * not been written for STALE_TEMP_MS (atomic.ts), so a live run's temp (written continuously) is never hit.
   */
  onTempFile(rel: Buffer): void {
    const run = this.run;
    if (run.options.dryRun) return;
    if (!removeIfStaleTemp(join2(run.dstRoot, rel))) return;
    run.dirs.touchParent(rel);
    run.emit({ type: 'warning', message: `${displayPath(rel)}: removed a temp file left by an interrupted run` });
  }

  /** Resolves when every background mkdir has finished. */
  async mkdirsDone(): Promise<void> {
    await this.run.newDirs.done();
  }

  /**
   * Make way for a source entry of another kind. Returns false (failure recorded) if refused.
   * Counted as deletions in a dry run too, so its summary says what the real run will do.
   */
  private removeConflicting(d: Entry): boolean {
    const run = this.run;
    const confirmedMirror = run.options.mode === 'mirror' && run.options.deleteConfirmed;
    const dryRun = run.options.dryRun;
    if (!dryRun) run.dirs.touchParent(d.rel);
    try {
      if (d.kind === 'dir' && confirmedMirror) {
        // Replaced whole: each entry in it is a deletion, itemized and counted as a mirror's are.
        run.summary.entriesDeleted += deleteEntry(run.dstRoot, d, undefined, (rel, kind) => run.item('delete', rel, kind, 0), dryRun).deleted;
        return true;
      }
      const abs = join2(run.dstRoot, d.rel);
      if (!dryRun) {
        // A directory only when empty: never lose data in a plain copy.
        if (d.kind === 'dir') fs.rmdirSync(abs);
        else fs.unlinkSync(abs);
      } else if (d.kind === 'dir' && !dirIsEmpty(abs)) {
        // The dry run refuses what the real run's rmdir will refuse (it listed delete + create).
        throw Object.assign(new Error('directory not empty'), { code: 'ENOTEMPTY' });
      }
      // Itemized once done: a refused rmdir is a failure, not a deletion.
      run.item('delete', d.rel, d.kind, 0);
      run.summary.entriesDeleted++;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        run.fail({ path: displayPath(d.rel), code: ErrorCodes.NotADirectory, reason: 'destination is a non-empty directory where the source has a file; not replaced (use a confirmed mirror)' });
      } else {
        run.fail(failureOf(err, d.rel, 'cannot replace destination entry'));
      }
      return false;
    }
  }

  private makeDir(e: Entry): void {
    const run = this.run;
    run.item('mkdir', e.rel, 'dir', 0);
    run.dirs.fix(e.rel, e);
    run.dirs.touchParent(e.rel);
    if (run.options.dryRun) return;
    // In the background; a file can reach a worker first (new-dirs.ts).
    run.newDirs.make(e.rel);
  }

  private writeSymlink(e: Entry, action: 'symlink' | 'update'): void {
    const run = this.run;
    run.item(action, e.rel, 'symlink', 0);
    if (run.options.dryRun) return;
    run.dirs.touchParent(e.rel);
    const dirAbs = join2(run.dstRoot, parentRel(e.rel));
    const write = (): void => writeSymlinkAtomic(dirAbs, baseName(e.rel), e.linkTarget!, e, run.meta, tempPathFor);
    try {
      try {
        write();
      } catch (err) {
        // Its directory's background mkdir may not have run yet (makeDir).
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        fs.mkdirSync(dirAbs, { recursive: true, mode: 0o700 });
        write();
      }
      run.summary.symlinksCreated++;
      removeSourceIfMove(run, e);
    } catch (err) {
      run.newDirs.fail(e.rel, failureOf(err, e.rel, 'cannot create symlink', 'destination'));
    }
  }
}

/** Does the directory hold no entry? (Reads one entry, not the whole listing.) */
function dirIsEmpty(abs: Buffer): boolean {
  const dir = fs.opendirSync(abs);
  try {
    return dir.readSync() === null;
  } finally {
    dir.closeSync();
  }
}
