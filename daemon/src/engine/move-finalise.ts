/**
 * move: what happens to the source once its copy is safe. Files copied by a worker are removed by
 * the worker after verification (FileTask.removeSource); the rest is here: a source whose
 * destination was already identical, a symlink once written, and at the end the source
 * directories the move emptied.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import { depth, join2 } from './paths';
import { failureOf } from './walk';
import type { RunState } from './run-state';

/** Remove a source entry whose destination is in place (move only; never in a dry run). */
export function removeSourceIfMove(run: RunState, e: Entry): void {
  if (run.options.mode !== 'move' || run.options.dryRun) return;
  try {
    fs.unlinkSync(run.srcAbsOf(e.rel));
  } catch (err) {
    run.fail(failureOf(err, e.rel, 'copied, but cannot remove the source'));
  }
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
