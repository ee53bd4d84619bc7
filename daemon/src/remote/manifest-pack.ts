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
import type { Entry, EntryKind } from '../engine/types';

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
  let total = 0;
  for (const { entry: e, checksum } of items) {
    total += FIXED + e.rel.length;
    if (e.kind === 'symlink') total += 4 + (e.linkTarget?.length ?? 0);
    if (checksum) total += 1 + checksum.length;
  }
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const { entry: e, checksum } of items) {
    starts?.push(o);
    out[o] = KIND_CODE[e.kind];
    out[o + 1] = checksum ? HAS_CHECKSUM : 0;
    out.writeUInt32LE(e.rel.length, o + 2);
    o += 6;
    o += e.rel.copy(out, o);
    // Size as two u32 halves: no BigInt per entry (sizes are safe integers, < 2^53).
    out.writeUInt32LE(e.size % TWO_32, o);
    out.writeUInt32LE(Math.floor(e.size / TWO_32), o + 4);
    out.writeBigInt64LE(e.mtimeNs, o + 8);
    out.writeUInt32LE(e.mode, o + 16);
    out.writeUInt32LE(e.uid, o + 20);
    out.writeUInt32LE(e.gid, o + 24);
    o += 28;
    if (e.kind === 'symlink') {
      const t = e.linkTarget ?? Buffer.alloc(0);
      out.writeUInt32LE(t.length, o);
      o += 4 + t.copy(out, o + 4);
    }
    if (checksum) {
      out[o] = checksum.length;
      o += 1 + checksum.copy(out, o + 1);
    }
  }
  return out;
}

function bad(what: string, path?: Buffer): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message: `packed manifest: ${what}`, ...(path ? { path: path.toString('utf8') } : {}) });
}

function need(buf: Buffer, o: number, n: number): void {
  if (o + n > buf.length) throw bad(`record truncated at byte ${o}`);
}

/** Decodes every record; entries share memory with `buf` (no copy per name). */
export function unpackEntries(buf: Buffer): PackedEntry[] {
  const out: PackedEntry[] = [];
  const at = { o: 0 };
  while (at.o < buf.length) out.push(decodeRecord(buf, at));
  return out;
}

/**
 * Decodes the record at `at.o` and moves `at.o` past it (the source decodes one record again when
 * the destination needs that file: it keeps its packed batches, not an Entry per record).
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
