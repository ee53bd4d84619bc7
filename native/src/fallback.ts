/**
 * node:fs implementation of the bindings, for non-Linux platforms, when ffi-rs cannot load, and
 * for tests (`loadBindings({ forceFallback: true })`). Operations with an fs equivalent use it;
 * zero-copy primitives throw UnsupportedError so the caller falls back to read/write.
 */
import * as fs from 'node:fs';
import type { NativeBindings } from './api';
import { fsTypeName } from './constants';
import { errorFor, notAvailable } from './errors';
import { checkInt } from './cpath';

/** Run a node:fs call, re-raising its error as a NativeError with the same errno and code. */
function viaFs<T>(syscall: string, path: Buffer | string | undefined, run: () => T): T {
  try {
    return run();
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException)?.errno;
    if (typeof errno !== 'number') throw err;
    // Node reports libuv errnos as negative numbers.
    throw errorFor(Math.abs(errno), syscall, false, path);
  }
}

/**
 * bigint ns -> the seconds node:fs takes (sub-µs precision is lost in the double). Node replaces a
 * negative number with "now", but parses a numeric string as given, so pre-1970 times go as text.
 */
function nsToSeconds(ns: bigint): number | string {
  const sec = ns / 1_000_000_000n;
  const rest = ns % 1_000_000_000n;
  const seconds = Number(sec) + Number(rest) / 1e9;
  return seconds < 0 ? String(seconds) : seconds;
}

export function loadFallback(): NativeBindings {
  return {
    kind: 'fallback',
    platformSupportsZeroCopy: () => false,

    copyFileRange() {
      throw notAvailable('copy_file_range');
    },
    sendfile() {
      throw notAvailable('sendfile');
    },
    splice() {
      throw notAvailable('splice');
    },
    pipe2() {
      throw notAvailable('pipe2');
    },
    fcntlSetPipeSize() {
      throw notAvailable('fcntl(F_SETPIPE_SZ)');
    },
    ficlone() {
      throw notAvailable('ioctl(FICLONE)');
    },
    fallocate() {
      throw notAvailable('fallocate');
    },
    posixFadvise(fd, offset, len) {
      // Advice is optional; still reject what the real call would reject, so callers see one behaviour.
      checkInt('offset', offset, 0);
      checkInt('len', len, 0);
      viaFs('posix_fadvise', undefined, () => fs.fstatSync(fd));
    },

    futimens(fd, atimeNs, mtimeNs) {
      viaFs('futimens', undefined, () => fs.futimesSync(fd, nsToSeconds(atimeNs), nsToSeconds(mtimeNs)));
    },
    utimensat(path, atimeNs, mtimeNs, opts) {
      const set = opts.noFollow ? fs.lutimesSync : fs.utimesSync;
      viaFs('utimensat', path, () => set(path, nsToSeconds(atimeNs), nsToSeconds(mtimeNs)));
    },
    fchmod(fd, mode) {
      viaFs('fchmod', undefined, () => fs.fchmodSync(fd, mode));
    },
    fchown(fd, uid, gid) {
      viaFs('fchown', undefined, () => fs.fchownSync(fd, uid, gid));
    },
    lchown(path, uid, gid) {
      viaFs('lchown', path, () => fs.lchownSync(path, uid, gid));
    },

    // Without SEEK_DATA/SEEK_HOLE the whole file is one data extent, as the kernel's generic
    // implementation reports for filesystems that do not track holes.
    lseekData(fd, offset) {
      checkInt('offset', offset, 0);
      const size = viaFs('lseek(SEEK_DATA)', undefined, () => fs.fstatSync(fd).size);
      return offset < size ? offset : -1;
    },
    lseekHole(fd, offset) {
      checkInt('offset', offset, 0);
      const size = viaFs('lseek(SEEK_HOLE)', undefined, () => fs.fstatSync(fd).size);
      return offset < size ? size : -1;
    },

    statfsType(path) {
      const magic = viaFs('statfs', path, () => fs.statfsSync(path).type);
      // f_type numbers are only the Linux magic table on Linux.
      return process.platform === 'linux' ? fsTypeName(magic) : `${process.platform}:0x${(magic >>> 0).toString(16)}`;
    },

    renameat2() {
      // A no-replace rename cannot be made atomic with node:fs; let the caller decide.
      throw notAvailable('renameat2');
    },

    // node:fs has no dup and no poll: callers keep their descriptors on Node's event loop.
    dup() {
      throw notAvailable('dup');
    },
    poll() {
      throw notAvailable('poll');
    },
    // No syncfs in node:fs (fsyncSync on a directory fd flushes that directory only): the caller
    // fsyncs each file and its directory instead.
    syncfs() {
      throw notAvailable('syncfs');
    },
    syncfsAsync() {
      return Promise.reject(notAvailable('syncfs'));
    },
  };
}
