/**
 * The march (rclone style): each source directory listing is matched by name against the same
 * directory in the destination, and every name lands in exactly one callback: srcOnly, dstOnly
 * (mirror deletion candidates) or both (compare; may be a type conflict, file vs dir). The
 * source listing can come from the local walker or from a manifest received over the network;
 * the destination is a local directory. Destination entries the filter excludes are never
 * reported (so a mirror never deletes them), and excluded destination directories are never
 * looked into. Only names present on both sides pay for an lstat on the destination.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import type { Filter } from './filter';
import type { DirListing } from './walk';
import { fastFileEntry, statEntry } from './walk';
import { isTempName } from './atomic';
import { join2 } from './paths';
import type { ListedDir, ListedEntry, QuickCheck } from './dest-lister';
import { msFromNs } from './compare';
import { ENOENT, nativeScanner, scanDir, ScanCursor } from './scan-dir';
import * as native from '@blit/native';
import { putNs } from '../remote/manifest-pack';

/** One destination entry read by the native scan: its Entry (null: socket/FIFO/device or vanished), or the lstat errno. */
interface DstRec {
  name: Buffer;
  /** For destination-only names: the kind by lstat (readdir's d_type when it failed). */
  kind: Entry['kind'] | null;
  entry: Entry | null;
  err: number;
}
const NO_REL = Buffer.alloc(0);
const S = native.SCAN;
const TWO_32 = 2 ** 32;

/** The u64 size of a packed record whose path ends at `end` (checked safe by the caller). */
function recordSize(b: Uint8Array, end: number): number {
  return u32le(b, end) + u32le(b, end + 4) * TWO_32;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** Is the record's i64 ns at b[o] exactly sec * 1e9 + nsec (putNs's arithmetic, no BigInt)? */
function nsEqual(b: Uint8Array, o: number, sec: number, nsec: number): boolean {
  if (!putNs(nsScratch, 0, sec, nsec)) return false;
  return nsScratch.getUint32(0, true) === u32le(b, o) && nsScratch.getUint32(4, true) === u32le(b, o + 4);
}
/** diffMerged: this source entry passed the quick check. */
const SAME = 1;

/**
 * Every source callback also gets the entry's position in the listing (`i`), so a caller can keep
 * per-entry data in arrays beside the listing instead of a map keyed by entry.
 */
export interface DiffCallbacks {
  srcOnly(src: Entry, i: number): void;
  dstOnly(dst: Entry): void;
  both(src: Entry, dst: Entry, i: number): void;
  /**
   * Optional fast path: a regular file the destination lister (or the differ's own quick check,
   * see Differ's `quick`) already found identical by the quick check (size+mtime, or size with
   * --size-only). Without it, both(src, copy of src) is called.
   */
  same?(src: Entry, i: number): void;
  /** Optional: a blit temp file (`.blit.*.tmp`) in the destination, never a deletion candidate. */
  tempFile?(rel: Buffer): void;
  /**
   * Optional, with a packed listing (MarchListing.packed): `same` for a packed record whose Entry
   * was not built (the callee may build it with packed.entryAt(i)). Without it, same(entry, i).
   */
  sameIndex?(i: number): void;
}

/**
 * Regular-file records a listing keeps packed (a remote manifest's wire bytes) instead of as
 * Entries: for each position i with offs[i] >= 0, entries[i] is unset until entryAt(i) decodes
 * it, and the record in bufs[i] at offs[i] was checked by the caller (kind file, no flags, path
 * length and size within the bounds decodeRecord checks; see manifest-pack.ts for the layout).
 */
export interface PackedRecords {
  bufs: Buffer[];
  offs: number[];
  /** entries[i], decoded from its record and kept there when not built yet. */
  entryAt(i: number): Entry;
}

export interface MarchListing extends DirListing {
  packed?: PackedRecords;
}

