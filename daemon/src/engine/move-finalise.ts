/**
 * move: what happens to the source once its copy is safe. Files copied by a worker are removed by
 * the worker after verification and a sync (FileTask.removeSource); the rest is here: a source
 * whose destination was already identical, a symlink once written, a split huge file once
 * committed, and at the end the source directories the move emptied.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import { depth, displayPath, join2 } from './paths';
import { ErrorCodes } from './errors';
import { sameScanMtime } from './compare';
import { failureOf } from './walk';
import type { PendingRemoval } from './durable';
import type { RunState } from './run-state';

/**
 * Remove a source entry whose destination is in place (move only; never in a dry run): queued,
 * removed once its destination is on disk (queueSourceRemoval).
 */
export function removeSourceIfMove(run: RunState, e: Entry): void {
  if (run.options.mode !== 'move' || run.options.dryRun) return;
  const dstAbs = join2(run.dstRoot, e.rel);
  let d: fs.BigIntStats;
  try {
    d = fs.lstatSync(dstAbs, { bigint: true });
  } catch (err) {
    run.fail(failureOf(err, e.rel, 'copied, but cannot check the destination; source kept'));
    return;
  }
  // No bytes to write back: an identical destination was there before, a symlink is a name.
  const src = run.srcAbsOf(e.rel);
  const unchanged = (st: fs.BigIntStats): boolean => stillAsScanned(e, st, e.kind === 'symlink' && st.isSymbolicLink() ? fs.readlinkSync(src, { encoding: 'buffer' }) : undefined);
  queueSourceRemoval(run, e.rel, { src, dst: { dstAbs, dev: d.dev, isFile: d.isFile() }, unchanged }, 0);
}

/**
 * The last check before a move unlinks a source (local, push and pull alike): is it still what
 * the scan saw, or the manifest sent? A file: a regular file of the same size and mtime; a
 * symlink: a symlink to the same target (`target`: its readlink, when `st` is a symlink).
 */
export function stillAsScanned(e: Entry, st: fs.BigIntStats, target: Buffer | undefined): boolean {
  if (e.kind === 'symlink') return st.isSymbolicLink() && target !== undefined && e.linkTarget !== undefined && target.equals(e.linkTarget);
  return e.kind === 'file' && st.isFile() && Number(st.size) === e.size && sameScanMtime(e, st.mtimeNs);
}

/** stillAsScanned of the entry at `abs`, read off the event loop (lstat, readlink); errno errors thrown. */
export async function stillAsScannedAt(e: Entry, abs: Buffer): Promise<boolean> {
  const st = await fs.promises.lstat(abs, { bigint: true });
  const target = e.kind === 'symlink' && st.isSymbolicLink() ? await fs.promises.readlink(abs, { encoding: 'buffer' }) : undefined;
  return stillAsScanned(e, st, target);
}

/**
 * A source the main thread removes once its copy (`bytes` to write back) is durable: waits in
 * run.sourceRemovals with the others until enough wait to be worth a sync, which then runs off
 * the event loop (durable.ts); a kept source is reported under `rel`.
 */
export function queueSourceRemoval(run: RunState, rel: Buffer, r: Omit<PendingRemoval, 'done'>, bytes: number): void {
  const pending = run.sourceRemovals;
  pending.add({
    ...r,
    done: (kept) => {
      if (kept !== null) run.fail({ path: displayPath(rel), code: ErrorCodes.VerifyFailed, reason: kept });
    },
  }, bytes);
  if (pending.due) pending.flushSoon();
}

/**
 * At the end of the copies: wait for a sync in progress, then sync and remove what still waits
 * (not in a fatal run: a cancelled or failed move syncs nothing more and keeps those sources).
 */
export async function flushSourceRemovals(run: RunState): Promise<void> {
  await run.sourceRemovals.settle(!run.fatal);
}

/** Remove source directories that are empty now, deepest first; `keepRoot` for `SRC/`. */
export function removeEmptiedSourceDirs(run: RunState, dirs: Buffer[], keepRoot: boolean): Promise<void> {
  // Each removal is progress: the stall detector runs between the turns now.
  return removeEmptiedDirs(dirs, keepRoot, (rel) => {
    run.stall?.tick('delete');
    fs.rmdirSync(join2(run.srcRoot, rel));
  });
}

/** Directories removed between two turns of the event loop (a removal is one rmdir, ~10-50 us). */
const RMDIRS_PER_TURN = 64;

/**
 * removeEmptiedSourceDirs with the removal given (a remote source: blitd removes through its
 * module containment, push-client.ts through the source's root). `rmdir` throws for a directory
 * that is not empty (something failed or was excluded): kept on purpose, silently. The event loop
 * turns every RMDIRS_PER_TURN removals: on blitd a pull move of 100k directories would otherwise
 * hold every other client for seconds (rev-local, rev-remote).
 */
export async function removeEmptiedDirs(dirs: Buffer[], keepRoot: boolean, rmdir: (rel: Buffer) => void): Promise<void> {
  const byDepth = dirs.map((rel) => ({ rel, depth: depth(rel) })).sort((a, b) => b.depth - a.depth);
  let done = 0;
  for (const { rel } of byDepth) {
    if (rel.length === 0 && keepRoot) continue;
    try {
      rmdir(rel);
    } catch {
      // not empty, or gone: kept (nothing to report, as rsync and the local move)
    }
    if (++done % RMDIRS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
