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
import type { ListedDir, ListedEntry } from './dest-lister';
import { ENOENT, nativeScanner, scanDir, ScanCursor } from './scan-dir';
import * as native from '@blit/native';

/** One destination entry read by the native scan: its Entry (null: socket/FIFO/device or vanished), or the lstat errno. */
interface DstRec {
  name: Buffer;
  /** For destination-only names: the kind by lstat (readdir's d_type when it failed). */
  kind: Entry['kind'] | null;
  entry: Entry | null;
  err: number;
}
const NO_REL = Buffer.alloc(0);

export interface DiffCallbacks {
  srcOnly(src: Entry): void;
  dstOnly(dst: Entry): void;
  both(src: Entry, dst: Entry): void;
  /**
   * Optional fast path: a regular file the destination lister already found identical by the
   * quick check (size+mtime, or size with --size-only). Without it, both(src, copy of src) is called.
   */
  same?(src: Entry): void;
  /** Optional: a blit temp file (`.blit.*.tmp`) in the destination, never a deletion candidate. */
  tempFile?(rel: Buffer): void;
}

function direntKind(d: fs.Dirent<Buffer>): Entry['kind'] | null {
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  return null;
}

export class Differ {
  /** Destination directories known not to exist (their source dir was srcOnly or replaced). */
  private readonly missing = new Set<string>();

  /** fastStat: regular files on the destination get cheap stats (see WalkOptions.fastStat). */
  constructor(private readonly dstRootAbs: Buffer, private readonly filter?: Filter, private readonly fastStat = false) {}

  /** The destination directory `rel` does not exist: do not read it when its listing arrives. */
  markMissing(rel: Buffer): void {
    this.missing.add(rel.toString('latin1'));
  }

  /**
   * Match one source listing against the destination. Throws if the destination directory exists
   * but cannot be read (the caller reports it and must not delete anything under it).
   */
  diff(listing: DirListing, cb: DiffCallbacks, prefetched?: ListedDir): void {
    const key = listing.dir.toString('latin1');
    let dirents: fs.Dirent<Buffer>[] | null = null;
    if (this.missing.has(key)) {
      this.missing.delete(key);
    } else if (prefetched !== undefined) {
      this.diffPrefetched(listing, cb, prefetched);
      return;
    } else if (nativeScanner() !== undefined) {
      this.diffNative(listing, cb);
      return;
    } else {
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
    for (const e of listing.entries) {
      const slash = e.rel.lastIndexOf(0x2f);
      const name = slash < 0 ? e.rel : e.rel.subarray(slash + 1);
      const nameKey = name.toString('latin1');
      const d = dst.get(nameKey);
      if (d === undefined) {
        this.srcOnly(e, cb);
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
        this.srcOnly(e, cb);
        continue;
      }
      if (e.kind === 'dir' && de.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, de);
    }
    this.reportDstOnly(listing.dir, [...dst.values()].map((d) => [d.name, direntKind(d) ?? 'file'] as const), cb);
  }

  /**
   * The same march with the destination directory read by one native call (scan-dir.ts): every
   * entry comes with its lstat, so a matched name costs no further call. The records are decoded
   * before any callback runs (the walk on this thread reuses the scan buffer). Below the root a
   * directory is opened O_NOFOLLOW: a symlink there (ELOOP) is "no such directory", like ENOTDIR.
   */
  private diffNative(listing: DirListing, cb: DiffCallbacks): void {
    const nb = nativeScanner()!;
    const dirAbs = join2(this.dstRootAbs, listing.dir);
    let n = -1;
    try {
      n = scanDir(nb, dirAbs, listing.dir.length === 0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
    }
    if (n < 0) {
      this.allSrcOnly(listing, cb);
      return;
    }
    const c = (this.cursor ??= new ScanCursor(nb));
    const dst = new Map<string, DstRec>();
    c.reset();
    for (let k = 0; k < n; k++, c.next()) {
      const err = c.err;
      const entry = err === 0 ? c.entry(NO_REL, this.fastStat) : null;
      dst.set(c.nameLatin1(), { name: c.joinName(NO_REL), kind: c.isDir ? 'dir' : c.isFile ? 'file' : c.isSymlink ? 'symlink' : null, entry, err });
    }
    for (const e of listing.entries) {
      const slash = e.rel.lastIndexOf(0x2f);
      const name = slash < 0 ? e.rel : e.rel.subarray(slash + 1);
      const nameKey = name.toString('latin1');
      const d = dst.get(nameKey);
      if (d === undefined) {
        this.srcOnly(e, cb);
        continue;
      }
      dst.delete(nameKey);
      if (d.err !== 0 && d.err !== ENOENT) throw new native.NativeError(d.err, 'lstat', join2(dirAbs, d.name));
      const de = d.entry;
      if (de === null) {
        // Vanished, or a socket/FIFO/device: the source entry replaces it.
        this.srcOnly(e, cb);
        continue;
      }
      de.rel = e.rel;
      if (e.kind === 'dir' && de.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, de);
    }
    this.reportDstOnly(listing.dir, [...dst.values()].map((d) => [d.name, d.kind ?? 'file'] as const), cb);
  }

  private cursor: ScanCursor | undefined;

  /** A source entry with nothing under its name here; a source directory is then missing too. */
  private srcOnly(e: Entry, cb: DiffCallbacks): void {
    if (e.kind === 'dir') this.markMissing(e.rel);
    cb.srcOnly(e);
  }

  /** The destination directory does not exist: every entry of the listing is source-only. */
  private allSrcOnly(listing: DirListing, cb: DiffCallbacks): void {
    for (const e of listing.entries) this.srcOnly(e, cb);
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
        if (cb.same) cb.same(e);
        else cb.both(e, { ...e }); // identical by the quick check
        continue;
      }
      const d = byIndex[i];
      if (d === undefined || d.kind === null) {
        this.srcOnly(e, cb);
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
      });
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