/** Every entry of a packed listing decoded (the march paths other than diffMerged read entries[]). */
function materialize(listing: MarchListing): void {
  const p = listing.packed;
  if (p === undefined) return;
  for (let i = 0; i < listing.entries.length; i++) if (listing.entries[i] === undefined) p.entryAt(i);
}

/** Scratch for a destination mtime as the manifest's i64 ns (two u32 halves). */
const nsScratch = new DataView(new ArrayBuffer(8));

function direntKind(d: fs.Dirent<Buffer>): Entry['kind'] | null {
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  return null;
}

/**
 * a[aStart, aEnd) against b[bStart, bEnd) as Buffer.compare orders them (bytes unsigned, a prefix
 * first), by its sign. A loop: names are short, and Buffer.compare with offsets cost ~0.1 µs a
 * call in its argument checks and the call into C++ (two calls per entry in diffMerged).
 */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const la = aEnd - aStart;
  const lb = bEnd - bStart;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

export class Differ {
  /** Destination directories known not to exist (their source dir was srcOnly or replaced). */
  private readonly missing = new Set<string>();

  /**
   * fastStat: regular files on the destination get cheap stats (see WalkOptions.fastStat).
   * quick: the quick check the differ may apply itself on the native scan when the caller has a
   * `same` callback ('default': size and Node's double-ms mtime, as decideFile compares a fast
   * destination entry; 'size-only'; null: never, every matched name goes to `both`).
   * scanAt: the daemon's contained native scan of destination directory `rel` (DirAnchor.scanDir:
   * one openat2 beneath the module root inside the scan; PathEscape for a swap). The node:fs path
   * (no native scanner) reads the joined path: the anchor then has no openat2 either (it comes
   * from the same library) and hands out joined paths.
   * owners: the quick check also wants equal uid/gid (owners preserved); the mode always. A file
   * whose content passes but whose mode/owner differs goes to `both` (decideFile: skip, then a
   * chmod/chown only), read in the same pass from the scan record: no extra call.
   */
  constructor(
    private readonly dstRootAbs: Buffer,
    private readonly filter?: Filter,
    private readonly fastStat = false,
    private readonly quick: QuickCheck = null,
    private readonly scanAt?: (nb: native.NativeBatch, rel: Buffer) => number,
    private readonly owners = false,
  ) {}

  /** The scan record under the cursor has this mode (and owner, when owners count). */
  private sameMeta(c: ScanCursor, mode: number, uid: number, gid: number): boolean {
    if ((c.mode & 0o7777) !== mode) return false;
    if (!this.owners) return true;
    const { u32 } = c.records;
    return u32[(c.off + S.UID) >>> 2] === uid && u32[(c.off + S.GID) >>> 2] === gid;
  }

  /** The destination directory `rel` does not exist: do not read it when its listing arrives. */
  markMissing(rel: Buffer): void {
    this.missing.add(rel.toString('latin1'));
  }

