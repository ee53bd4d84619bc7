/**
 * The bindings' public contract, implemented twice: linux.ts (ffi-rs against libc) and
 * fallback.ts (node:fs only). Numbers are plain JS numbers (offsets and lengths up to 2^53),
 * times are bigint nanoseconds since the epoch, paths are raw-byte Buffers (a string is
 * accepted where noted and encoded as UTF-8).
 *
 * Every function is synchronous and blocking: call them from worker threads.
 *
 * Errors: NativeError with Node's errno `code` ('ENOSPC', 'EBADF', ...); UnsupportedError (a
 * NativeError) when the caller should switch primitive. Sockets from node:net are non-blocking,
 * so sendfile/splice on them can throw NativeError 'EAGAIN': wait for writability and retry.
 */
export interface UtimensatOptions {
  /** Set the times of a symlink itself instead of its target (AT_SYMLINK_NOFOLLOW). */
  noFollow: boolean;
}

export interface NativeBindings {
  /** 'linux' = ffi-rs syscalls; 'fallback' = node:fs equivalents, zero-copy primitives unsupported. */
  readonly kind: 'linux' | 'fallback';
  /** True when copy_file_range/sendfile/splice/FICLONE can be attempted at all. */
  platformSupportsZeroCopy(): boolean;

  /** Bytes copied (0 at end of input). A null offset uses and advances the fd's file position. */
  copyFileRange(fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number): number;
  /** Bytes sent. A null offset uses and advances inFd's file position; a number leaves it alone. */
  sendfile(outFd: number, inFd: number, offset: number | null, count: number): number;
  /** Bytes moved (0 at end of input). One side must be a pipe; its offset must be null. */
  splice(fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number, flags: number): number;
  /** [readFd, writeFd]; flags = O_CLOEXEC | O_NONBLOCK. */
  pipe2(flags?: number): [number, number];
  /** Resize a pipe's buffer; returns the size the kernel actually chose. */
  fcntlSetPipeSize(fd: number, size: number): number;
  /** Make destFd share srcFd's extents (reflink). UnsupportedError where the fs cannot. */
  ficlone(destFd: number, srcFd: number): void;
  fallocate(fd: number, mode: number, offset: number, len: number): void;
  /** Advisory only: never throws for an unsupported fd type. */
  posixFadvise(fd: number, offset: number, len: number, advice: number): void;
  futimens(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
  utimensat(path: Buffer, atimeNs: bigint, mtimeNs: bigint, opts: UtimensatOptions): void;
  fchmod(fd: number, mode: number): void;
  /** uid/gid -1 leaves that id unchanged. */
  fchown(fd: number, uid: number, gid: number): void;
  lchown(path: Buffer, uid: number, gid: number): void;
  /** Offset of the next data at or after `offset`, or -1 when there is no more data (ENXIO). */
  lseekData(fd: number, offset: number): number;
  /** Offset of the next hole at or after `offset` (end of file counts as a hole), or -1 past EOF. */
  lseekHole(fd: number, offset: number): number;
  /** Filesystem type name ('ext4', 'tmpfs', 'xfs', 'btrfs', 'overlay', ... or '0x<magic>'). */
  statfsType(path: Buffer | string): string;
  /** rename(2) with flags (RENAME_NOREPLACE: fail with EEXIST instead of replacing). */
  renameat2(oldPath: Buffer, newPath: Buffer, flags: number): void;
  /** A new descriptor for the same open file (dup(2)); the caller closes it. */
  dup(fd: number): number;
  /**
   * poll(2) on one descriptor: the revents bits (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL), 0 on
   * timeout or when a signal interrupted the wait. timeoutMs -1 waits without limit.
   */
  poll(fd: number, events: number, timeoutMs: number): number;
  /**
   * syncfs(2): write back everything dirty on the filesystem holding fd (data, inodes, directory
   * entries). UnsupportedError where unavailable: fsync each file and its directory instead.
   */
  syncfs(fd: number): void;
  /**
   * The same syncfs(2) on a libuv pool thread (ffi-rs runInNewThread): the calling thread's event
   * loop keeps running while the write-back, which can take seconds, goes on. The caller keeps fd
   * open until the promise settles. Rejects as syncfs throws.
   */
  syncfsAsync(fd: number): Promise<void>;
}

export interface LoadOptions {
  /** Use the node:fs implementation even where ffi-rs works (tests, debugging). */
  forceFallback?: boolean;
}
