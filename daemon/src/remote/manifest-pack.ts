/**
 * Packed manifest entries (ManifestBatch.packed): the same fields as FileEntry, written back to
 * back into one `bytes` field instead of one protobuf message per entry. protobufjs spent
 * ~6 us per entry on each side building and decoding FileEntry objects (cpu-prof, 20k-file push);
 * this is one buffer write / read per field. Part of the wire boundary (see convert.ts): the
 * decoder trusts nothing and throws BadFrame on any record no honest peer sends.
 *
 * Record, integers little-endian:
 *   u8 kind (1 file, 2 dir, 3 symlink) | u8 flags (bit 0: checksum follows) | u32 path length |
 *   path | u64 size | i64 mtime (ns since the epoch) | u32 mode | u32 uid | u32 gid |
 *   symlink only: u32 target length | target |  flags bit 0: u8 checksum length | checksum
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import * as native from '@blit/native';
import type { Entry, EntryKind } from '../engine/types';
import type { ScanCursor } from '../engine/scan-dir';
import { EMPTY } from '../engine/paths';

const KIND_CODE: Record<EntryKind, number> = { file: 1, dir: 2, symlink: 3 };
const CODE_KIND: (EntryKind | undefined)[] = [undefined, 'file', 'dir', 'symlink'];
const FIXED = 1 + 1 + 4 + 8 + 8 + 4 + 4 + 4;
const HAS_CHECKSUM = 0x01;
const TWO_32 = 2 ** 32;
/** The high half of Number.MAX_SAFE_INTEGER (2^53 - 1): any size with a bigger one is refused. */
const MAX_SAFE_HIGH = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);
/** Longest path or link target accepted in a record (Linux PATH_MAX is 4096). */
const MAX_NAME = 64 * 1024;

export interface PackedEntry {
  entry: Entry;
  checksum: Buffer | undefined;
}

/** `starts`, when given, gets the byte offset of every record written (in order). */
export function packEntries(items: PackedEntry[], starts?: number[]): Buffer {
  const p = new ManifestPacker();
  for (const { entry, checksum } of items) p.addEntry(entry, checksum);
  const { buf, offsets } = p.take();
  if (starts) for (const o of offsets) starts.push(o);
  return buf;
}

const S = native.SCAN;
const S_IFMT = 0o170000;
const KIND_OF_TYPE = new Map<number, number>([[0o100000, 1], [0o040000, 2], [0o120000, 3]]);
/** Room for a record's fixed fields, a link target's length and a checksum (u8 length + ≤ 255 bytes). */
const RECORD_SLACK = FIXED + 4 + 1 + 255;

/**
 * Writes manifest records into one growing buffer; take() hands out the batch written so far.
 * Records come from Entries (addEntry) or straight from a native directory scan (addScan: no
 * Entry, path Buffer or BigInt per entry; the remote source's walk). Both write the same bytes
 * for the same file (tested).
 */
export class ManifestPacker {
  private buf = Buffer.allocUnsafe(128 * 1024);
  private dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private o = 0;
  private offsets: number[] = [];
  /** The last addScan wrote nothing: the entry's mtime does not fit the record (see addEntry). */
  outOfRange = false;

  /** Records in the current batch. */
  get count(): number {
    return this.offsets.length;
  }

