/**
 * libc bindings through ffi-rs (Linux, x86_64/aarch64 only: 64-bit off_t and long, little endian).
 *
 * ffi-rs findings (measured on this machine, see DEVLOG 2026-11-20 native):
 * - A call costs ~5-7 µs (vs ~0.1 µs for a plain syscall), so each binding is one `define`d
 *   function resolved once at load; only one call per operation.
 * - `DataType.U8Array` parameters are passed BY POINTER to the Buffer's own memory (byteOffset is
 *   honoured, so subarrays work): writes by the callee are visible in JS. That is how pipe2's
 *   int[2], statfs-like out structs and the loff_t* offset in/out parameters work here.
 * - A NULL pointer is passed by declaring that parameter as `DataType.I64` and passing 0, so every
 *   syscall with optional offset pointers has one variant per null/non-null combination.
 * - `errno: true` returns {value, errnoCode, errnoMessage}; errnoCode is only meaningful when the
 *   return value says the call failed (-1), since libc does not clear errno on success.
 * - ffi-rs state is per thread (per isolate): each worker thread loads its own copy; opening the
 *   same library key twice is harmless.
 * - CRASH: when ffi-rs is loaded in a worker thread but not in the main thread, the process
 *   segfaults as that worker exits (Node dlcloses the addon with the worker's environment while
 *   native teardown still points into it). `pinAddon` dlopens the addon once more with
 *   RTLD_NODELETE so it is never unmapped; see the worker test.
 */
import type * as FfiRs from 'ffi-rs';
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { NativeBindings, UtimensatOptions } from './api';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  F_SETPIPE_SZ,
  FICLONE,
  fsTypeName,
  SEEK_DATA,
  SEEK_HOLE,
  EINTR,
} from './constants';
import { ENXIO, errorFor, ESPIPE, NativeError } from './errors';
import { checkInt, cPath, writeTimespecs } from './cpath';

export const LIB = 'blit_libc';
const LIBC_CANDIDATES = ['libc.so.6', 'libc.so'];
const RTLD_NOW = 2;
const RTLD_NODELETE = 0x1000;

type Call = (args: unknown[]) => { value: number; errnoCode: number };
export type ParamType = FfiRs.DataType.I32 | FfiRs.DataType.I64 | FfiRs.DataType.U64 | FfiRs.DataType.U8Array | FfiRs.DataType.External;
export type RetType = FfiRs.DataType.I32 | FfiRs.DataType.I64 | FfiRs.DataType.External;

/**
 * One libc function as a call taking its argument array. Cheaper than ffi-rs `define`, which
 * builds a fresh request object (spread) per call: the request here is built once and only its
 * values change (calls are synchronous, so reusing it is safe). Buffer (U8Array) parameters
 * still need their length described per call, so only those slots are rebuilt.
 * Measured (scratch loop, futimens): define 10.5 µs/call, reused request + External 4.7-5 µs.
 */
function bind(ffi: typeof FfiRs, name: string, ret: RetType, params: ParamType[]): Call {
  return bindRaw(ffi, name, ret, params, true) as Call;
}

/**
 * The same without errno capture: returns the plain value, ~1 µs (25 %) cheaper per call. For
 * functions that return their error (posix_fadvise), and for a first attempt that is repeated
 * with errno capture only when it fails (futimens, utimensat: repeating them is harmless).
 */
function bindValue(ffi: typeof FfiRs, name: string, ret: RetType, params: ParamType[]): (args: unknown[]) => number {
  return bindRaw(ffi, name, ret, params, false) as (args: unknown[]) => number;
}

export function bindRaw(ffi: typeof FfiRs, name: string, ret: RetType, params: ParamType[], errno: boolean, library = LIB): (args: unknown[]) => unknown {
  const arraySlots = params.flatMap((p, i) => (p === ffi.DataType.U8Array ? [i] : []));
  const request = { library, funcName: name, retType: ret, paramsType: params as unknown[], paramsValue: [] as unknown[], errno, freeResultMemory: false };
  const load = ffi.load as unknown as (req: typeof request) => unknown;
  if (isMainThread) lookUpNow(ffi, library, name);
  if (arraySlots.length === 0) {
    return (args) => {
      request.paramsValue = args;
      request.paramsType = params; // ffi-rs replaces it with a mapped copy on every call
      return load(request);
    };
  }
  return (args) => {
    const types: unknown[] = params.slice();
    for (const i of arraySlots) types[i] = ffi.arrayConstructor({ type: ffi.DataType.U8Array, length: (args[i] as Buffer).length });
    request.paramsValue = args;
    request.paramsType = types;
    return load(request);
  };
}

