/**
 * move: what happens to the source once its copy is safe. Files copied by a worker are removed by
 * the worker after verification (FileTask.removeSource); the rest is here: a source whose
 * destination was already identical, a symlink once written, and at the end the source
 * directories the move emptied.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import { depth, displayPath, join2 } from './paths';
import { ErrorCodes } from './errors';
import { failureOf } from './walk';
import type { RunState } from './run-state';

/** Sources removed here wait for this many, then their destinations are synced and they go. */
const MAIN_BATCH = 256;

/**
 * Remove a source entry whose destination is in place (move only; never in a dry run): queued,
 * removed once its destination is on disk (flushSourceRemovals, or when MAIN_BATCH are queued).
 */
export function removeSourceIfMove(run: RunState, e: Entry): void {
  if (run.options.mode !== 'move' || run.options.dryRun) return;
  const pending = run.sourceRemovals;
  const dstAbs = join2(run.dstRoot, e.rel);
  let d: fs.BigIntStats;
  try {
    d = fs.lstatSync(dstAbs, { bigint: true });
  } catch (err) {
    run.fail(failureOf(err, e.rel, 'copied, but cannot check the destination; source kept'));
    return;
  }
  pending.add({
    src: run.srcAbsOf(e.rel),
    dst: { dstAbs, dev: d.dev, isFile: d.isFile() },
    unchanged: () => true,
    done: (kept) => {
      if (kept !== null) run.fail({ path: displayPath(e.rel), code: ErrorCodes.VerifyFailed, reason: kept });
    },
  });
  if (pending.size >= MAIN_BATCH) pending.flush();
}

/** Sync and remove the sources removeSourceIfMove queued (at the end of a move). */
export function flushSourceRemovals(run: RunState): void {
  run.sourceRemovals.flush();
}

/** Remove source directories that are empty now, deepest first; `keepRoot` for `SRC/`. */
export function removeEmptiedSourceDirs(dirs: Buffer[], srcRoot: Buffer, keepRoot: boolean): void {
  dirs.sort((a, b) => depth(b) - depth(a));
  for (const rel of dirs) {
    if (rel.length === 0 && keepRoot) continue;
    try {
      fs.rmdirSync(join2(srcRoot, rel));
    } catch {
      // not empty (something failed or was excluded): kept on purpose
    }
  }
}
