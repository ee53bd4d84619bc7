/**
 * rsync path rules for remote transfers, and the --files-from list as it travels on the wire.
 */
import * as fs from 'node:fs';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';

/**
 * Where a pushed source lands inside the module: `SRC/` (trailing slash) and a single file go
 * into DST itself; a directory `SRC` without a slash lands as DST/SRC (as rsync does).
 */
export function remoteTargetPath(srcArg: string, dstPath: string, sourceIsDir: boolean): string {
  if (!sourceIsDir || srcArg.endsWith('/') || srcArg.endsWith('/.') || srcArg === '.') return dstPath;
  const name = srcArg.replace(/\/+$/, '').split('/').pop() ?? '';
  if (name === '' || name === '..') return dstPath;
  return dstPath ? `${dstPath}/${name}` : name;
}

/** Relative paths listed in a --files-from file, for FilterSpec.files_from. */
export function filesFromPaths(file: string | undefined): Buffer[] | undefined {
  if (file === undefined) return undefined;
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (err) {
    const be = fromErrno(err, file, 'cannot read --files-from');
    throw new BlitError({ code: ErrorCodes.Usage, message: be.message, cause: err });
  }
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    if (i === content.length || content[i] === 0x0a) {
      const line = content.subarray(start, i);
      start = i + 1;
      if (line.length > 0) out.push(line);
    }
  }
  // An empty list still means "only these" (nothing); keep one empty marker so it is not lost.
  return out.length > 0 ? out : [Buffer.from('#')];
}
