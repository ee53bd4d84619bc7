/**
 * Metadata rules, shared by the local copier and the remote receiver: mtime to the nanosecond
 * (futimens/utimensat from @blit/native; node:fs only takes float seconds), permission bits,
 * owner/group only when running as root, symlinks created as symlinks with the same target
 * bytes (their own mtime set with AT_SYMLINK_NOFOLLOW), directories' mode and mtime applied after
 * their children have been written (writing a child changes the directory's mtime).
 * Cheap calls go through node:fs sync APIs (~1 µs); native only for what node lacks (~5 µs/call).
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import type { Entry } from './types';

export interface MetaOptions {
  /** chown to the source uid/gid (only meaningful, and only attempted, as root). */
  preserveOwner: boolean;
  /** The process umask; a created file whose mode survives the umask needs no fchmod. */
  umask: number;
}

export function defaultMetaOptions(): MetaOptions {
  // process.umask() without an argument reads the mask (its deprecation is documentation-only).
  return { preserveOwner: typeof process.getuid === 'function' && process.getuid() === 0, umask: process.umask() };
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * Apply owner, mode and mtime to an open, fully written file. The owner goes when the file does
 * not have it yet, root:root included: a file root creates in a setgid directory gets that
 * directory's group, not 0. An fstat says which (cheaper than an fchown, which dirties the inode;
 * the native batches learn it once per directory instead: owner_differs in blit_internal.h).
 * Then the mode when the created one (always `& 0o777`, so a chown cleared no setuid/setgid bit)
 * is not it.
 */
export function applyFdMeta(fd: number, meta: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, opts: MetaOptions, createdWithMode: number | null): void {
  if (opts.preserveOwner) {
    const st = fs.fstatSync(fd);
    if (st.uid !== meta.uid || st.gid !== meta.gid) fs.fchownSync(fd, meta.uid, meta.gid);
  }
  const effective = createdWithMode === null ? -1 : createdWithMode & ~opts.umask;
  if (effective !== meta.mode) fs.fchmodSync(fd, meta.mode);
  native.futimens(fd, nowNs(), meta.mtimeNs);
}

/** Owner (when kept), then mode: chown clears setuid/setgid, so the mode goes after it. Follows `abs`. */
function applyOwnerMode(abs: Buffer | string, meta: Pick<Entry, 'mode' | 'uid' | 'gid'>, opts: MetaOptions): void {
  if (opts.preserveOwner) fs.chownSync(abs, meta.uid, meta.gid);
  fs.chmodSync(abs, meta.mode);
}

/** Directory mode, owner and mtime (call after every child is in place). */
export function applyDirMeta(abs: Buffer, meta: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, opts: MetaOptions): void {
  applyOwnerMode(abs, meta, opts);
  native.utimensat(abs, nowNs(), meta.mtimeNs, { noFollow: false });
}

/** Linux O_PATH (not in fs.constants): an fd that only names the inode, no read permission needed. */
const O_PATH = 0o10000000;

/**
 * Mode and owner of an existing destination file whose content is already right (fileMetaDiffers):
 * no data copied, no temp file, the mtime left alone. The file is opened O_PATH|O_NOFOLLOW first,
 * so a name swapped for a symlink since it was listed is refused (ELOOP), never followed; chown
 * and chmod then go through /proc/self/fd/N, which names that very inode (an O_PATH fd takes no
 * fchmod/fchown, and a readable fd would need read permission the chmod may be there to grant).
 */
export function applyFileMetaOnly(abs: Buffer, meta: Pick<Entry, 'mode' | 'uid' | 'gid'>, opts: MetaOptions): void {
  const fd = fs.openSync(abs, O_PATH | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file any more'), { code: 'EEXIST' });
    applyOwnerMode(`/proc/self/fd/${fd}`, meta, opts);
  } finally {
    fs.closeSync(fd);
  }
}

/** Owner and mtime of a symlink itself (never its target). */
export function applySymlinkMeta(abs: Buffer, meta: Pick<Entry, 'uid' | 'gid' | 'mtimeNs'>, opts: MetaOptions): void {
  if (opts.preserveOwner) native.lchown(abs, meta.uid, meta.gid);
  native.utimensat(abs, nowNs(), meta.mtimeNs, { noFollow: true });
}

/**
 * Create (or replace) the symlink `dirAbs/name` atomically: a temp link in the same directory,
 * metadata on it, then rename over the real name. `target` bytes are kept exactly.
 */
export function writeSymlinkAtomic(dirAbs: Buffer, name: Buffer, target: Buffer, meta: Pick<Entry, 'uid' | 'gid' | 'mtimeNs'>, opts: MetaOptions, tempName: (dir: Buffer, name: Buffer) => Buffer): void {
  const tmp = tempName(dirAbs, name);
  fs.symlinkSync(target, tmp);
  try {
    applySymlinkMeta(tmp, meta, opts);
    fs.renameSync(tmp, Buffer.concat([dirAbs, Buffer.from('/'), name]));
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** Create a directory (no error if it already is one). Mode is fixed up later by applyDirMeta. */
export function ensureDir(abs: Buffer): boolean {
  try {
    fs.mkdirSync(abs, 0o700);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && fs.lstatSync(abs).isDirectory()) return false;
    throw err;
  }
}