  /** The current batch (a copy) and its records' byte offsets; the packer starts a new batch. */
  take(): { buf: Buffer; offsets: number[] } {
    const out = Buffer.allocUnsafe(this.o);
    this.buf.copy(out, 0, 0, this.o);
    const offsets = this.offsets;
    this.o = 0;
    this.offsets = [];
    return { buf: out, offsets };
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(next, 0, 0, this.o);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /**
   * Returns false, writing nothing, for an mtime the record cannot carry (past 2262 or before
   * 1677: i64 ns); the caller reports it (ManifestSource: a failure, the scan incomplete).
   */
  addEntry(e: Entry, checksum?: Buffer): boolean {
    if (!nsFits(e.mtimeNs)) return false;
    const target = e.kind === 'symlink' ? e.linkTarget ?? EMPTY : undefined;
    this.room(RECORD_SLACK + e.rel.length + (target?.length ?? 0));
    const out = this.buf;
    const dv = this.dv;
    let o = this.o;
    this.offsets.push(o);
    out[o] = KIND_CODE[e.kind];
    out[o + 1] = checksum ? HAS_CHECKSUM : 0;
    dv.setUint32(o + 2, e.rel.length, true);
    o += 6;
    o += copyInto(e.rel, 0, e.rel.length, out, o);
    // Size as two u32 halves: no BigInt per entry (sizes are safe integers, < 2^53).
    dv.setUint32(o, e.size % TWO_32, true);
    dv.setUint32(o + 4, Math.floor(e.size / TWO_32), true);
    dv.setBigInt64(o + 8, e.mtimeNs, true);
    dv.setUint32(o + 16, e.mode, true);
    dv.setUint32(o + 20, e.uid, true);
    dv.setUint32(o + 24, e.gid, true);
    o += 28;
    if (target !== undefined) {
      dv.setUint32(o, target.length, true);
      o += 4 + copyInto(target, 0, target.length, out, o + 4);
    }
    this.o = checksum ? this.putChecksum(o, checksum) : o;
    return true;
  }

  /**
   * The record of the scan cursor's current entry (err 0), named `dir`/name: the bytes addEntry
   * writes for the Entry the walk would build from it (ScanCursor.entry, exact ns). Returns the
   * kind code (1 file, 2 dir, 3 symlink), or 0 with nothing written for a socket, FIFO or device;
   * with an mtime the record cannot carry (see addEntry) it writes nothing and sets `outOfRange`.
   * No checksum: a --checksum source packs Entries (addEntry) once their files are hashed.
   */
  addScan(c: ScanCursor, dir: Buffer): number {
    const { u32, f64, data } = c.records;
    const r = c.off;
    const mode = u32[(r + S.MODE) >>> 2]!;
    const kind = KIND_OF_TYPE.get(mode & S_IFMT);
    if (kind === undefined) return 0;
    this.outOfRange = false;
    const nameLen = u32[(r + S.NAME_LEN) >>> 2]!;
    const linkLen = kind === 3 ? u32[(r + S.LINK_LEN) >>> 2]! : 0;
    const pathLen = dir.length === 0 ? nameLen : dir.length + 1 + nameLen;
    this.room(RECORD_SLACK + pathLen + linkLen);
    const out = this.buf;
    const dv = this.dv;
    const start = this.o;
    let o = start;
    this.offsets.push(o);
    out[o] = kind;
    out[o + 1] = 0;
    dv.setUint32(o + 2, pathLen, true);
    o += 6;
    if (dir.length > 0) {
      o += copyInto(dir, 0, dir.length, out, o);
      out[o++] = 0x2f;
    }
    const nameStart = r + S.HEADER;
    o += copyInto(data, nameStart, nameStart + nameLen, out, o);
    const size = kind === 1 ? f64[(r + S.SIZE) >>> 3]! : 0;
    dv.setUint32(o, size % TWO_32, true);
    dv.setUint32(o + 4, Math.floor(size / TWO_32), true);
    if (!putNs(dv, o + 8, f64[(r + S.MTIME_SEC) >>> 3]!, u32[(r + S.MTIME_NSEC) >>> 2]!)) {
      this.offsets.pop();
      this.outOfRange = true;
      return kind;
    }
    dv.setUint32(o + 16, mode & 0o7777, true);
    dv.setUint32(o + 20, u32[(r + S.UID) >>> 2]!, true);
    dv.setUint32(o + 24, u32[(r + S.GID) >>> 2]!, true);
    o += 28;
    if (kind === 3) {
      dv.setUint32(o, linkLen, true);
      o += 4 + copyInto(data, nameStart + nameLen, nameStart + nameLen + linkLen, out, o + 4);
    }
    this.o = o;
    return kind;
  }

  private putChecksum(o: number, sum: Buffer): number {
    this.buf[o] = sum.length;
    return o + 1 + copyInto(sum, 0, sum.length, this.buf, o + 1);
  }
}

/** Copies src[from, to) to dst at `at`; a loop for short runs (Buffer.copy costs ~0.15 µs a call). */
function copyInto(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  const n = to - from;
  if (n > 48) {
    dst.set(src.subarray(from, to), at);
    return n;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i]!;
  return n;
}

const TWO_16 = 2 ** 16;
/** |sec| below this: sec * 1e9 + nsec fits an i64 whatever nsec (and the split below is exact). */
const NS_SAFE_SEC = 9_223_372_036;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** A modification time the record's i64 ns can carry (about the years 1677-2262). */
export function nsFits(ns: bigint): boolean {
  return ns >= I64_MIN && ns <= I64_MAX;
}

/**
 * Writes sec * 1e9 + nsec as an i64 (little-endian) without a BigInt: sec = hi * 2^16 + lo, so
 * ns = (hi * 1e9 + floor((lo * 1e9 + nsec) / 2^16)) * 2^16 + (lo * 1e9 + nsec) mod 2^16, every
 * term an exact double; the top part then splits into the i64's two 32-bit halves. Returns false,
 * writing nothing, when the value does not fit an i64.
 */
export function putNs(dv: DataView, o: number, sec: number, nsec: number): boolean {
  if (!(Math.abs(sec) < NS_SAFE_SEC)) {
    const ns = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    if (!nsFits(ns)) return false;
    dv.setBigInt64(o, ns, true);
    return true;
  }
  const hi = Math.floor(sec / TWO_16);
  const low = (sec - hi * TWO_16) * 1e9 + nsec; // < 2^16 * 1e9 + 1e9 < 2^47
  const lowHigh = Math.floor(low / TWO_16);
  const top = hi * 1e9 + lowHigh; // ns >> 16: |top| < 2^48
  const topHigh = Math.floor(top / TWO_16); // ns >> 32 (signed)
  dv.setUint32(o, (top - topHigh * TWO_16) * TWO_16 + (low - lowHigh * TWO_16), true);
  dv.setInt32(o + 4, topHigh, true);
  return true;
}

function bad(what: string, path?: Buffer): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message: `packed manifest: ${what}`, ...(path ? { path: path.toString('utf8') } : {}) });
}

