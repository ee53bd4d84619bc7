/**
 * Batched small-file calls: one foreign call per batch through ffi-rs into our own C shim
 * (native/csrc/*.c, overview in blit_batch.c, built at `npm ci` into native/build/libblit_native.so).
 *
 * - copyBatch: small files from source paths (the local engine's copy workers).
 * - writeBatch: files whose contents are already in memory (for the remote receiver).
 * - scanDir: one directory read and every entry lstat'ed in one call (the walk and the
 *   destination listers, daemon/src/engine/scan-dir.ts); records described at `SCAN`.
 * - readBatch: the remote sender's small files read (and checked unchanged) into their
 *   data-plane frames in one call (daemon/src/remote/small-reader.ts).
 * The library's later entry points are bound on their own (optionalEntry below), each in its file:
 * open-beneath.ts (openat2), dir-meta.ts (directory metadata), recv-small.ts (the receiving
 * worker's frame scan + write), hash.ts (--checksum's XXH3-128); entries.ts binds them all on the
 * main thread.
 *
 * Both keep AtomicFile's rules (temp name `.blit.<name>.<12 hex>.tmp` in the destination
 * directory, created O_EXCL; metadata on the open temp; rename last; temp unlinked on any
 * failure) and report per file. `loadNativeBatch()` returns undefined when the library is not
 * built (no `cc` at install), cannot load, or `BLIT_NATIVE_BATCH=0` / `BLIT_NATIVE_FALLBACK=1`
 * is set: callers then keep their per-file node:fs path.
 *
 * Record layouts (little endian, each record 8-byte aligned; mirrored from the C structs):
 *   copy record:  u32 recLen, srcLen, dirLen, nameLen; i64 size; i64 mtimeNs; f64 mtimeMs;
 *                 u32 mode, uid, gid, mtimeExact; then src, dir, name bytes (no NULs), padding.
 *   write record: u32 recLen, dirLen, nameLen, mode; u64 dataOff, dataLen; i64 mtimeNs;
 *                 u32 uid, gid; i32 dirFd (-1: dir is a path), u32 reserved; then dir, name
 *                 bytes, padding.
 *   read record:  u32 recLen, pathLen; f64 index; i64 size; i64 mtimeNs; then path bytes, padding.
 *   result:       i32 status, errno, step, reserved; i64 bytes; f64 doneMs (32 bytes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as FfiRs from 'ffi-rs';
import { loadBindings } from './index';
import { bindRaw } from './linux';
import { NativeError } from './errors';

export const LIBRARY = 'blit_native';
const FILE = 'libblit_native.so';
const ABI_VERSION = 9;
const COPY_HEADER = 56;
const WRITE_HEADER = 56;
const READ_HEADER = 32;
const RESULT_SIZE = 32;
/** The C side's limit per call (fixed arrays of descriptors). */
export const MAX_BATCH_FILES = 4096;
export const OPT_PRESERVE_OWNER = 1;
const OPT_NOATIME = 2;
const OPT_CREATE_PARENTS = 4;

/** Which step of a file failed (the syscall named in its error). */
export const BATCH_STEPS = ['', 'open', 'read', 'open', 'write', 'fstat', 'fchown', 'fchmod', 'futimens', 'close', 'rename', 'path'] as const;
export type BatchStep = (typeof BATCH_STEPS)[number];

export type BatchStatus = 'done' | 'failed' | 'not-run' | 'changed';
const STATUSES: BatchStatus[] = ['done', 'failed', 'not-run', 'changed'];

export interface BatchFileResult {
  /**
   * done: in place under its real name; failed: errno/step say why, nothing left behind;
   * not-run: cancelled before it started; changed (copyBatch only): the source's size or mtime
   * differed from the given ones after the copy, the temp was removed.
   */
  status: BatchStatus;
  errno: number;
  step: BatchStep;
  bytes: number;
  /** Date.now() scale ms when the file's data had been written (0 when it was not). */
  doneMs: number;
}

