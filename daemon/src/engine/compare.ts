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

/** Same modification time? Exact ns when both sides have it, else Node's double ms. */
export function sameMtime(a: Entry, b: Entry): boolean {
  if (a.mtimeMs === undefined && b.mtimeMs === undefined) return a.mtimeNs === b.mtimeNs;
  return (a.mtimeMs ?? msFromNs(a.mtimeNs)) === (b.mtimeMs ?? msFromNs(b.mtimeNs));
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

/** A symlink needs replacing when missing, of another kind, or pointing elsewhere (bytes). */
export function symlinkNeedsUpdate(src: Entry, dst: Entry | undefined, opts: CompareOptions): boolean {
  if (dst === undefined) return true;
  if (opts.ignoreExisting) return false;
  if (dst.kind !== 'symlink') return true;
  if (opts.mode === 'ignore-times') return true;
  return !src.linkTarget!.equals(dst.linkTarget ?? Buffer.alloc(0));
}

/** Directory metadata (mode, mtime) differs and must be re-applied after its children. */
export function dirMetaDiffers(src: Entry, dst: Entry | undefined): boolean {
  return dst === undefined || dst.mode !== src.mode || dst.mtimeNs !== src.mtimeNs;
}

/**
 * A file the quick check (or --checksum) skips still needs its mode, or its owner when owners are
 * kept, re-applied when they differ: rsync -a chmods/chowns such a file without copying data.
 */
export function fileMetaDiffers(src: Pick<Entry, 'mode' | 'uid' | 'gid'>, dst: Pick<Entry, 'mode' | 'uid' | 'gid'>, owners: boolean): boolean {
  return dst.mode !== src.mode || (owners && (dst.uid !== src.uid || dst.gid !== src.gid));
}