/**
 * ffi-rs (1.3.7) keeps the opened libraries and each library's looked-up functions in one
 * process-wide map (a Rust `static mut`, no lock): `open` of a new library key and the first `load`
 * of a function name insert into it from whichever thread makes them, while every other thread's
 * `load` reads it. Two threads at once corrupt it (an insert that grows the table frees the one
 * another thread is reading; two inserts of one name grow it twice): a SIGSEGV inside the addon,
 * reproduced with threads opening library keys at once (DEVLOG h55-segv). Blit's stream workers
 * made such first calls (poll, sendfile, blit_read_batch, blit_recv_small...) while other threads
 * were inside ffi-rs. So each function is looked up when the main thread binds it: a load whose
 * values do not match its types makes ffi-rs look the symbol up and keep it, then fail before
 * anything is called. The main thread binds every function of both libraries when it loads this
 * package (index.ts), before it can start a worker; after that each thread's `open` and `load`
 * only read the map.
 */
function lookUpNow(ffi: typeof FfiRs, library: string, funcName: string): void {
  const { I32 } = ffi.DataType;
  try {
    (ffi.load as unknown as (req: object) => unknown)({ library, funcName, retType: I32, paramsType: [I32], paramsValue: [] });
  } catch {
    // The expected failure (the values do not match the types), or a missing symbol: the bound
    // function reports that itself when it is called.
  }
}

/**
 * A 32-byte timespec[2] in native memory plus a Buffer view of it, so futimens/utimensat pass a
 * plain pointer (External) instead of a Buffer ffi-rs describes and converts per call. Allocated
 * once per thread and never freed (32 bytes). Undefined where the runtime copies external
 * buffers instead of sharing them (Electron): checked by writing through the view and comparing
 * the native memory with memcmp.
 */
function nativeTimespecs(ffi: typeof FfiRs): { ptr: FfiRs.JsExternal; view: Buffer } | undefined {
  const { External, U64, U8Array, I32 } = ffi.DataType;
  const malloc = bind(ffi, 'malloc', External, [U64]);
  const memcmp = bind(ffi, 'memcmp', I32, [External, U8Array, U64]);
  const ptr = malloc([32]).value as unknown as FfiRs.JsExternal;
  if (ffi.isNullPointer(ptr)) return undefined;
  const view = ffi.createExternalBuffer(ptr, 32);
  const probe = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
  probe.copy(view);
  return memcmp([ptr, probe, 32]).value === 0 ? { ptr, view } : undefined;
}

function openLibc(ffi: typeof FfiRs): void {
  let last: unknown;
  for (const path of LIBC_CANDIDATES) {
    try {
      ffi.open({ library: LIB, path });
      return;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`could not open libc (${LIBC_CANDIDATES.join(', ')}): ${String(last)}`);
}

/** Keep the ffi-rs addon mapped for the life of the process (see CRASH above). */
function pinAddon(ffi: typeof FfiRs): void {
  const maps = fs.readFileSync('/proc/self/maps', 'latin1');
  const addon = maps
    .split('\n')
    .map((line) => line.slice(line.indexOf('/')))
    .find((p) => /\/[^/]*ffi[-_]rs[^/]*\.node$/.test(p)); // also a bundler's renamed copy
  if (!addon) throw new Error('ffi-rs addon not found in /proc/self/maps');
  const dl = bind(ffi, 'dlopen', ffi.DataType.External, [ffi.DataType.U8Array, ffi.DataType.I32]);
  const handle = dl([Buffer.from(`${addon}\0`, 'latin1'), RTLD_NOW | RTLD_NODELETE]) as unknown as { value: FfiRs.JsExternal };
  if (ffi.isNullPointer(handle.value)) throw new Error(`dlopen(RTLD_NODELETE) failed for ${addon}`);
}

function writeOffset(buf: Buffer, n: number): void {
  buf.writeUInt32LE(n >>> 0, 0);
  buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), 4);
}