/** Unique part of the temp names: file i gets `${prefix:06x}${(counter + i) & 0xffffff:06x}`. */
export interface TempNames {
  prefix: number;
  counter: number;
}

export interface CopyItem {
  /** Paths as latin1 strings (one char per byte, like the engine's FileTask). */
  src: string;
  dstDir: string;
  name: string;
  /** Expected size and mtime: any difference after the copy is status 'changed'. */
  size: number;
  /** Compared exactly when mtimeExact, else `mtimeMs` is compared with Node's double ms. */
  mtimeNs: bigint;
  mtimeMs: number;
  mtimeExact: boolean;
  /** Final permission bits (created with mode & 0o777, fchmod only when the umask changed it). */
  mode: number;
  uid: number;
  gid: number;
}

export interface CopyBatchOptions {
  /** fchown to uid/gid as root, unless the file was created with them (owner_differs in blit_internal.h). */
  preserveOwner: boolean;
  umask: number;
  /** Open sources with O_NOATIME (retried without it on EPERM). */
  noAtime: boolean;
  /** Create a missing destination directory and its parents (mode 0700, as AtomicFile's createParents). */
  createParents?: boolean;
  /** Int32Array over a SharedArrayBuffer: [0] != 0 = stop before the next file; [1] is bumped per file. */
  cancel?: Int32Array;
  /** Scratch memory, at least as big as the largest file. */
  scratch: Buffer;
  temp: TempNames;
}

export interface WriteItem {
  /** The directory's path (unused when dirFd is given). */
  dir: Buffer;
  /**
   * An open directory fd (e.g. opened beneath the daemon's module root): temp and name are
   * created and renamed relative to it (openat/renameat), `name` must be one entry name ('', '.',
   * '..', a '/' or a NUL fail the file with EINVAL, more than NAME_MAX bytes with ENAMETOOLONG;
   * step 'path', nothing created).
   */
  dirFd?: number;
  name: Buffer;
  data: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
}

export interface WriteBatchOptions {
  preserveOwner: boolean;
  umask: number;
  temp: TempNames;
}

export interface ReadItem {
  /** Manifest index (the frames' index). */
  index: number;
  /** Absolute path (no NUL); a Uint8Array is fine (a Buffer after postMessage is one). */
  path: Uint8Array;
  /** The listing's size and exact mtime: any difference after the read is status 'changed'. */
  size: number;
  mtimeNs: bigint;
}

export interface ReadBatchResult {
  /**
   * FILE_START, DATA, FILE_END frames (remote/dataplane.ts) of every file whose status is
   * 'done', in order; a view of this thread's reused buffer, valid until the next readBatch.
   */
  frames: Buffer;
  /** Per file: done, failed (errno/step: open, read, fstat, path) or changed (size/mtime). */
  results: BatchFileResult[];
}

/**
 * What readRecords returns: the frames of the files read whole (as ReadBatchResult.frames), the
 * payload bytes among them, and only the files that were not sent (their position in the call's
 * records and their result): a batch of files that all went out costs no object per file.
 */
export interface ReadRecordsResult {
  frames: Buffer;
  bytes: number;
  failed: { at: number; result: BatchFileResult }[];
}

/**
 * blit_read_batch's input records (u32 rec_len, path_len; f64 index; i64 size; i64 mtime_ns; path
 * bytes, padding to 8) in one exactly sized buffer of its own, which can be transferred to another
 * thread (postMessage) and handed to readRecords as it is. Pure JS: also the fallback's format.
 */
export function packReadRecords(items: readonly ReadItem[]): Uint8Array {
  let bytes = 0;
  for (const t of items) bytes += pad8(READ_HEADER + t.path.length);
  const ab = new ArrayBuffer(bytes);
  const u8 = new Uint8Array(ab);
  const u32 = new Uint32Array(ab);
  const f64 = new Float64Array(ab);
  const i64 = new BigInt64Array(ab);
  let off = 0;
  for (const t of items) {
    const len = pad8(READ_HEADER + t.path.length);
    const w = off >>> 2;
    u32[w] = len;
    u32[w + 1] = t.path.length;
    f64[(off >>> 3) + 1] = t.index;
    // The size as two u32 halves (no BigInt per file; sizes are below 2^53).
    u32[w + 4] = t.size >>> 0;
    u32[w + 5] = Math.floor(t.size / 0x100000000);
    i64[(off >>> 3) + 3] = t.mtimeNs;
    u8.set(t.path, off + READ_HEADER);
    off += len;
  }
  return u8;
}

