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

export interface DiffCallbacks {
  srcOnly(src: Entry): void;
  dstOnly(dst: Entry): void;
  both(src: Entry, dst: Entry): void;
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
  diff(listing: DirListing, cb: DiffCallbacks): void {
    const key = listing.dir.toString('latin1');
    let dirents: fs.Dirent<Buffer>[] | null = null;
    if (this.missing.has(key)) {
      this.missing.delete(key);
    } else {
      try {
        dirents = fs.readdirSync(join2(this.dstRootAbs, listing.dir), { withFileTypes: true, encoding: 'buffer' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
    }
    if (dirents === null) {
      for (const e of listing.entries) {
        if (e.kind === 'dir') this.markMissing(e.rel);
        cb.srcOnly(e);
      }
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
        if (e.kind === 'dir') this.markMissing(e.rel);
        cb.srcOnly(e);
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
        if (e.kind === 'dir') this.markMissing(e.rel);
        cb.srcOnly(e);
        continue;
      }
      if (e.kind === 'dir' && de.kind !== 'dir') this.markMissing(e.rel);
      cb.both(e, de);
    }
    for (const d of dst.values()) {
      if (isTempName(d.name)) continue;
      const kind = direntKind(d) ?? 'file';
      const rel = join2(listing.dir, d.name);
      if (this.filter?.active && this.filter.excludes(rel, kind === 'dir')) continue;
      cb.dstOnly({ rel, kind, size: 0, mtimeNs: 0n, mode: 0, uid: 0, gid: 0 });
    }
  }
}
