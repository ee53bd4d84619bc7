/**
 * Data copy primitives, run inside workers (blocking). Order of preference per run:
 * reflink (FICLONE) → copy_file_range → sendfile → read/write. A primitive that reports
 * UnsupportedError (EXDEV, EOPNOTSUPP, ENOSYS...) is disabled for the rest of the run for that
 * source/destination device pair and the copy resumes with the next one from where it stopped.
 * Small files take one read + one write (fewest syscalls: the ffi call alone costs ~5 µs).
 * Sparse files (blocks*512 < size) copy only their data extents (SEEK_DATA/SEEK_HOLE) and are
 * then truncated to size, so holes stay holes.
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import type { CopyPrimitive } from './types';

/** Files up to this size are read whole and written with one write(). */
export const SMALL_FILE_MAX = 256 * 1024;
/** Kernel-copy chunk: small enough for prompt cancel and stall heartbeats, big enough to be free. */
const CHUNK = 64 * 1024 * 1024;

export interface CopyContext {
  order: CopyPrimitive[];
  /** `${primitive}@${devPair}` that failed as unsupported in this run. */
  disabled: Set<string>;
  /** Scratch buffer of at least SMALL_FILE_MAX bytes, reused. */
  scratch: Buffer;
  /** Stop early (cancel): checked between chunks (the worker also counts a heartbeat here). */
  cancelled: () => boolean;
  /** Date.now() when the current file's first chunk landed (0 = not yet); reset per file. */
  firstByteAt: number;
}

export function newCopyContext(order: CopyPrimitive[], cancelled: () => boolean = () => false): CopyContext {
  return { order, disabled: new Set(), scratch: Buffer.allocUnsafe(Math.max(SMALL_FILE_MAX, 1 << 20)), cancelled, firstByteAt: 0 };
}

export class CancelledCopy extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Copy `size` bytes from srcFd to a fresh dstFd. Returns bytes written (== size unless the source shrank). */
export function copyData(srcFd: number, dstFd: number, size: number, blocks: number | undefined, devPair: string, ctx: CopyContext): number {
  if (size === 0) return 0;
  if (size <= SMALL_FILE_MAX && !ctx.order.includes('reflink')) return copySmall(srcFd, dstFd, size, ctx.scratch);
  if (blocks !== undefined && blocks * 512 < size) {
    const sparse = copySparse(srcFd, dstFd, size, devPair, ctx);
    if (sparse >= 0) return sparse;
  }
  return copyRange(srcFd, dstFd, 0, size, devPair, ctx);
}

function copySmall(srcFd: number, dstFd: number, size: number, scratch: Buffer): number {
  let got = 0;
  while (got < size) {
    const n = fs.readSync(srcFd, scratch, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  let put = 0;
  while (put < got) put += fs.writeSync(dstFd, scratch, put, got - put, put);
  return got;
}

/** Copy [start, end) at identical offsets with the first primitive that works. */
export function copyRange(srcFd: number, dstFd: number, start: number, end: number, devPair: string, ctx: CopyContext): number {
  let off = start;
  for (const prim of ctx.order) {
    const key = `${prim}@${devPair}`;
    if (ctx.disabled.has(key)) continue;
    if (prim !== 'readwrite' && !native.platformSupportsZeroCopy()) continue;
    try {
      off = runPrimitive(prim, srcFd, dstFd, off, end, ctx);
      return off - start;
    } catch (err) {
      if (native.isUnsupported(err)) {
        ctx.disabled.add(key);
        continue;
      }
      throw err;
    }
  }
  return runPrimitive('readwrite', srcFd, dstFd, off, end, ctx) - start;
}

function runPrimitive(prim: CopyPrimitive, srcFd: number, dstFd: number, off: number, end: number, ctx: CopyContext): number {
  switch (prim) {
    case 'reflink':
      // Whole-file clone only: ranges and sparse handling go to the other primitives.
      if (off !== 0) throw new native.UnsupportedError(95, 'ficlone', undefined, 'range');
      native.ficlone(dstFd, srcFd);
      if (ctx.firstByteAt === 0) ctx.firstByteAt = Date.now();
      return end;
    case 'copy_file_range':
      while (off < end) {
        if (ctx.cancelled()) throw new CancelledCopy();
        const n = native.copyFileRange(srcFd, off, dstFd, off, Math.min(CHUNK, end - off));
        if (n === 0) break; // source shrank: noticed by the caller's fstat
        off += n;
        if (ctx.firstByteAt === 0) ctx.firstByteAt = Date.now();
      }
      return off;
    case 'sendfile':
      // sendfile writes at dstFd's file position, which only sendfile advances: usable from 0 only.
      if (off !== 0) throw new native.UnsupportedError(95, 'sendfile', undefined, 'range');
      while (off < end) {
        if (ctx.cancelled()) throw new CancelledCopy();
        const n = sendfileAt(srcFd, dstFd, off, Math.min(CHUNK, end - off));
        if (n === 0) break;
        off += n;
        if (ctx.firstByteAt === 0) ctx.firstByteAt = Date.now();
      }
      return off;
    case 'readwrite': {
      const buf = ctx.scratch;
      while (off < end) {
        if (ctx.cancelled()) throw new CancelledCopy();
        const n = fs.readSync(srcFd, buf, 0, Math.min(buf.length, end - off), off);
        if (n === 0) break;
        let put = 0;
        while (put < n) put += fs.writeSync(dstFd, buf, put, n - put, off + put);
        off += n;
        if (ctx.firstByteAt === 0) ctx.firstByteAt = Date.now();
      }
      return off;
    }
  }
}

function sendfileAt(srcFd: number, dstFd: number, off: number, len: number): number {
  return native.sendfile(dstFd, srcFd, off, len);
}

/** Data extents only; returns -1 if SEEK_DATA is not available (then the caller copies densely). */
function copySparse(srcFd: number, dstFd: number, size: number, devPair: string, ctx: CopyContext): number {
  let pos = 0;
  let copied = 0;
  try {
    while (pos < size) {
      const data = native.lseekData(srcFd, pos);
      if (data < 0 || data >= size) break;
      let hole = native.lseekHole(srcFd, data);
      if (hole < 0 || hole > size) hole = size;
      // Ranges use positional primitives only (sendfile needs the dst position, which we skip ahead).
      const sub: CopyContext = { ...ctx, order: ctx.order.filter((p) => p === 'copy_file_range' || p === 'readwrite') };
      copied += copyRange(srcFd, dstFd, data, hole, devPair, sub);
      pos = hole;
    }
  } catch (err) {
    if (native.isUnsupported(err) && pos === 0) return -1;
    throw err;
  }
  fs.ftruncateSync(dstFd, size);
  return Math.max(copied, size);
}
