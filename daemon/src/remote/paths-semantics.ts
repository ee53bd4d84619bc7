/**
 * rsync path rules for remote transfers.
 */
import { namesContents } from '../engine/paths';

/**
 * Where a pushed source lands inside the module: `SRC/` (trailing slash) and a single file go
 * into DST itself; a directory `SRC` without a slash lands as DST/SRC (as rsync does).
 */
export function remoteTargetPath(srcArg: string, dstPath: string, sourceIsDir: boolean): string {
  if (!sourceIsDir || namesContents(srcArg)) return dstPath;
  const name = srcArg.replace(/\/+$/, '').split('/').pop() ?? '';
  if (name === '' || name === '..') return dstPath;
  return dstPath ? `${dstPath}/${name}` : name;
}
