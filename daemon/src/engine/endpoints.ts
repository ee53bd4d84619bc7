/**
 * rsync path semantics and the fatal checks that happen before anything is touched:
 * - `SRC/` (trailing slash), `SRC/.` and `.` copy the contents of SRC into DST (paths.ts namesContents).
 * - `SRC` (directory, no slash) always lands as `DST/basename(SRC)`, as in rsync: when DST does
 *   not exist it is created first (its parent must exist). Creating SRC *as* DST instead would make
 *   a second identical run nest a copy at DST/SRC.
 * - A file (or symlink) source copies to DST, or into DST when DST is a directory (or ends in '/').
 * Errors: SourceNotFound, DestinationInsideSource (realpaths compared, so symlinked spellings are
 * caught), InvalidPath when the destination's parent does not exist (unless --mkpath: then it is
 * created with its missing parents, as rsync --mkpath) or is not a directory.
 * The reverse overlap, a source directory inside the destination (`blit mirror x/a/ x/`), is
 * refused with SourceInsideDestination for a mirror (its deletions would remove the source while it is
 * read, as rclone refuses overlapping sync), and for copy/move only when the source holds the
 * path that leads back to itself (`x/a/a/f` would be written over `x/a/f`, a source file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError, ErrorCodes, fromErrno, notADirectory } from './errors';
import { isSameOrInside, namesContents } from './paths';
import type { TransferMode } from './types';

export interface Endpoints {
  kind: 'dir' | 'single';
  /** Directory transfer: source root / destination root. Single: the file and its destination path. */
  srcAbs: string;
  dstAbs: string;
  /** Directory transfer: does the destination root exist already? */
  dstExists: boolean;
  /** Source given with a trailing slash (contents only; a move keeps the root directory). */
  contentsOnly: boolean;
  /** DST does not exist and is created first: a directory without a trailing slash, or a file into `DST/`. */
  createDstParent: boolean;
  /** --mkpath: the missing directory DST is created in, to create with its parents before the run (null: it exists). */
  mkParents: string | null;
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromErrno(err, p, 'cannot read');
  }
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch (err) {
    const c = (err as NodeJS.ErrnoException).code;
    if (c === 'ENOENT' || c === 'ENOTDIR') return null;
    throw fromErrno(err, p, 'cannot read');
  }
}

/** realpath of the deepest existing ancestor, plus the rest (the destination may not exist yet). */
function realpathLoose(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

export function resolveEndpoints(srcArg: string, dstArg: string, mode: TransferMode, mkpath = false): Endpoints {
  if (srcArg === '') throw new BlitError({ code: ErrorCodes.Usage, message: 'empty source path' });
  if (dstArg === '') throw new BlitError({ code: ErrorCodes.Usage, message: 'empty destination path' });
  const contentsOnly = namesContents(srcArg);
  const srcAbs = path.resolve(srcArg);
  // With a trailing slash the user means "the directory", so a symlink to a directory is followed.
  const srcSt = contentsOnly ? statOrNull(srcAbs) : lstatOrNull(srcAbs);
  if (!srcSt) throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'source does not exist', path: srcArg });
  const dstGiven = path.resolve(dstArg);
  const dstSt = statOrNull(dstGiven);
  const dstIsDir = dstSt?.isDirectory() ?? false;

  let kind: Endpoints['kind'];
  let dstAbs: string;
  let createDstParent = false;
  if (srcSt.isDirectory()) {
    kind = 'dir';
    if (contentsOnly) {
      dstAbs = dstGiven;
    } else {
      if (dstSt && !dstIsDir) {
        throw notADirectory('destination exists', dstArg);
      }
      dstAbs = path.join(dstGiven, path.basename(srcAbs));
      createDstParent = !dstSt;
    }
  } else if (srcSt.isFile() || srcSt.isSymbolicLink()) {
    if (contentsOnly) throw notADirectory('source ends in /', srcArg);
    kind = 'single';
    dstAbs = dstIsDir || dstArg.endsWith('/') ? path.join(dstGiven, path.basename(srcAbs)) : dstGiven;
    // `blit copy FILE NEWDIR/` creates NEWDIR (its parent must exist) and lands FILE in it, as
    // rsync and a push do; it was refused as "destination parent directory does not exist".
    createDstParent = !dstSt && dstArg.endsWith('/');
  } else {
    throw new BlitError({ code: ErrorCodes.Usage, message: 'source is not a regular file, directory or symlink', path: srcArg });
  }

  // `FILE EXISTING_FILE/`: the words of a directory onto a file, as push and pull say it.
  if (kind === 'single' && dstSt && !dstIsDir && dstArg.endsWith('/')) {
    throw notADirectory('destination exists', dstArg);
  }
  const parent = createDstParent ? path.dirname(dstGiven) : path.dirname(dstAbs);
  const parentSt = statOrNull(parent);
  if (!parentSt && !mkpath) throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'destination parent directory does not exist', path: parent });
  if (parentSt && !parentSt.isDirectory()) throw notADirectory('destination parent', parent);

  const dstFinal = lstatOrNull(dstAbs);
  if (kind === 'dir') {
    const realSrc = fs.realpathSync(srcAbs);
    const realDst = realpathLoose(createDstParent ? dstGiven : dstAbs);
    if (isSameOrInside(realDst, realSrc)) {
      throw new BlitError({ code: ErrorCodes.DestinationInsideSource, message: `destination ${realDst} is inside the source ${realSrc}`, path: dstArg });
    }
    if (isSameOrInside(realSrc, realDst)) refuseSourceInsideDestination(realSrc, realDst, mode, srcArg);
    if (dstFinal && !dstFinal.isDirectory()) {
      throw notADirectory('destination exists', contentsOnly ? dstArg : path.join(dstArg, path.basename(srcAbs)));
    }
  } else if (dstFinal && realpathLoose(dstAbs) === realpathLoose(srcAbs)) {
    throw new BlitError({ code: ErrorCodes.DestinationInsideSource, message: 'source and destination are the same file', path: dstArg });
  }
  return { kind, srcAbs, dstAbs, dstExists: dstFinal !== null, contentsOnly, createDstParent, mkParents: parentSt ? null : parent };
}

/** A source directory strictly inside the destination: see the header for what is refused. */
function refuseSourceInsideDestination(realSrc: string, realDst: string, mode: TransferMode, srcArg: string): void {
  if (mode === 'mirror') {
    throw new BlitError({ code: ErrorCodes.SourceInsideDestination, message: `source ${realSrc} is inside the destination ${realDst}: the mirror would delete its own source`, path: srcArg });
  }
  const back = path.relative(realDst, realSrc);
  if (lstatOrNull(path.join(realSrc, back))) {
    throw new BlitError({ code: ErrorCodes.SourceInsideDestination, message: `source ${realSrc} is inside the destination ${realDst} and holds ${back}: the ${mode} would write over its own source files`, path: srcArg });
  }
}
