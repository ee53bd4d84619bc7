/**
 * One directory in one native call (blit_scan_dir in native/csrc/blit_scan.c): readdir plus an
 * lstat of every entry, relative to the directory fd, packed into one buffer. The JS path costs a
 * readdir and then one lstat call per entry (plus a Stats object, four Dates and, for exact
 * stats, 18 BigInts each); this is one foreign call per directory and a few typed-array reads per
 * entry. Used by the walk (sources, local and remote) and the destination listers. Undefined when
 * the native library is missing or BLIT_NATIVE_BATCH=0: callers keep their node:fs path.
 */
import * as native from '@blit/native';
import { isTempNameAt } from './atomic';
import { MTIME_NS_UNKNOWN, type Entry, type EntryKind } from './types';

const S = native.SCAN;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
export const ENOENT = 2;

/** The kind an lstat mode (st_mode) is, or null for a socket, FIFO or device (not transferred). */
export function kindOfMode(mode: number): EntryKind | null {
  const type = mode & S_IFMT;
  return type === S_IFREG ? 'file' : type === S_IFDIR ? 'dir' : type === S_IFLNK ? 'symlink' : null;
}

export const isDirMode = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;

let scanner: native.NativeBatch | null | undefined;

/** This thread's native scanner, or undefined (see the file comment). */
export function nativeScanner(): native.NativeBatch | undefined {
  if (scanner === undefined) scanner = native.loadNativeBatch() ?? null;
  return scanner ?? undefined;
}

/**
 * Scan `abs`; returns the entry count (records in nb.scan) or throws a NativeError naming the
 * directory (same code and message shape as fs.readdirSync's: "EACCES: permission denied, scandir '...'").
 * `follow`: a walk root may be a symlink to a directory (readdirSync followed it); children never are.
 */
export function scanDir(nb: native.NativeBatch, abs: Buffer, follow: boolean): number {
  const n = nb.scanDir(abs, follow);
  if (n < 0) throw new native.NativeError(-n, 'scandir', abs);
  return n;
}

/** Cursor over the records of the last scan: `next()` moves to the following record. */
export class ScanCursor {
  off = 0;
  constructor(private readonly nb: native.NativeBatch) {}