/**
 * require('ffi-rs') without the process.report.getReport() its index.js makes only to tell glibc
 * from musl (header.glibcVersionRuntime): a full report (CPUs, network interfaces, memory, libuv
 * handles) cost 4-8 ms in every thread that loads ffi-rs, the main thread and each worker (DEVLOG
 * 2026-11-21, h17). The answer is taken from the libc this process has mapped instead; when
 * /proc/self/maps does not say clearly, ffi-rs makes its own check.
 */
export function requireFfiRs(): typeof FfiRs {
  const report = process.report;
  const libc = mappedLibc();
  if (libc === undefined || typeof report?.getReport !== 'function') return require('ffi-rs') as typeof FfiRs;
  const getReport = report.getReport;
  report.getReport = (() => ({ header: { glibcVersionRuntime: libc === 'glibc' ? 'mapped' : undefined } })) as unknown as typeof getReport;
  try {
    return require('ffi-rs') as typeof FfiRs;
  } finally {
    report.getReport = getReport;
  }
}

/** 'glibc' or 'musl' by the C library mapped into this process, undefined when unclear. */
export function mappedLibc(maps?: string): 'glibc' | 'musl' | undefined {
  try {
    maps ??= fs.readFileSync('/proc/self/maps', 'latin1');
  } catch {
    return undefined;
  }
  const glibc = /\/libc\.so\.6$/m.test(maps);
  const musl = /\/(ld-musl-[^/\n]*|libc\.musl-[^/\n]*)\.so\.1$/m.test(maps);
  return glibc === musl ? undefined : glibc ? 'glibc' : 'musl';
}