/** Length of the record at byte `off` of packReadRecords' buffer. */
export function readRecordLength(recs: Uint8Array, off: number): number {
  return recs[off]! | (recs[off + 1]! << 8) | (recs[off + 2]! << 16) | (recs[off + 3]! * 0x1000000);
}

/** The size field of the record at `off` (below 2^53). */
export function readRecordSize(recs: Uint8Array, off: number): number {
  return readRecordLength(recs, off + 16) + readRecordLength(recs, off + 20) * 0x100000000;
}

/** The record at `off` as a ReadItem (its path a view of `recs`). */
export function readRecordItem(recs: Uint8Array, off: number): ReadItem {
  const view = new DataView(recs.buffer, recs.byteOffset + off, READ_HEADER);
  const pathLen = view.getUint32(4, true);
  return {
    index: view.getFloat64(8, true),
    size: Number(view.getBigInt64(16, true)),
    mtimeNs: view.getBigInt64(24, true),
    path: recs.subarray(off + READ_HEADER, off + READ_HEADER + pathLen),
  };
}

export interface NativeBatch {
  /** Copy small files (each at most options.scratch.length bytes), at most MAX_BATCH_FILES. */
  copyBatch(items: readonly CopyItem[], options: CopyBatchOptions): BatchFileResult[];
  /** Write in-memory files atomically (temp, fchown as root, fchmod, futimens, rename). */
  writeBatch(items: readonly WriteItem[], options: WriteBatchOptions): BatchFileResult[];
  /** Read small files into their data-plane frames (blit_read_batch), at most MAX_BATCH_FILES. */
  readBatch(items: readonly ReadItem[], options?: { noAtime?: boolean }): ReadBatchResult;
  /**
   * readBatch on `count` records already packed by packReadRecords (e.g. on another thread): the
   * same reads, checks and frames (valid until the next call on this thread).
   */
  readRecords(recs: Uint8Array, count: number, options?: { noAtime?: boolean }): ReadRecordsResult;
  /**
   * Read one directory and lstat every entry in one call (blit_scan_dir). Returns the number of
   * entries, whose records are then in `scan` until the next call on this thread, or -errno
   * when the directory cannot be opened or read. `follow` = false opens it with O_NOFOLLOW.
   */
  scanDir(dirPath: Buffer, follow: boolean): number;
  /**
   * scanDir of directory `dirPath` opened relative to fd `dirfd` with openat2(O_RDONLY|O_DIRECTORY,
   * `resolve`: RESOLVE_* bits) inside the native call (blit_scan_dir_at): one syscall per
   * directory for a listing contained beneath a root fd. -errno of the openat2 as of the read.
   */
  scanDirAt(dirfd: number, dirPath: Buffer, resolve: number): number;
  /** The records of the last scanDir (views are replaced when the buffer grows). */
  readonly scan: ScanRecords;
  /**
   * The identity of the directory the last scanDir/scanDirAt read, taken by fstat on the fd it
   * listed (ABI 8): [st_dev, st_ino], or [0n, 0n] when that fstat failed. Valid until the next
   * scan on this thread.
   */
  readonly scanDirId: BigUint64Array;
}

/**
 * Records of blit_scan_dir, 8-byte aligned, each SCAN.HEADER bytes then the name and the symlink
 * target, padded to 8. Field offsets are in bytes from the record start; read u32/i32 fields
 * through `u32`/`i32` at (start + offset) / 4 and doubles through `f64` at (start + offset) / 8.
 */
export interface ScanRecords {
  data: Buffer;
  u32: Uint32Array;
  i32: Int32Array;
  f64: Float64Array;
}

