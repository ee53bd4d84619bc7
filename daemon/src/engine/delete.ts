/**
 * Mirror deletions (run after all copies: delete-after, so a failed run never leaves the
 * destination with less than before plus the new files). A destination-only directory is removed
 * child by child, and any child the filter excludes is kept (and so is its parent): excluded
 * files are never deleted by a mirror.
 *
 * Every entry removed is reported and counted, children before their directory, as rsync's
 * itemized list shows them: a directory of three files is four deletions, with or without a
 * filter (one count whatever the path taken, locally and on a remote destination).
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import type { Filter } from './filter';
import { join2 } from './paths';
import { whileWritable } from './dir-tweaks';

/**
 * A mirror's deletions run after its copies (delete-after), long after it listed the destination,
 * and a dst-only directory's contents are read only then: another run (cron, an upload on save)
 * may have written there meanwhile. An entry created (birth time: a blit or rsync write is always
 * a new inode renamed into place) after the mirror started is kept and named (onKept), never
 * deleted with what the mirror saw; its directories stay too. Not the ctime: this run's own
 * unlinks change the ctime of a hard link's other names. rsync deletes what is there when it
 * reads the directory. The birth time is the kernel's coarse clock, `sinceMs` a whole Date.now()
 * ms: "after" is from the next ms on. Without birth times (some filesystems report 0) nothing is kept.
 */
export interface KeepCreated {
  sinceMs: number;
  onKept: (rel: Buffer, kind: Entry['kind']) => void;
}

/** The reason a mirror names for an entry KeepCreated kept. */
export const CREATED_NOT_DELETED = 'created after this mirror started (another run writing here?); not deleted';

/** Was `abs` (not followed) created at or after `sinceMs` + 1 ms? False when it cannot be read. */
export function createdSince(abs: Buffer, sinceMs: number): boolean {
  try {
    return fs.lstatSync(abs).birthtimeMs >= sinceMs + 1;
  } catch {
    return false;
  }
}

export interface DeleteResult {
  deleted: number;
  /** Paths kept because they (or something under them) are excluded. */
  kept: number;
}

/**
 * Remove `rel` under `rootAbs`, respecting the filter below it (undefined: remove everything).
 * Throws errno errors. With dryRun, nothing is removed but the same entries are reported (the
 * directories are still read).
 */
export function deleteEntry(rootAbs: Buffer, e: Pick<Entry, 'rel' | 'kind'>, filter: Filter | undefined, onDeleted: (rel: Buffer, kind: Entry['kind']) => void, dryRun = false, keepCreated?: KeepCreated): DeleteResult {
  const abs = join2(rootAbs, e.rel);
  if (keepCreated && createdSince(abs, keepCreated.sinceMs)) {
    keepCreated.onKept(e.rel, e.kind);
    return { deleted: 0, kept: 1 };
  }
  if (e.kind !== 'dir') {
    if (!dryRun) fs.unlinkSync(abs);
    onDeleted(e.rel, e.kind);
    return { deleted: 1, kept: 0 };
  }
  const res: DeleteResult = { deleted: 0, kept: 0 };
  // Without owner rwx (a 0555 directory) its entries cannot go: u+rwx first, as rsync's
  // delete_dir_contents; the mode found goes back if it stays (excluded entries kept, a failure).
  const empty = (): boolean => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const rel = join2(e.rel, d.name);
      const kind: Entry['kind'] = d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'file';
      if (filter?.excludes(rel, kind === 'dir')) {
        res.kept++;
        continue;
      }
      const sub = deleteEntry(rootAbs, { rel, kind }, filter, onDeleted, dryRun, keepCreated);
      res.deleted += sub.deleted;
      res.kept += sub.kept;
    }
    if (res.kept > 0) return false;
    if (!dryRun) fs.rmdirSync(abs);
    onDeleted(e.rel, 'dir');
    res.deleted++;
    return true;
  };
  if (dryRun) empty();
  else whileWritable(() => abs, fs.lstatSync(abs).mode, empty);
  return res;
}