/** Load the Linux bindings; throws when this platform cannot have them. */
export function loadLinux(): NativeBindings {
  if (process.platform !== 'linux') throw new Error(`native bindings need Linux, this is ${process.platform}`);
  if (process.arch !== 'x64' && process.arch !== 'arm64') throw new Error(`native bindings need x64 or arm64, this is ${process.arch}`);
  // Required lazily so a platform without an ffi-rs build still gets the fallback.
  const ffi = requireFfiRs();
  openLibc(ffi);
  try {
    pinAddon(ffi);
  } catch (err) {
    // Only a worker thread can crash on exit; the main thread keeps the addon anyway.
    if (!isMainThread) throw err;
  }
  const { I32, I64, U64, U8Array } = ffi.DataType;
  const fn = (name: string, ret: RetType, params: ParamType[]): Call => bind(ffi, name, ret, params);
  /** Pointer-or-NULL parameters: U8Array when an offset is given, I64 0 when it is NULL. */
  const variants = (name: string, shape: (a: ParamType, b: ParamType) => ParamType[]): Call[] =>
    // index = (first is a pointer ? 1 : 0) | (second is a pointer ? 2 : 0)
    [shape(I64, I64), shape(U8Array, I64), shape(I64, U8Array), shape(U8Array, U8Array)].map((p) => fn(name, I64, p));

  const cfr = variants('copy_file_range', (a, b) => [I32, a, I32, b, U64, I32]);
  const spl = variants('splice', (a, b) => [I32, a, I32, b, U64, I32]);
  const sendfileNull = fn('sendfile', I64, [I32, I32, I64, U64]);
  const sendfileOff = fn('sendfile', I64, [I32, I32, U8Array, U64]);
  const pipe2 = fn('pipe2', I32, [U8Array, I32]);
  const fcntlInt = fn('fcntl', I32, [I32, I32, I32]);
  const ioctlInt = fn('ioctl', I32, [I32, U64, I32]);
  const fallocate = fn('fallocate', I32, [I32, I32, I64, I64]);
  const posixFadvise = bindValue(ffi, 'posix_fadvise', I32, [I32, I64, I64, I32]);
  const nativeTimes = nativeTimespecs(ffi);
  const timesType = nativeTimes ? ffi.DataType.External : U8Array;
  const futimens = fn('futimens', I32, [I32, timesType]);
  const futimensValue = bindValue(ffi, 'futimens', I32, [I32, timesType]);
  const utimensat = fn('utimensat', I32, [I32, U8Array, timesType, I32]);
  const utimensatValue = bindValue(ffi, 'utimensat', I32, [I32, U8Array, timesType, I32]);
  const fchmod = fn('fchmod', I32, [I32, I32]);
  const fchown = fn('fchown', I32, [I32, I32, I32]);
  const lchown = fn('lchown', I32, [U8Array, I32, I32]);
  const lseek = fn('lseek', I64, [I32, I64, I32]);
  const renameat2 = fn('renameat2', I32, [I32, U8Array, I32, U8Array, I32]);
  const dup = fn('dup', I32, [I32]);
  const poll = fn('poll', I32, [U8Array, U64, I32]);
  const syncfs = fn('syncfs', I32, [I32]);

  // Scratch memory reused across calls: calls are synchronous and this object belongs to one
  // thread, so no two calls can share a buffer at the same time.
  const offA = Buffer.alloc(8);
  const offB = Buffer.alloc(8);
  const pipeFds = Buffer.alloc(8);
  /** struct pollfd { int fd; short events; short revents; } */
  const pollFd = Buffer.alloc(8);
  const times = nativeTimes?.view ?? Buffer.alloc(32);
  const timesArg: unknown = nativeTimes?.ptr ?? times;

  function offsetArg(buf: Buffer, off: number | null, name: string): Buffer | number {
    if (off === null) return 0;
    checkInt(name, off, 0);
    writeOffset(buf, off);
    return buf;
  }

  function lseekTo(fd: number, offset: number, whence: number, syscall: string): number {
    checkInt('offset', offset, 0);
    const r = lseek([fd, offset, whence]);
    if (r.value >= 0) return r.value;
    if (r.errnoCode === ENXIO) return -1;
    throw errorFor(r.errnoCode, syscall, true);
  }

  return {
    kind: 'linux',
    platformSupportsZeroCopy: () => true,

    copyFileRange(fdIn, offIn, fdOut, offOut, len) {
      checkInt('len', len, 0);
      const a = offsetArg(offA, offIn, 'offIn');
      const b = offsetArg(offB, offOut, 'offOut');
      const call = cfr[(offIn === null ? 0 : 1) | (offOut === null ? 0 : 2)]!;
      const r = call([fdIn, a, fdOut, b, len, 0]);
      // EINVAL: unsupported file types / filesystem (or overlapping ranges in one file).
      if (r.value < 0) throw errorFor(r.errnoCode, 'copy_file_range', true);
      return r.value;
    },

    sendfile(outFd, inFd, offset, count) {
      checkInt('count', count, 0);
      const r = offset === null ? sendfileNull([outFd, inFd, 0, count]) : sendfileOff([outFd, inFd, offsetArg(offA, offset, 'offset'), count]);
      // EINVAL: descriptor kinds sendfile cannot serve (no mmap-able input, O_APPEND output...).
      if (r.value < 0) throw errorFor(r.errnoCode, 'sendfile', true);
      return r.value;
    },

    splice(fdIn, offIn, fdOut, offOut, len, flags) {
      checkInt('len', len, 0);
      const a = offsetArg(offA, offIn, 'offIn');
      const b = offsetArg(offB, offOut, 'offOut');
      const call = spl[(offIn === null ? 0 : 1) | (offOut === null ? 0 : 2)]!;
      const r = call([fdIn, a, fdOut, b, len, flags]);
      // EINVAL: neither end a pipe, or the filesystem does not support splicing.
      if (r.value < 0) throw errorFor(r.errnoCode, 'splice', true);
      return r.value;
    },

    pipe2(flags = 0) {
      const r = pipe2([pipeFds, flags]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'pipe2', false);
      return [pipeFds.readInt32LE(0), pipeFds.readInt32LE(4)];
    },

    fcntlSetPipeSize(fd, size) {
      checkInt('size', size, 1);
      const r = fcntlInt([fd, F_SETPIPE_SZ, size]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'fcntl(F_SETPIPE_SZ)', false);
      return r.value;
    },

    ficlone(destFd, srcFd) {
      const r = ioctlInt([destFd, FICLONE, srcFd]);
      // EINVAL: fs supports reflink but not for these files; EOPNOTSUPP/ENOTTY: fs has no reflink.
      if (r.value < 0) throw errorFor(r.errnoCode, 'ioctl(FICLONE)', true);
    },

    fallocate(fd, mode, offset, len) {
      checkInt('offset', offset, 0);
      checkInt('len', len, 1);
      const r = fallocate([fd, mode, offset, len]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'fallocate', false);
    },

    posixFadvise(fd, offset, len, advice) {
      checkInt('offset', offset, 0);
      checkInt('len', len, 0);
      // posix_fadvise returns the error number instead of setting errno. ESPIPE (a pipe or socket)
      // means the advice is meaningless there, not that anything failed.
      const r = posixFadvise([fd, offset, len, advice]);
      if (r !== 0 && r !== ESPIPE) throw errorFor(r, 'posix_fadvise', false);
    },

    futimens(fd, atimeNs, mtimeNs) {
      writeTimespecs(times, atimeNs, mtimeNs);
      if (futimensValue([fd, timesArg]) === 0) return;
      const r = futimens([fd, timesArg]); // again, to learn errno
      if (r.value < 0) throw errorFor(r.errnoCode, 'futimens', false);
    },

    utimensat(path: Buffer, atimeNs: bigint, mtimeNs: bigint, opts: UtimensatOptions) {
      const p = cPath(path, 'utimensat');
      writeTimespecs(times, atimeNs, mtimeNs);
      const flags = opts.noFollow ? AT_SYMLINK_NOFOLLOW : 0;
      if (utimensatValue([AT_FDCWD, p, timesArg, flags]) === 0) return;
      const r = utimensat([AT_FDCWD, p, timesArg, flags]); // again, to learn errno
      if (r.value < 0) throw errorFor(r.errnoCode, 'utimensat', false, path);
    },

    fchmod(fd, mode) {
      const r = fchmod([fd, mode]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'fchmod', false);
    },

    fchown(fd, uid, gid) {
      // uid_t is unsigned; `| 0` maps 0xffffffff and -1 to the same bits for the I32 slot.
      const r = fchown([fd, uid | 0, gid | 0]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'fchown', false);
    },

    lchown(path, uid, gid) {
      const r = lchown([cPath(path, 'lchown'), uid | 0, gid | 0]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'lchown', false, path);
    },

    lseekData: (fd, offset) => lseekTo(fd, offset, SEEK_DATA, 'lseek(SEEK_DATA)'),
    lseekHole: (fd, offset) => lseekTo(fd, offset, SEEK_HOLE, 'lseek(SEEK_HOLE)'),

    statfsType(path) {
      // node:fs wraps the same statfs(2) call (f_type included) without an ffi hop.
      try {
        return fsTypeName(fs.statfsSync(path).type);
      } catch (err) {
        throw fromNodeError(err, 'statfs', path);
      }
    },

    renameat2(oldPath, newPath, flags) {
      const r = renameat2([AT_FDCWD, cPath(oldPath, 'renameat2'), AT_FDCWD, cPath(newPath, 'renameat2'), flags]);
      // EINVAL: the filesystem does not support these flags.
      if (r.value < 0) throw errorFor(r.errnoCode, 'renameat2', true, oldPath);
    },

    dup(fd) {
      const r = dup([fd]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'dup', false);
      return r.value;
    },

    poll(fd, events, timeoutMs) {
      checkInt('timeoutMs', timeoutMs, -1);
      pollFd.writeInt32LE(fd, 0);
      pollFd.writeInt16LE(events, 4);
      pollFd.writeInt16LE(0, 6);
      const r = poll([pollFd, 1, timeoutMs]);
      if (r.value < 0) {
        if (r.errnoCode === EINTR) return 0;
        throw errorFor(r.errnoCode, 'poll', false);
      }
      return r.value === 0 ? 0 : pollFd.readUInt16LE(6);
    },

    syncfs(fd) {
      const r = syncfs([fd]);
      if (r.value < 0) throw errorFor(r.errnoCode, 'syncfs', false);
    },
    async syncfsAsync(fd) {
      checkInt('fd', fd, 0);
      // A request of its own per call (bind() reuses one, fine only for synchronous calls). errno is
      // read on the pool thread right after the call (checked: EBADF comes back as 9).
      const r = await (ffi.load as unknown as (req: object) => Promise<{ value: number; errnoCode: number }>)({
        library: LIB,
        funcName: 'syncfs',
        retType: I32,
        paramsType: [I32],
        paramsValue: [fd],
        errno: true,
        runInNewThread: true,
      });
      if (r.value < 0) throw errorFor(r.errnoCode, 'syncfs', false);
    },
  };
}

/** Re-raise a node:fs error as a NativeError with the same errno. */
export function fromNodeError(err: unknown, syscall: string, path: Buffer | string): NativeError {
  const errno = (err as NodeJS.ErrnoException)?.errno;
  if (typeof errno === 'number') return errorFor(Math.abs(errno), syscall, false, path);
  throw err;
}
