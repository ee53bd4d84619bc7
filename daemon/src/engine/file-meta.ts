/**
 * Mode and owner of an existing destination file whose content is already right (fileMetaDiffers):
 * no data copied, no temp file. The file is opened O_PATH|O_NOFOLLOW first, so a name swapped for
 * a symlink since it was listed is refused (ELOOP-like failure), never followed; chown and chmod
 * then go through /proc/self/fd/N, which names that very inode.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import type { MetaOptions } from './metadata';

/** Linux O_PATH (not in fs.constants): an fd that only names the inode, no read permission needed. */
const O_PATH = 0o10000000;

export function applyFileMetaOnly(abs: Buffer, meta: Pick<Entry, 'mode' | 'uid' | 'gid'>, opts: MetaOptions): void {
  const fd = fs.openSync(abs, O_PATH | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file any more'), { code: 'EEXIST' });
    const proc = `/proc/self/fd/${fd}`;
    // chown clears setuid/setgid: the mode goes after it.
    if (opts.preserveOwner) fs.chownSync(proc, meta.uid, meta.gid);
    fs.chmodSync(proc, meta.mode);
  } finally {
    fs.closeSync(fd);
  }
}
