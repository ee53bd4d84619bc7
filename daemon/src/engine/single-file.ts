/**
 * A single-file run (`blit copy FILE DST`): the source file or symlink against what is at the
 * destination path, addressed relative to both parents under the destination's name.
 */
import type { Entry } from './types';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { statEntry } from './walk';
import { baseName, parentRel } from './paths';
import type { CopyDispatcher } from './copy-dispatch';
import type { EntryActions } from './entry-actions';
import type { RunState } from './run-state';
import { flushSourceRemovals } from './move-finalise';

export async function runSingle(run: RunState, actions: EntryActions, copies: CopyDispatcher): Promise<void> {
  const srcAbs = Buffer.from(run.ends.srcAbs);
  const src = statEntry(srcAbs, baseName(srcAbs));
  if (!src) throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'source is not a file or symlink', path: run.ends.srcAbs });
  const dstAbs = Buffer.from(run.ends.dstAbs);
  let dst: Entry | undefined;
  try {
    dst = statEntry(dstAbs, baseName(dstAbs)) ?? undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (run.ends.createDstParent && !run.options.dryRun) {
    // `blit copy FILE NEWDIR/`: NEWDIR first (rsync semantics; its parent was checked). Not one
    // of the transfer's directories: neither itemized nor counted, as rsync, push and pull
    // (the tree run's NEWDIR of `copy d NEWDIR` is not either).
    try {
      fs.mkdirSync(parentRel(dstAbs));
    } catch (err) {
      throw fromErrno(err, path.dirname(run.ends.dstAbs), 'cannot create the destination directory', 'destination');
    }
  }
  // Address everything relative to the parents, under the destination's name.
  run.srcRoot = parentRel(srcAbs);
  run.dstRoot = parentRel(dstAbs);
  run.singleSrc = srcAbs;
  const name = baseName(dstAbs);
  if (dst) actions.onBoth({ ...src, rel: name }, { ...dst, rel: name });
  else actions.onSrcOnly({ ...src, rel: name });
  run.progress.scanComplete = true;
  copies.flush();
  await copies.drain();
  await flushSourceRemovals(run); // move: a split huge file's source
  run.throwIfFatal();
}
