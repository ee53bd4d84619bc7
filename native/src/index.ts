/**
 * @blit/native: typed Linux syscall bindings (ffi-rs against libc) with a node:fs fallback.
 *
 * The module-level functions use the bindings chosen once when this module is first loaded in a
 * thread (each worker thread loads its own): Linux ffi-rs when it loads, otherwise the fallback.
 * `BLIT_NATIVE_FALLBACK=1` (read once, at load) forces the fallback for debugging; tests use
 * `loadBindings({ forceFallback: true })` instead.
 */
import type { LoadOptions, NativeBindings, UtimensatOptions } from './api';
import { loadFallback } from './fallback';
import { loadLinux } from './linux';
import { isMainThread } from 'node:worker_threads';
import { bindAllEntries } from './entries';

export type { LoadOptions, NativeBindings, UtimensatOptions } from './api';
export { NativeError, UnsupportedError, isUnsupported } from './errors';
export {
  FADV_DONTNEED,
  FADV_NOREUSE,
  FADV_NORMAL,
  FADV_RANDOM,
  FADV_SEQUENTIAL,
  FADV_WILLNEED,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  SPLICE_F_MORE,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
} from './constants';

let linuxCache: NativeBindings | undefined;
let linuxLoadError: Error | undefined;
let fallbackCache: NativeBindings | undefined;

/** Why the Linux bindings are not in use (undefined when they are). */
export function nativeLoadError(): Error | undefined {
  return linuxLoadError;
}

/**
 * The bindings for this thread. Idempotent and cached: ffi-rs is opened at most once per thread.
 * Without forceFallback it returns the Linux bindings when they load, else the fallback.
 */
export function loadBindings(options: LoadOptions = {}): NativeBindings {
  if (!options.forceFallback) {
    if (linuxCache) return linuxCache;
    if (!linuxLoadError) {
      try {
        linuxCache = loadLinux();
        return linuxCache;
      } catch (err) {
        linuxLoadError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }
  fallbackCache ??= loadFallback();
  return fallbackCache;
}

const active: NativeBindings = loadBindings({ forceFallback: process.env['BLIT_NATIVE_FALLBACK'] === '1' });

/** True when the ffi-rs bindings to libc are in use in this thread. */
export const nativeAvailable: boolean = active.kind === 'linux';

export function platformSupportsZeroCopy(): boolean {
  return active.platformSupportsZeroCopy();
}
export function copyFileRange(fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number): number {
  return active.copyFileRange(fdIn, offIn, fdOut, offOut, len);
}
export function sendfile(outFd: number, inFd: number, offset: number | null, count: number): number {
  return active.sendfile(outFd, inFd, offset, count);
}
export function splice(fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number, flags: number): number {
  return active.splice(fdIn, offIn, fdOut, offOut, len, flags);
}
export function pipe2(flags?: number): [number, number] {
  return active.pipe2(flags);
}
export function fcntlSetPipeSize(fd: number, size: number): number {
  return active.fcntlSetPipeSize(fd, size);
}
export function ficlone(destFd: number, srcFd: number): void {
  active.ficlone(destFd, srcFd);
}
export function fallocate(fd: number, mode: number, offset: number, len: number): void {
  active.fallocate(fd, mode, offset, len);
}
export function posixFadvise(fd: number, offset: number, len: number, advice: number): void {
  active.posixFadvise(fd, offset, len, advice);
}
export function futimens(fd: number, atimeNs: bigint, mtimeNs: bigint): void {
  active.futimens(fd, atimeNs, mtimeNs);
}
export function utimensat(path: Buffer, atimeNs: bigint, mtimeNs: bigint, opts: UtimensatOptions): void {
  active.utimensat(path, atimeNs, mtimeNs, opts);
}
export function fchmod(fd: number, mode: number): void {
  active.fchmod(fd, mode);
}
export function fchown(fd: number, uid: number, gid: number): void {
  active.fchown(fd, uid, gid);
}
export function lchown(path: Buffer, uid: number, gid: number): void {
  active.lchown(path, uid, gid);
}
export function lseekData(fd: number, offset: number): number {
  return active.lseekData(fd, offset);
}
export function lseekHole(fd: number, offset: number): number {
  return active.lseekHole(fd, offset);
}
export function statfsType(path: Buffer | string): string {
  return active.statfsType(path);
}
export function renameat2(oldPath: Buffer, newPath: Buffer, flags: number): void {
  active.renameat2(oldPath, newPath, flags);
}
export function dup(fd: number): number {
  return active.dup(fd);
}
export function poll(fd: number, events: number, timeoutMs: number): number {
  return active.poll(fd, events, timeoutMs);
}
export function syncfs(fd: number): void {
  active.syncfs(fd);
}
export function syncfsAsync(fd: number): Promise<void> {
  return active.syncfsAsync(fd);
}
export {
  BATCH_STEPS,
  MAX_BATCH_FILES,
  batchError,
  loadNativeBatch,
  nativeBatchLibraryCandidates,
  nativeBatchLoadError,
  nativeBatchRefused,
  nativeBatchRefusedWarning,
  packReadRecords,
  readRecordItem,
  readRecordLength,
  readRecordSize,
  SCAN,
} from './batch';
export type { BatchFileResult, BatchStatus, BatchStep, CopyBatchOptions, CopyItem, NativeBatch, ReadBatchResult, ReadItem, ReadRecordsResult, ScanRecords, TempNames, WriteBatchOptions, WriteItem } from './batch';
export { AT_FDCWD, loadOpenBeneath, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from './open-beneath';
export type { OpenBeneath } from './open-beneath';
export { loadDirMetaBatch, loadDirMetaBeneath } from './dir-meta';
export type { DirMetaBatch, DirMetaBeneath, DirMetaItem } from './dir-meta';
export { loadRecvSmall, RECV_OUT, RECV_ROW, RecvStop } from './recv-small';
export type { RecvSmall } from './recv-small';
export { loadNativeHash } from './hash';
export type { NativeHash } from './hash';

// The main thread binds every function of both libraries now, before it can start a worker: each
// is looked up then (linux.ts lookUpNow), so no thread's first call writes ffi-rs's shared map
// while another thread reads it (the SIGSEGV of DEVLOG h55-segv). Workers bind lazily as before.
if (isMainThread && nativeAvailable) bindAllEntries();