function need(buf: Buffer, o: number, n: number): void {
  if (o + n > buf.length) throw bad(`record truncated at byte ${o}`);
}

/**
 * Checks the record at `o` as decodeRecord does (same BadFrame errors) without decoding it.
 * A regular file with no flags: returns the byte after it (the caller may keep it packed: see
 * differ.ts PackedRecords). Anything else: returns -1 (decode it with decodeRecord).
 */
export function plainFileRecordEnd(buf: Buffer, o: number): number {
  need(buf, o, 6);
  const code = buf[o]!;
  const flags = buf[o + 1]!;
  if (code !== 1 || flags !== 0) return -1;
  const pathLen = buf.readUInt32LE(o + 2);
  if (pathLen > MAX_NAME) throw bad(`path of ${pathLen} bytes`);
  need(buf, o + 6, pathLen + 28);
  const end = o + 6 + pathLen;
  if (buf.readUInt32LE(end + 4) > MAX_SAFE_HIGH) return -1; // decodeRecord names the error
  return end + 28;
}

/** Decodes every record; entries share memory with `buf` (no copy per name). */
export function unpackEntries(buf: Buffer): PackedEntry[] {
  const out: PackedEntry[] = [];
  const at = { o: 0 };
  while (at.o < buf.length) out.push(decodeRecord(buf, at));
  return out;
}

/**
 * The regular file's record at byte `o` of a batch this process packed (ManifestSource keeps its
 * own): path (a view), size and ns mtime, or undefined for any other kind. What a sender needs
 * per needed file, without decodeRecord's Entry (mode, uid, gid) and wrapper objects.
 */
export function fileRecordAt(buf: Buffer, o: number): SentFile | undefined {
  if (buf[o] !== KIND_CODE.file) return undefined;
  const p = o + 6;
  const s = p + buf.readUInt32LE(o + 2);
  return { rel: buf.subarray(p, s), size: buf.readUInt32LE(s + 4) * TWO_32 + buf.readUInt32LE(s), mtimeNs: buf.readBigInt64LE(s + 8) };
}

/** What a sender knows of a file it sends (an Entry is one). */
export interface SentFile {
  rel: Buffer;
  size: number;
  mtimeNs: bigint;
}

/**
 * Decodes the record at `at.o` and moves `at.o` past it (the source decodes one record again when
 * it needs that entry: it keeps its packed batches, not an Entry per record).
 */
export function decodeRecord(buf: Buffer, at: { o: number }): PackedEntry {
  let o = at.o;
  need(buf, o, 6);
  const kind = CODE_KIND[buf[o]!];
  const flags = buf[o + 1]!;
  const pathLen = buf.readUInt32LE(o + 2);
  if (!kind) throw bad(`unknown entry kind ${buf[o]} at byte ${o}`);
  if (flags & ~HAS_CHECKSUM) throw bad(`unknown flags ${flags} at byte ${o}`);
  if (pathLen > MAX_NAME) throw bad(`path of ${pathLen} bytes`);
  o += 6;
  need(buf, o, pathLen + 28);
  const rel = buf.subarray(o, o + pathLen);
  o += pathLen;
  const sizeHigh = buf.readUInt32LE(o + 4);
  if (sizeHigh > MAX_SAFE_HIGH) throw bad(`invalid size ${buf.readBigUInt64LE(o)}`, rel);
  const size = sizeHigh * TWO_32 + buf.readUInt32LE(o);
  const entry: Entry = {
    rel,
    kind,
    size: kind === 'file' ? size : 0,
    mtimeNs: buf.readBigInt64LE(o + 8),
    mode: buf.readUInt32LE(o + 16) & 0o7777,
    uid: buf.readUInt32LE(o + 20),
    gid: buf.readUInt32LE(o + 24),
  };
  o += 28;
  if (kind === 'symlink') {
    need(buf, o, 4);
    const n = buf.readUInt32LE(o);
    if (n > MAX_NAME) throw bad(`link target of ${n} bytes`, rel);
    o += 4;
    need(buf, o, n);
    entry.linkTarget = buf.subarray(o, o + n);
    o += n;
  }
  let checksum: Buffer | undefined;
  if (flags & HAS_CHECKSUM) {
    need(buf, o, 1);
    const n = buf[o]!;
    o += 1;
    need(buf, o, n);
    checksum = n > 0 ? buf.subarray(o, o + n) : undefined;
    o += n;
  }
  at.o = o;
  return { entry, checksum };
}