  /**
   * Match one source listing against the destination. Throws if the destination directory exists
   * but cannot be read (the caller reports it and must not delete anything under it).
   */
  diff(listing: MarchListing, cb: DiffCallbacks, prefetched?: ListedDir): void {
    const key = listing.dir.toString('latin1');
    let dirents: fs.Dirent<Buffer>[] | null = null;
    if (this.missing.has(key)) {
      this.missing.delete(key);
      materialize(listing);
    } else if (prefetched !== undefined) {
      materialize(listing);
      this.diffPrefetched(listing, cb, prefetched);
      return;
    } else if (nativeScanner() !== undefined) {
      this.diffNative(listing, cb);
      return;
    } else {
      materialize(listing);
      try {
        dirents = fs.readdirSync(join2(this.dstRootAbs, listing.dir), { withFileTypes: true, encoding: 'buffer' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
    }
    if (dirents === null) {
      this.allSrcOnly(listing, cb);
      return;
    }
    const dst = new Map<string, fs.Dirent<Buffer>>();
    for (const d of dirents) dst.set(d.name.toString('latin1'), d);
    const dirAbs = join2(this.dstRootAbs, listing.dir);
    for (let i = 0; i < listing.entries.length; i++) {
      const e = listing.entries[i]!;
      const slash = e.rel.lastIndexOf(0x2f);
      const name = slash < 0 ? e.rel : e.rel.subarray(slash + 1);
      const nameKey = name.toString('latin1');
      const d = dst.get(nameKey);
      if (d === undefined) {
        this.srcOnly(e, i, cb);
        continue;
      }
      dst.delete(nameKey);
      let de: Entry | null = null;
      try {
        de = this.fastStat && d.isFile() ? fastFileEntry(join2(dirAbs, d.name), e.rel) : statEntry(join2(dirAbs, d.name), e.rel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (de === null) {
        // Vanished, or a socket/FIFO/device: the source entry replaces it.
        this.srcOnly(e, i, cb);
        continue;
      }
      if (e.kind === 'dir' && de.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, de, i);
    }
    this.reportDstOnly(listing.dir, [...dst.values()].map((d) => [d.name, direntKind(d) ?? 'file'] as const), cb);
  }

  /**
   * The same march with the destination directory read by one native call (scan-dir.ts): every
   * entry comes with its lstat, so a matched name costs no further call. The records are decoded
   * before any callback runs (the walk on this thread reuses the scan buffer). Below the root a
   * directory is opened O_NOFOLLOW: a symlink there (ELOOP) is "no such directory", like ENOTDIR.
   */
  private diffNative(listing: MarchListing, cb: DiffCallbacks): void {
    const nb = nativeScanner()!;
    // With scanAt (the daemon's contained scan) the joined path only names an entry in an error.
    const dirAbs = join2(this.dstRootAbs, listing.dir);
    let n = -1;
    try {
      n = this.scanAt !== undefined ? this.scanAt(nb, listing.dir) : scanDir(nb, dirAbs, listing.dir.length === 0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
    }
    if (n < 0) {
      materialize(listing);
      this.allSrcOnly(listing, cb);
      return;
    }
    const c = (this.cursor ??= new ScanCursor(nb));
    if (this.quick !== null && cb.same !== undefined && this.diffMerged(listing, cb, c, n, dirAbs)) return;
    materialize(listing);
    const dst = new Map<string, DstRec>();
    c.reset();
    for (let k = 0; k < n; k++, c.next()) {
      const err = c.err;
      const entry = err === 0 ? c.entry(NO_REL, this.fastStat) : null;
      dst.set(c.nameLatin1(), { name: c.joinName(NO_REL), kind: c.isDir ? 'dir' : c.isFile ? 'file' : c.isSymlink ? 'symlink' : null, entry, err });
    }
    for (let i = 0; i < listing.entries.length; i++) {
      const e = listing.entries[i]!;
      const slash = e.rel.lastIndexOf(0x2f);
      const name = slash < 0 ? e.rel : e.rel.subarray(slash + 1);
      const nameKey = name.toString('latin1');
      const d = dst.get(nameKey);
      if (d === undefined) {
        this.srcOnly(e, i, cb);
        continue;
      }
      dst.delete(nameKey);
      if (d.err !== 0 && d.err !== ENOENT) throw new native.NativeError(d.err, 'lstat', join2(dirAbs, d.name));
      const de = d.entry;
      if (de === null) {
        // Vanished, or a socket/FIFO/device: the source entry replaces it.
        this.srcOnly(e, i, cb);
        continue;
      }
      de.rel = e.rel;
      if (e.kind === 'dir' && de.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, de, i);
    }
    this.reportDstOnly(listing.dir, [...dst.values()].map((d) => [d.name, d.kind ?? 'file'] as const), cb);
  }

  /**
   * diffNative's march as a merge of two sorted lists, with the quick check done here: the scan
   * is sorted by strcmp and a source listing from the walker is too, so names are compared in
   * place (no Entry, Buffer, string or map entry per destination record), and a regular file that
   * passes the quick check costs a few typed-array reads and one `same` call. Returns false, with
   * no callback called, when the source names are not strictly ascending (a manifest is not
   * trusted to be sorted): the caller then marches with a map. Every record is decoded before the
   * first callback runs (a callback may scan another directory into the same buffer).
   */
  private diffMerged(listing: MarchListing, cb: DiffCallbacks, c: ScanCursor, n: number, dirAbs: Buffer): boolean {
    const entries = listing.entries;
    const packed = listing.packed;
    const data = c.data;
    const { u32, f64 } = c.records;
    const sizeOnly = this.quick === 'size-only';
    // Per source entry: SAME, the matched destination Entry, or null (nothing usable there).
    const res: Array<Entry | null | typeof SAME> = new Array(entries.length);
    const dstOnly: Array<readonly [Buffer, Entry['kind']]> = [];
    let prev: Uint8Array | undefined;
    let prevStart = 0;
    let prevEnd = 0;
    c.reset();
    let k = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      // The source name: rel[start, end) of the Entry, or of the packed record (not decoded).
      let rel: Uint8Array;
      let end: number;
      let start: number;
      let rec = -1;
      if (e !== undefined) {
        rel = e.rel;
        end = rel.length;
        start = e.rel.lastIndexOf(0x2f) + 1;
      } else {
        rel = packed!.bufs[i]!;
        rec = packed!.offs[i]!;
        const relStart = rec + 6;
        end = relStart + (rel[rec + 2]! | (rel[rec + 3]! << 8) | (rel[rec + 4]! << 16)) + rel[rec + 5]! * 0x1000000;
        start = end;
        while (start > relStart && rel[start - 1] !== 0x2f) start--;
      }
      if (prev !== undefined && compareBytes(rel, start, end, prev, prevStart, prevEnd) <= 0) return false;
      prev = rel;
      prevStart = start;
      prevEnd = end;
      let cmp = 1;
      // Destination names below this one exist only there.
      while (k < n) {
        const ns = c.nameStart;
        cmp = compareBytes(data, ns, ns + c.nameLen, rel, start, end);
        if (cmp >= 0) break;
        dstOnly.push([c.joinName(NO_REL), c.isDir ? 'dir' : c.isFile ? 'file' : c.isSymlink ? 'symlink' : 'file']);
        k++;
        c.next();
      }
      if (k >= n || cmp !== 0) {
        res[i] = null;
        continue;
      }
      const err = c.err;
      if (err !== 0 && err !== ENOENT) throw new native.NativeError(err, 'lstat', join2(dirAbs, c.joinName(NO_REL)));
      if (err !== 0) res[i] = null; // vanished between readdir and lstat
      else if (e !== undefined) {
        if (e.kind === 'file' && c.isFile && c.size === e.size && (sizeOnly || c.mtimeMs === (e.mtimeMs ?? msFromNs(e.mtimeNs))) && this.sameMeta(c, e.mode, e.uid, e.gid)) res[i] = SAME;
        else res[i] = c.entry(e.rel, this.fastStat);
      } else if (c.isFile && c.size === recordSize(rel, end) && (sizeOnly || nsEqual(rel, end + 8, f64[(c.off + S.MTIME_SEC) >>> 3]!, u32[(c.off + S.MTIME_NSEC) >>> 2]!)) && this.sameMeta(c, u32le(rel, end + 16), u32le(rel, end + 20), u32le(rel, end + 24))) {
        // A packed file record with the destination's size and exactly its mtime in ns (then the
        // double-ms rule above holds too); anything else is decoded and compared by that rule.
        res[i] = SAME;
      } else {
        const pe = packed!.entryAt(i);
        if (c.isFile && c.size === pe.size && (sizeOnly || c.mtimeMs === msFromNs(pe.mtimeNs)) && this.sameMeta(c, pe.mode, pe.uid, pe.gid)) res[i] = SAME;
        else res[i] = c.entry(pe.rel, this.fastStat);
      }
      k++;
      c.next();
    }
    for (; k < n; k++, c.next()) dstOnly.push([c.joinName(NO_REL), c.isDir ? 'dir' : c.isFile ? 'file' : c.isSymlink ? 'symlink' : 'file']);
    for (let i = 0; i < entries.length; i++) {
      const d = res[i]!;
      if (d === SAME) {
        if (entries[i] === undefined && cb.sameIndex !== undefined) cb.sameIndex(i);
        else cb.same!(entries[i] ?? packed!.entryAt(i), i);
        continue;
      }
      const e = entries[i] ?? packed!.entryAt(i);
      if (d === null) this.srcOnly(e, i, cb); // missing, vanished, or a socket/FIFO/device
      else {
        if (e.kind === 'dir' && d.kind !== 'dir') this.markMissing(e.rel);
        cb.both(e, d, i);
      }
    }
    this.reportDstOnly(listing.dir, dstOnly, cb);
    return true;
  }

  private cursor: ScanCursor | undefined;

  /** A source entry with nothing under its name here; a source directory is then missing too. */
  private srcOnly(e: Entry, i: number, cb: DiffCallbacks): void {
    if (e.kind === 'dir') this.markMissing(e.rel);
    cb.srcOnly(e, i);
  }

  /** The destination directory does not exist: every entry of the listing is source-only. */
  private allSrcOnly(listing: DirListing, cb: DiffCallbacks): void {
    for (let i = 0; i < listing.entries.length; i++) this.srcOnly(listing.entries[i]!, i, cb);
  }

  /** The same march with the destination side listed (and quick-checked) by a DestLister thread. */
  private diffPrefetched(listing: DirListing, cb: DiffCallbacks, listed: ListedDir): void {
    if ('error' in listed) throw Object.assign(new Error(listed.error.message), { code: listed.error.code });
    if (!listed.exists) {
      this.allSrcOnly(listing, cb);
      return;
    }
    const byIndex: Array<ListedEntry | undefined> = new Array(listing.entries.length);
    for (const m of listed.matched) byIndex[m.index] = m;
    for (let i = 0; i < listing.entries.length; i++) {
      const e = listing.entries[i]!;
      if (listed.same[i] === 1) {
        if (cb.same) cb.same(e, i);
        else cb.both(e, { ...e }, i); // identical by the quick check
        continue;
      }
      const d = byIndex[i];
      if (d === undefined || d.kind === null) {
        this.srcOnly(e, i, cb);
        continue;
      }
      if (e.kind === 'dir' && d.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, {
        rel: e.rel,
        kind: d.kind,
        size: d.size,
        mtimeNs: d.mtimeNs,
        mode: d.mode,
        uid: d.uid,
        gid: d.gid,
        linkTarget: d.linkTarget === undefined ? undefined : Buffer.from(d.linkTarget, 'latin1'),
        blocks: d.blocks,
        mtimeMs: d.mtimeMs,
      }, i);
    }
    this.reportDstOnly(listing.dir, listed.dstOnly.map((d) => [Buffer.from(d.name, 'latin1'), d.kind ?? 'file'] as const), cb);
  }

  private reportDstOnly(dir: Buffer, rest: ReadonlyArray<readonly [Buffer, Entry['kind']]>, cb: DiffCallbacks): void {
    for (const [name, kind] of rest) {
      if (isTempName(name)) {
        cb.tempFile?.(join2(dir, name));
        continue;
      }
      const rel = join2(dir, name);
      if (this.filter?.active && this.filter.excludes(rel, kind === 'dir')) continue;
      cb.dstOnly({ rel, kind, size: 0, mtimeNs: 0n, mode: 0, uid: 0, gid: 0 });
    }
  }
}