  reset(): void {
    this.off = 0;
  }
  next(): void {
    this.off += this.nb.scan.u32[this.off >>> 2]!;
  }
  get err(): number {
    return this.nb.scan.i32[(this.off + S.ERR) >>> 2]!;
  }
  get mode(): number {
    return this.nb.scan.u32[(this.off + S.MODE) >>> 2]!;
  }
  get nameLen(): number {
    return this.nb.scan.u32[(this.off + S.NAME_LEN) >>> 2]!;
  }
  /** Directory by the stat (or readdir's d_type when the stat failed), as Dirent.isDirectory(). */
  get isDir(): boolean {
    return this.err === 0 ? (this.mode & S_IFMT) === S_IFDIR : this.dType === DT_DIR;
  }
  get isFile(): boolean {
    return this.err === 0 ? (this.mode & S_IFMT) === S_IFREG : this.dType === DT_REG;
  }
  get isSymlink(): boolean {
    return this.err === 0 ? (this.mode & S_IFMT) === S_IFLNK : this.dType === DT_LNK;
  }
  get dType(): number {
    return this.nb.scan.u32[(this.off + S.D_TYPE) >>> 2]!;
  }
  /** The records of the last scan (typed views over one buffer; record `off` is the current one). */
  get records(): native.ScanRecords {
    return this.nb.scan;
  }
  /** The scan buffer (records of the last scan); the name of this record is at nameStart. */
  get data(): Buffer {
    return this.nb.scan.data;
  }
  get nameStart(): number {
    return this.off + S.HEADER;
  }
  /** st_size (meaningful for err === 0). */
  get size(): number {
    return this.nb.scan.f64[(this.off + S.SIZE) >>> 3]!;
  }
  /** The name as latin1 text (one char per byte: byte-exact, like the engine's names). */
  nameLatin1(): string {
    const start = this.off + S.HEADER;
    return this.nb.scan.data.toString('latin1', start, start + this.nameLen);
  }
  /** Is this record's name one of blit's temp names (atomic.ts isTempName)? */
  get isBlitTempName(): boolean {
    return isTempNameAt(this.nb.scan.data, this.off + S.HEADER, this.nameLen);
  }
  nameEquals(b: Buffer): boolean {
    const len = this.nameLen;
    if (len !== b.length) return false;
    const start = this.off + S.HEADER;
    return this.nb.scan.data.compare(b, 0, len, start, start + len) === 0;
  }
  /** dir + '/' + name as a new Buffer (just the name when dir is empty). */
  joinName(dir: Buffer): Buffer {
    const len = this.nameLen;
    const start = this.off + S.HEADER;
    if (dir.length === 0) {
      const out = Buffer.allocUnsafe(len);
      this.nb.scan.data.copy(out, 0, start, start + len);
      return out;
    }
    const out = Buffer.allocUnsafe(dir.length + 1 + len);
    dir.copy(out, 0);
    out[dir.length] = 0x2f;
    this.nb.scan.data.copy(out, dir.length + 1, start, start + len);
    return out;
  }
  /** Node's double-ms mtime, bit-identical to Stats.mtimeMs (sec * 1e3 + nsec / 1e6). */
  get mtimeMs(): number {
    const f = this.nb.scan.f64;
    return f[(this.off + S.MTIME_SEC) >>> 3]! * 1e3 + this.nb.scan.u32[(this.off + S.MTIME_NSEC) >>> 2]! / 1e6;
  }
  get mtimeNs(): bigint {
    return BigInt(this.mtimeSec) * 1_000_000_000n + BigInt(this.mtimeNsec);
  }
  /** mtime as whole seconds (floor) and nanoseconds in [0, 1e9). */
  get mtimeSec(): number {
    return this.nb.scan.f64[(this.off + S.MTIME_SEC) >>> 3]!;
  }
  get mtimeNsec(): number {
    return this.nb.scan.u32[(this.off + S.MTIME_NSEC) >>> 2]!;
  }
  /** st_blocks (512-byte units). */
  get blocks(): number {
    return this.nb.scan.f64[(this.off + S.BLOCKS) >>> 3]!;
  }
  get uid(): number {
    return this.nb.scan.u32[(this.off + S.UID) >>> 2]!;
  }
  get gid(): number {
    return this.nb.scan.u32[(this.off + S.GID) >>> 2]!;
  }
  /** A symlink record's target, copied out of the scan buffer (the scan stored it after the name). */
  linkTarget(): Buffer {
    const { u32, data } = this.nb.scan;
    const start = this.off + S.HEADER + u32[(this.off + S.NAME_LEN) >>> 2]!;
    const target = Buffer.allocUnsafe(u32[(this.off + S.LINK_LEN) >>> 2]!);
    data.copy(target, 0, start, start + target.length);
    return target;
  }

  /**
   * The Entry of this record (statEntry / fastFileEntry rules), or null for a socket, FIFO or
   * device. Only for records with err === 0. `fast`: regular files get mtimeMs and an unknown ns.
   */
  entry(rel: Buffer, fast: boolean): Entry | null {
    const { u32, f64 } = this.nb.scan;
    const o = this.off;
    const mode = u32[(o + S.MODE) >>> 2]!;
    const kind = kindOfMode(mode);
    if (kind === null) return null;
    const linkTarget = kind === 'symlink' ? this.linkTarget() : undefined;
    const quick = fast && kind === 'file';
    // One object literal with every field in a fixed order: one hidden class for all entries (walk.ts).
    return {
      rel,
      kind,
      size: kind === 'file' ? f64[(o + S.SIZE) >>> 3]! : 0,
      mtimeNs: quick ? MTIME_NS_UNKNOWN : this.mtimeNs,
      mode: mode & 0o7777,
      uid: u32[(o + S.UID) >>> 2]!,
      gid: u32[(o + S.GID) >>> 2]!,
      linkTarget,
      blocks: f64[(o + S.BLOCKS) >>> 3]!,
      mtimeMs: quick ? this.mtimeMs : undefined,
    };
  }
}