export const SCAN = {
  HEADER: 64,
  REC_LEN: 0,
  NAME_LEN: 4,
  /** i32: errno of the entry's fstatat/readlinkat (0 = ok; its stat fields are then valid). */
  ERR: 8,
  MODE: 12,
  SIZE: 16,
  MTIME_SEC: 24,
  BLOCKS: 32,
  MTIME_NSEC: 40,
  UID: 44,
  GID: 48,
  LINK_LEN: 52,
  /** readdir's d_type (DT_DIR = 4, DT_REG = 8, DT_LNK = 10, DT_UNKNOWN = 0). */
  D_TYPE: 56,
} as const;
const SCAN_TOO_SMALL = -1000000;

/** A NativeError for a failed file, naming the step's syscall and the path. */
export function batchError(r: BatchFileResult, pathShown: Buffer | string): NativeError {
  return new NativeError(r.errno, r.step, pathShown);
}

let cached: NativeBatch | null | undefined;
let loadError: Error | undefined;
/** The library file open() found (set before it is opened, so a refusal can name it). */
let foundFile: string | undefined;

/** Why loadNativeBatch() returned undefined (undefined when it did not, or was not asked). */
export function nativeBatchLoadError(): Error | undefined {
  return loadError;
}

/** Where the shared library is looked for: native/build (a checkout), or beside a bundle. */
export function nativeBatchLibraryCandidates(): string[] {
  const env = process.env['BLIT_NATIVE_LIB'];
  return [...(env ? [env] : []), path.join(__dirname, '..', '..', 'build', FILE), path.join(__dirname, FILE)];
}

/** The batch entry points for this thread, or undefined (see the file comment). Cached. */
export function loadNativeBatch(): NativeBatch | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (process.env['BLIT_NATIVE_BATCH'] === '0') {
    loadError = new Error('disabled by BLIT_NATIVE_BATCH=0');
    return undefined;
  }
  try {
    cached = open();
  } catch (err) {
    loadError = err instanceof Error ? err : new Error(String(err));
  }
  return cached ?? undefined;
}

/**
 * A library file that is present but refused (another ABI version, a missing symbol, a load
 * error such as a truncated file): its path and why. Undefined when it loaded, when there is no
 * library file (not built: no compiler at install) and when BLIT_NATIVE_BATCH=0 /
 * BLIT_NATIVE_FALLBACK=1 turned it off. Loads it on this thread when not yet asked.
 */
export function nativeBatchRefused(): { file: string; reason: string } | undefined {
  if (loadNativeBatch() || foundFile === undefined || loadError === undefined) return undefined;
  return { file: foundFile, reason: loadError.message.startsWith(`${foundFile}: `) ? loadError.message.slice(foundFile.length + 2) : loadError.message };
}

/**
 * The one warning blit and blitd print for nativeBatchRefused() (without their prefix), naming
 * the file, the reason and the fix; undefined when nothing was refused.
 */
export function nativeBatchRefusedWarning(): string | undefined {
  const r = nativeBatchRefused();
  if (!r) return undefined;
  return `native library ${r.file} refused (${r.reason}): small-file batches and directory scans take the slower node:fs path; rebuild it: npm ci (or npm run build)`;
}

