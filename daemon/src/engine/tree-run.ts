/**
 * A directory run: walk the source (walk.ts) while the destination is listed ahead on a helper
 * thread (dest-lister.ts), march each source listing against its destination listing (differ.ts),
 * act on each entry (entry-actions.ts) as soon as its directory is read, so copies start while
 * the walk goes on; then mirror deletions, directory metadata deepest first, and for a move the
 * emptied source directories.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Entry } from './types';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { Walker, statEntry, failureOf, skippedWarning, type DirListing } from './walk';
import { DestLister, LISTER_FAILED, type ListedDir, type QuickCheck } from './dest-lister';
import { Differ } from './differ';
import { dirMetaDiffers } from './compare';
import { EMPTY } from './paths';
import { applyDirFixes, injectedReadFailures } from './run-support';
import type { CopyDispatcher } from './copy-dispatch';
import type { EntryActions } from './entry-actions';
import { runDeletions } from './mirror-deletions';
import { flushSourceRemovals, removeEmptiedSourceDirs } from './move-finalise';
import type { RunState } from './run-state';

/** Source listings the walker may run ahead of the diff while the destination is read in parallel. */
const LISTER_PIPELINE = 16;
/** Directories the walker reads ahead in the background (cold-cache trees; see walk.ts). */
const WALK_READ_AHEAD_DIRS = 8;

interface Pending {
  listing: DirListing;
  listed: Promise<ListedDir> | undefined;
}

export async function runTree(run: RunState, actions: EntryActions, copies: CopyDispatcher): Promise<void> {
  const options = run.options;
  const srcRootEntry = statEntry(run.srcRoot, EMPTY);
  if (!srcRootEntry || srcRootEntry.kind !== 'dir') throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'source is not a directory', path: run.ends.srcAbs });
  const differ = new Differ(run.dstRoot, run.filter, true);
  run.dirs.noteSource(srcRootEntry);
  if (!run.ends.dstExists) {
    run.item('mkdir', EMPTY, 'dir', 0);
    if (!options.dryRun) {
      try {
        // `blit copy SRC NEWDIR` creates NEWDIR, then NEWDIR/SRC (rsync semantics).
        if (run.ends.createDstParent) fs.mkdirSync(path.dirname(run.ends.dstAbs));
        fs.mkdirSync(run.dstRoot, 0o700);
      } catch (err) {
        throw fromErrno(err, run.ends.dstAbs, 'cannot create the destination directory');
      }
      run.summary.dirsCreated++;
    } else {
      differ.markMissing(EMPTY);
    }
    run.dirs.fix(EMPTY, srcRootEntry);
  } else {
    const dstRootEntry = statEntry(run.dstRoot, EMPTY) ?? undefined;
    // Made u+rwx first when it lacks it (rsync's dir tweaking); its fix restores the mode.
    const tweaked = dstRootEntry !== undefined && run.tweaks.tweak(EMPTY, dstRootEntry.mode);
    if (tweaked || dirMetaDiffers(srcRootEntry, dstRootEntry, run.meta.preserveOwner)) run.dirs.fix(EMPTY, srcRootEntry);
  }

  const walker = new Walker(run.srcRoot, {
    filter: run.filter,
    fastStat: true,
    readAheadDirs: WALK_READ_AHEAD_DIRS,
    signal: options.signal,
    onError: (f) => run.fail(f),
    onSkipped: (rel, why) => run.emit(skippedWarning(rel, why)),
    beforeReadDir: injectedReadFailures(options.debug?.failReadDirs),
  });
  // The destination side of the march runs on a helper thread once it is up (dest-lister.ts);
  // until then, and for a destination that does not exist yet, the main thread reads it.
  const c = options.compare;
  const quick: QuickCheck = c.ignoreExisting ? null : c.mode === 'default' ? 'default' : c.mode === 'size-only' ? 'size-only' : null;
  const lister = run.ends.dstExists ? new DestLister(run.dstRoot, quick, run.meta.preserveOwner) : null;
  const queue: Pending[] = [];
  const deletions: Entry[] = [];
  const srcDirs: Buffer[] = [];
  let complete = true;
  const diffOne = async (item: Pending): Promise<void> => {
    let listed = item.listed ? await item.listed : undefined;
    if (listed && 'error' in listed && listed.error.code === LISTER_FAILED) listed = undefined;
    if (run.fatal) return;
    // Below a directory that could not be created: nothing to attempt (new-dirs.ts).
    if (run.newDirs.missing(item.listing.dir)) return run.newDirs.skip(item.listing.entries.length);
    copies.startDirectory();
    for (const e of item.listing.entries) if (e.kind === 'dir') run.dirs.noteSource(e);
    try {
      differ.diff(
        item.listing,
        {
          srcOnly: (e) => actions.onSrcOnly(e),
          both: (s, d) => actions.onBoth(s, d),
          same: (s) => actions.onSame(s),
          tempFile: (rel) => actions.onTempFile(rel),
          dstOnly: (d) => deletions.push(d),
        },
        listed,
      );
    } catch (err) {
      // The destination directory exists but cannot be read: nothing below it is safe to delete.
      complete = false;
      run.fail(failureOf(err, item.listing.dir, 'cannot read destination directory'));
    }
    copies.flushIfIdle();
  };
  let listings = 0;
  try {
    for (const listing of walker) {
      if (run.fatal) break;
      run.stall!.tick('walk');
      if (options.mode === 'move') srcDirs.push(listing.dir);
      // Parents are always diffed before their children (FIFO): the differ relies on it.
      queue.push({ listing, listed: lister?.usable ? lister.list(listing) : undefined });
      while (queue.length > (lister?.usable ? LISTER_PIPELINE : 0)) await diffOne(queue.shift()!);
      if (copies.saturated()) {
        await copies.waitForRoom();
      } else if (++listings % 8 === 0) {
        await yieldToLoop();
      }
      run.progress.report(false);
    }
    while (queue.length > 0 && !run.fatal) await diffOne(queue.shift()!);
  } finally {
    await lister?.close();
  }
  if (!complete) walker.complete = false;
  run.progress.scanComplete = true;
  if (!run.fatal) copies.flush();
  await copies.drain();
  await actions.mkdirsDone();
  await flushSourceRemovals(run);
  run.throwIfFatal();
  run.progress.report(true);

  if (options.mode === 'mirror') runDeletions(run, deletions, walker.complete);
  if (!options.dryRun) applyDirFixes(run.dirs.fixes.filter((f) => !run.newDirs.missing(f.rel)), run.dstRoot, run.meta, (f) => run.fail(f));
  // Their modes are the source's now (or a failure named); the rest: the orchestrator's restore.
  for (const f of run.dirs.fixes) run.tweaks.settled(f.rel);
  // Only directories in place at the destination: one not made (failed, refused, kept) stays with
  // what is below it, though empty; it would otherwise be on neither side.
  if (options.mode === 'move' && !options.dryRun) await removeEmptiedSourceDirs(run, srcDirs.filter((rel) => run.newDirs.inPlace(rel)), run.ends.contentsOnly);
}
