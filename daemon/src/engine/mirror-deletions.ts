/**
 * Mirror deletions, after every copy (delete-after): only destination-only entries the filter does
 * not exclude (engine/delete.ts keeps excluded ones, even inside a deleted directory), only after
 * a complete source scan (else none: ScanIncomplete warning) and only with deleteConfirmed (else
 * none: a warning saying to pass --yes); both of those cases count deletionsSkipped, entry by
 * entry as a confirmed run would delete them. A dry run reports exactly what a real run deletes.
 */
import type { Entry } from './types';
import { ErrorCodes } from './errors';
import { CREATED_NOT_DELETED, deleteEntry, type KeepCreated } from './delete';
import { displayPath } from './paths';
import { failureOf } from './walk';
import type { RunState } from './run-state';

/** `deletions`: the march's destination-only entries (each the top of a dst-only subtree). */
export function runDeletions(run: RunState, deletions: Entry[], scanComplete: boolean): void {
  if (deletions.length === 0) return;
  const options = run.options;
  if (!scanComplete) {
    const n = countHeld(run, deletions, false);
    run.summary.deletionsSkipped += n;
    run.emit({ type: 'warning', code: ErrorCodes.ScanIncomplete, message: `${ErrorCodes.ScanIncomplete}: the source could not be read completely, so ${n} destination entr${n === 1 ? 'y was' : 'ies were'} not deleted` });
    return;
  }
  if (!options.deleteConfirmed && !options.dryRun) {
    // Itemized (the CLI lists them when it asks) and counted entry by entry, as the confirmed
    // pass will delete and count them: "Delete N entries?" then "N deleted".
    const n = countHeld(run, deletions, true);
    run.summary.deletionsSkipped += n;
    run.emit({ type: 'warning', code: ErrorCodes.DeletionNotConfirmed, message: `${n} destination entr${n === 1 ? 'y is' : 'ies are'} not in the source and were not deleted: deletions need confirmation (pass --yes)` });
    return;
  }
  const keepCreated: KeepCreated = {
    sinceMs: run.start,
    onKept: (rel) => {
      run.summary.deletionsSkipped++;
      run.fail({ path: displayPath(rel), code: ErrorCodes.DestinationChanged, reason: CREATED_NOT_DELETED });
    },
  };
  // Deepest first is not needed (each entry is a distinct top of a dst-only subtree).
  for (const d of deletions) {
    if (run.fatal) break;
    try {
      run.dirs.touchParent(d.rel);
      // A dry run reports exactly what a real run would delete (same walk, nothing removed).
      const r = deleteEntry(run.dstRoot, d, run.filter, (rel, kind) => run.item('delete', rel, kind, 0), options.dryRun, keepCreated);
      run.summary.entriesDeleted += r.deleted;
      run.stall?.tick('delete');
    } catch (err) {
      run.fail(failureOf(err, d.rel, 'cannot delete'));
    }
  }
}

/** Entries the held deletions would remove (read, nothing removed); each 'delete' item when `itemize`. */
function countHeld(run: RunState, deletions: Entry[], itemize: boolean): number {
  let n = 0;
  for (const d of deletions) {
    try {
      n += deleteEntry(run.dstRoot, d, run.filter, (rel, kind) => itemize && run.item('delete', rel, kind, 0), true).deleted;
    } catch {
      n++; // an unreadable directory still counts as the one entry we know of
      if (itemize) run.item('delete', d.rel, d.kind, 0);
    }
  }
  return n;
}