function open(): NativeBatch {
  if (process.env['BLIT_NATIVE_FALLBACK'] === '1') throw new Error('disabled by BLIT_NATIVE_FALLBACK=1');
  // The Linux bindings first: they open libc and pin the ffi-rs addon (worker-exit crash).
  if (loadBindings().kind !== 'linux') throw new Error('the ffi-rs bindings are not available');
  const lib = nativeBatchLibraryCandidates().find((p) => fs.existsSync(p));
  if (!lib) throw new Error(`${FILE} not built (looked in ${nativeBatchLibraryCandidates().join(', ')})`);
  foundFile = lib;
  const ffi = require('ffi-rs') as typeof FfiRs;
  ffi.open({ library: LIBRARY, path: lib });
  const { I32, U64, U8Array } = ffi.DataType;
  const call = (name: string, params: Parameters<typeof bindRaw>[3]): ((args: unknown[]) => number) =>
    bindRaw(ffi, name, I32, params, false, LIBRARY) as (args: unknown[]) => number;
  const version = call('blit_batch_abi_version', [])([]);
  if (version !== ABI_VERSION) throw new Error(`${lib}: ABI version ${version}, expected ${ABI_VERSION}`);
  const copy = call('blit_copy_batch', [U8Array, I32, I32, U8Array, U8Array, U64, U8Array, I32, I32, I32, I32]);
  const write = call('blit_write_batch', [U8Array, I32, I32, U8Array, U64, U8Array, I32, I32, I32, I32]);
  const scanCall = call('blit_scan_dir', [U8Array, U8Array, U64, I32, U8Array]);
  const scanAtCall = call('blit_scan_dir_at', [I32, U8Array, U8Array, U64, I32, U8Array]);
  const readCall = call('blit_read_batch', [U8Array, I32, I32, U8Array, U64, U8Array, I32]);
  let frames = Buffer.alloc(256 * 1024);
  const scan: ScanRecords = scanRecords(256 * 1024);
  const scanIdBytes = new ArrayBuffer(16);
  const scanIdOut = Buffer.from(scanIdBytes);
  const scanDirId = new BigUint64Array(scanIdBytes);
  const ZERO = Buffer.alloc(1);

  let input = Buffer.alloc(64 * 1024);
  let output = Buffer.alloc(64 * RESULT_SIZE);
  const noCancel = Buffer.alloc(8);
  const ensure = (bytes: number, results: number): void => {
    if (input.length < bytes) input = Buffer.alloc(Math.max(bytes, input.length * 2));
    if (output.length < results * RESULT_SIZE) output = Buffer.alloc(results * RESULT_SIZE);
  };
  const resultAt = (i: number): BatchFileResult => {
    const o = i * RESULT_SIZE;
    return {
      status: STATUSES[output.readInt32LE(o)] ?? 'failed',
      errno: output.readInt32LE(o + 4),
      step: BATCH_STEPS[output.readInt32LE(o + 8)] ?? '',
      bytes: Number(output.readBigInt64LE(o + 16)),
      doneMs: output.readDoubleLE(o + 24),
    };
  };
  const results = (n: number): BatchFileResult[] => {
    const out: BatchFileResult[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = resultAt(i);
    return out;
  };
  /** blit_read_batch on packed records; the bytes of `frames` used. */
  const readPacked = (recs: Uint8Array, n: number, noAtime: boolean | undefined): number => {
    let out = 0;
    for (let i = 0, off = 0; i < n; i++) {
      if (off + READ_HEADER > recs.length) throw new RangeError(`readRecords: ${n} records do not fit in ${recs.length} bytes`);
      const size = readRecordSize(recs, off);
      out += size + (size > 0 ? 51 : 34);
      off += readRecordLength(recs, off);
    }
    if (out > 0x7fffffff) throw new RangeError(`readBatch: ${out} bytes of frames in one call`);
    ensure(0, n);
    if (frames.length < out) frames = Buffer.alloc(Math.max(out, frames.length * 2));
    const input = recs.length >= 8 ? Buffer.from(recs.buffer, recs.byteOffset, recs.length) : Buffer.alloc(8);
    const used = readCall([input, recs.length, n, frames, frames.length, output, noAtime ? OPT_NOATIME : 0]);
    if (used < 0) throw new Error('readBatch: the native side rejected the batch (malformed record)');
    return used;
  };

  return {
    copyBatch(items, o) {
      const n = items.length;
      if (n > MAX_BATCH_FILES) throw new RangeError(`copyBatch: ${n} files, at most ${MAX_BATCH_FILES}`);
      let bytes = 0;
      for (const t of items) bytes += pad8(COPY_HEADER + t.src.length + t.dstDir.length + t.name.length);
      ensure(bytes, n);
      let off = 0;
      for (const t of items) {
        const len = pad8(COPY_HEADER + t.src.length + t.dstDir.length + t.name.length);
        if (t.size > o.scratch.length) throw new RangeError(`copyBatch: ${t.size} bytes exceed the scratch buffer`);
        input.writeUInt32LE(len, off);
        input.writeUInt32LE(t.src.length, off + 4);
        input.writeUInt32LE(t.dstDir.length, off + 8);
        input.writeUInt32LE(t.name.length, off + 12);
        input.writeBigInt64LE(BigInt(t.size), off + 16);
        input.writeBigInt64LE(t.mtimeExact ? t.mtimeNs : 0n, off + 24);
        input.writeDoubleLE(t.mtimeMs, off + 32);
        input.writeUInt32LE(t.mode >>> 0, off + 40);
        input.writeUInt32LE(t.uid >>> 0, off + 44);
        input.writeUInt32LE(t.gid >>> 0, off + 48);
        input.writeUInt32LE(t.mtimeExact ? 1 : 0, off + 52);
        let p = off + COPY_HEADER;
        p += input.write(t.src, p, 'latin1');
        p += input.write(t.dstDir, p, 'latin1');
        input.write(t.name, p, 'latin1');
        off += len;
      }
      const cancel = o.cancel ? Buffer.from(o.cancel.buffer, o.cancel.byteOffset, 8) : noCancel;
      const opts = (o.preserveOwner ? OPT_PRESERVE_OWNER : 0) | (o.noAtime ? OPT_NOATIME : 0) | (o.createParents ? OPT_CREATE_PARENTS : 0);
      const r = copy([input.subarray(0, Math.max(off, 8)), off, n, output, o.scratch, o.scratch.length, cancel, opts, o.umask, o.temp.prefix, o.temp.counter]);
      if (r < 0) throw new Error('copyBatch: the native side rejected the batch (malformed record)');
      return results(n);
    },

    writeBatch(items, o) {
      const n = items.length;
      let bytes = 0;
      let dataBytes = 0;
      for (const t of items) {
        bytes += pad8(WRITE_HEADER + t.dir.length + t.name.length);
        dataBytes += t.data.length;
      }
      ensure(bytes, n);
      // Contents that are all views of one ArrayBuffer (the remote receiver's packed batch) are
      // passed as that buffer with their offsets; others are gathered into one buffer first.
      const first = items[0]?.data.buffer;
      const shared = first && first.byteLength > 0 && items.every((t) => t.data.buffer === first) ? first : undefined;
      const data = shared ? Buffer.from(shared) : Buffer.allocUnsafe(Math.max(dataBytes, 1));
      let off = 0;
      let dataOff = 0;
      for (const t of items) {
        const len = pad8(WRITE_HEADER + t.dir.length + t.name.length);
        input.writeUInt32LE(len, off);
        input.writeUInt32LE(t.dir.length, off + 4);
        input.writeUInt32LE(t.name.length, off + 8);
        input.writeUInt32LE(t.mode >>> 0, off + 12);
        input.writeBigUInt64LE(BigInt(shared ? t.data.byteOffset : dataOff), off + 16);
        input.writeBigUInt64LE(BigInt(t.data.length), off + 24);
        input.writeBigInt64LE(t.mtimeNs, off + 32);
        input.writeUInt32LE(t.uid >>> 0, off + 40);
        input.writeUInt32LE(t.gid >>> 0, off + 44);
        input.writeInt32LE(t.dirFd ?? -1, off + 48);
        input.writeUInt32LE(0, off + 52);
        t.dir.copy(input, off + WRITE_HEADER);
        t.name.copy(input, off + WRITE_HEADER + t.dir.length);
        if (!shared) data.set(t.data, dataOff);
        dataOff += t.data.length;
        off += len;
      }
      const opts = o.preserveOwner ? OPT_PRESERVE_OWNER : 0;
      const r = write([input.subarray(0, Math.max(off, 8)), off, n, data, shared ? data.length : dataOff, output, opts, o.umask, o.temp.prefix, o.temp.counter]);
      if (r < 0) throw new Error('writeBatch: the native side rejected the batch (malformed record)');
      return results(n);
    },

    readBatch(items, o) {
      const n = items.length;
      if (n > MAX_BATCH_FILES) throw new RangeError(`readBatch: ${n} files, at most ${MAX_BATCH_FILES}`);
      const used = readPacked(packReadRecords(items), n, o?.noAtime);
      return { frames: frames.subarray(0, used), results: results(n) };
    },

    readRecords(recs, n, o) {
      if (n > MAX_BATCH_FILES) throw new RangeError(`readRecords: ${n} files, at most ${MAX_BATCH_FILES}`);
      const used = readPacked(recs, n, o?.noAtime);
      let bytes = 0;
      const failed: ReadRecordsResult['failed'] = [];
      const i32 = new Int32Array(output.buffer, output.byteOffset, n * (RESULT_SIZE / 4));
      for (let i = 0, w = 0; i < n; i++, w += RESULT_SIZE / 4) {
        if (i32[w] === 0) bytes += (i32[w + 4]! >>> 0) + i32[w + 5]! * 0x100000000;
        else failed.push({ at: i, result: resultAt(i) });
      }
      return { frames: frames.subarray(0, used), bytes, failed };
    },

    scan,
    scanDirId,
    scanDir(dirPath, follow) {
      const p = Buffer.concat([dirPath, ZERO]);
      return scanInto(() => scanCall([p, scan.data, scan.data.length, follow ? 1 : 0, scanIdOut]));
    },
    scanDirAt(dirfd, dirPath, resolve) {
      const p = Buffer.concat([dirPath, ZERO]);
      return scanInto(() => scanAtCall([dirfd, p, scan.data, scan.data.length, resolve, scanIdOut]));
    },
  };

  /** Run a scan into `scan`, growing it (and scanning again) while it is too small. */
  function scanInto(run: () => number): number {
    for (;;) {
      const r = run();
      if (r !== SCAN_TOO_SMALL) return r;
      // Too small: the bytes needed are in the first 8 (the directory may grow again: loop).
      const need = scan.f64[0]!;
      const next = scanRecords(Math.max(need + 64 * 1024, scan.data.length * 2));
      scan.data = next.data;
      scan.u32 = next.u32;
      scan.i32 = next.i32;
      scan.f64 = next.f64;
    }
  }
}

function scanRecords(bytes: number): ScanRecords {
  const ab = new ArrayBuffer((bytes + 7) & ~7);
  return { data: Buffer.from(ab), u32: new Uint32Array(ab), i32: new Int32Array(ab), f64: new Float64Array(ab) };
}

export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * An entry point of the library bound on its own (a library built before it existed still serves
 * the batch calls): `make` binds it once per thread through `bind` (name, parameters; returns i32).
 * The loader returns it, or undefined: no library, BLIT_NATIVE_BATCH=0, or the symbol missing.
 */
export function optionalEntry<T>(make: (bind: (name: string, params: Parameters<typeof bindRaw>[3]) => (args: unknown[]) => number, types: typeof FfiRs.DataType) => T): () => T | undefined {
  let cached: T | null | undefined;
  const loader = (): T | undefined => {
    if (cached !== undefined) return cached ?? undefined;
    cached = null;
    if (!loadNativeBatch()) return undefined;
    try {
      const ffi = require('ffi-rs') as typeof FfiRs;
      cached = make((name, params) => bindRaw(ffi, name, ffi.DataType.I32, params, false, LIBRARY) as (args: unknown[]) => number, ffi.DataType);
    } catch {
      cached = null;
    }
    return cached ?? undefined;
  };
  entryLoaders.push(loader);
  return loader;
}

/** Every optionalEntry's loader (bindAllEntries). */
const entryLoaders: Array<() => unknown> = [];

/** Load every optionalEntry registered so far (entries.ts bindAllEntries). */
export function loadOptionalEntries(): void {
  for (const load of entryLoaders) load();
}
