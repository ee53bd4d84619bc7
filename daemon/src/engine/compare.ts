/**
 * Does a destination entry need the source's content? Default (rsync's quick check): transfer
 * when the size differs or the mtime differs (not only "source newer": a restored older source
 * must win in a mirror). --size-only: size alone. --ignore-times: always. --checksum: equal size
 * then hash both sides (done by the worker, which has the file open anyway). --ignore-existing:
 * never touch a path that exists in the destination.
 */
import { splitNs } from './time-split';
import type { CompareOptions, Entry } from './types';

/** Node's double-ms form of an ns timestamp, bit-identical to what a non-bigint lstat gives. */
export function msFromNs(ns: bigint): number {
  const { sec, nsec } = splitNs(ns);
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
}

/**
 * Timestamp steps (ns) a destination filesystem may keep instead of nanoseconds: NTFS/CIFS 100 ns,
 * some FUSE and NFS µs, ms, ext2/ext3 with 128-byte inodes, HFS+ and many network filesystems 1 s,
 * FAT 2 s. The kernel truncates an mtime to its filesystem's step when it is set.
 */
const MTIME_STEPS_NS = [100n, 1_000n, 1_000_000n, 1_000_000_000n, 2_000_000_000n];

/**
 * Does a destination mtime `dstNs` stand for the source's `srcNs`? Equal, or `srcNs` truncated to
 * one of the steps above: what a coarser filesystem keeps of the mtime blit set. Without this a
 * copy onto such a filesystem looked changed on every run (all files copied again), and `move`
 * refused to remove any source ("destination did not verify"). Still stricter than rsync's
 * default quick check, which compares whole seconds on every filesystem.
 */
export function mtimeKept(srcNs: bigint, dstNs: bigint): boolean {
  if (srcNs === dstNs) return true;
  const behind = srcNs - dstNs;
  if (behind < 0n) return false;
  for (const step of MTIME_STEPS_NS) {
    if (behind < step && ((dstNs % step) + step) % step === 0n) return true;
  }
  return false;
}

/**
 * Same modification time? `src` is the source entry, `dst` the destination's (mtimeKept: the
 * destination's filesystem may keep fewer digits). Exact ns when both sides have it, else Node's
 * double ms (a fast-mode scan), where only whole seconds are recognised as a coarser step.
 */
export function sameMtime(src: Entry, dst: Entry): boolean {
  if (src.mtimeMs === undefined && dst.mtimeMs === undefined) return mtimeKept(src.mtimeNs, dst.mtimeNs);
  return mtimeMsKept(src.mtimeMs ?? msFromNs(src.mtimeNs), dst.mtimeMs ?? msFromNs(dst.mtimeNs));
}

/**
 * Is `ns` (an lstat's exact mtime) the mtime the scan saw? Exact ns when the scan had them, else
 * Node's double ms (a fast-mode scan: mtimeNs is MTIME_NS_UNKNOWN, negative).
 */
export function sameScanMtime(scan: { mtimeNs: bigint; mtimeMs?: number }, ns: bigint): boolean {
  return scan.mtimeNs >= 0n ? ns === scan.mtimeNs : msFromNs(ns) === scan.mtimeMs;
}

/** mtimeKept in Node's double ms, where only the 1 s and 2 s steps are recognised. */
export function mtimeMsKept(srcMs: number, dstMs: number): boolean {
  if (srcMs === dstMs) return true;
  const behind = srcMs - dstMs;
  return behind > 0 && ((behind < 1000 && dstMs % 1000 === 0) || (behind < 2000 && dstMs % 2000 === 0));
}

/** 'transfer' now, 'skip', or 'hash' (sizes equal, contents must be hashed to decide). */
export type FileDecision = 'transfer' | 'skip' | 'hash';

export function decideFile(src: Entry, dst: Entry | undefined, opts: CompareOptions): FileDecision {
  if (dst === undefined) return 'transfer';
  if (opts.ignoreExisting) return 'skip';
  if (dst.kind !== 'file') return 'transfer';
  switch (opts.mode) {
    case 'ignore-times':
      return 'transfer';
    case 'size-only':
      return src.size === dst.size ? 'skip' : 'transfer';
    case 'checksum':
      return src.size === dst.size ? 'hash' : 'transfer';
    default:
      return src.size === dst.size && sameMtime(src, dst) ? 'skip' : 'transfer';
  }
}

/**
 * --ignore-existing keeps an existing destination file unread. A move still asks the run's own
 * check whether it is the source's copy, and removes the source only if so: 'skip' (same by the
 * quick check or size), 'hash' (the caller compares checksums), 'transfer' (differs: kept).
 */
export function decideKept(src: Entry, dst: Entry, opts: CompareOptions): FileDecision {
  return decideFile(src, dst, { ...opts, ignoreExisting: false });
}

/** Is `dst` the source's symlink (same target)? --ignore-existing keeps any; a move removes the source only then. */
export function sameSymlink(src: Entry, dst: Entry | undefined): boolean {
  return dst?.kind === 'symlink' && dst.linkTarget !== undefined && src.linkTarget !== undefined && dst.linkTarget.equals(src.linkTarget);
}

/**
 * A symlink needs replacing when missing, of another kind, pointing elsewhere (bytes), or with
 * another mtime, or owner when owners are kept (`owners`, root): rsync -a fixes those on a link
 * with the right target (lutimes, lchown); blit writes the link again, with its metadata.
 */
export function symlinkNeedsUpdate(src: Entry, dst: Entry | undefined, opts: CompareOptions, owners: boolean): boolean {
  if (dst === undefined) return true;
  if (opts.ignoreExisting) return false;
  if (dst.kind !== 'symlink') return true;
  if (opts.mode === 'ignore-times') return true;
  return !src.linkTarget!.equals(dst.linkTarget ?? Buffer.alloc(0)) || !mtimeKept(src.mtimeNs, dst.mtimeNs) || ownerDiffers(src, dst, owners);
}

/** Directory metadata (mode, mtime; owner when owners are kept) differs and must be re-applied after its children. */
export function dirMetaDiffers(src: Entry, dst: Entry | undefined, owners: boolean): boolean {
  return dst === undefined || dst.mode !== src.mode || !mtimeKept(src.mtimeNs, dst.mtimeNs) || ownerDiffers(src, dst, owners);
}

function ownerDiffers(src: Pick<Entry, 'uid' | 'gid'>, dst: Pick<Entry, 'uid' | 'gid'>, owners: boolean): boolean {
  return owners && (dst.uid !== src.uid || dst.gid !== src.gid);
}

/**
 * A file the quick check (or --checksum) skips still needs its mode, or its owner when owners are
 * kept, re-applied when they differ: rsync -a chmods/chowns such a file without copying data.
 */
export function fileMetaDiffers(src: Pick<Entry, 'mode' | 'uid' | 'gid'>, dst: Pick<Entry, 'mode' | 'uid' | 'gid'>, owners: boolean): boolean {
  return dst.mode !== src.mode || ownerDiffers(src, dst, owners);
}
