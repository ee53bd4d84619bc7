/**
 * Streaming enumeration. One DirListing per directory, yielded as soon as that directory has been
 * read, depth first with an explicit stack: memory holds the directories still to visit, never
 * the whole tree, so copying starts while a 100,000-file tree is still being listed.
 * Symlinks are never followed. Excluded entries are dropped and excluded directories are not
 * descended. Errors go to onError and mark the scan incomplete (`complete === false`), which the
 * orchestrator uses to refuse mirror deletions.
 */
import * as fs from 'node:fs';
import { MTIME_NS_UNKNOWN, type Entry, type Failure } from './types';
import { readFileNoFollow, type Filter } from './filter';
import { ErrorCodes, fromErrno, type ErrnoSide } from './errors';
import { displayPath, join2, EMPTY } from './paths';
import { lstatValues, mtimeMsOf, ST_BLOCKS, ST_GID, ST_MODE, ST_SIZE, ST_UID } from './fast-lstat';
import { ENOENT, kindOfMode, nativeScanner, scanDir, ScanCursor } from './scan-dir';
import { isTempName } from './atomic';
import * as native from '@blit/native';

export interface DirListing {
  /** Directory relative to the walk root ('' = root). */
  dir: Buffer;
  entries: Entry[];
  /** Optional: each entry's last path component as latin1 text (one char per byte), aligned with entries. */
  names?: string[];
}

export interface WalkOptions {
  filter?: Filter;
  signal?: AbortSignal;
  /** Unreadable directory or entry: reported here, and the scan is marked incomplete. */
  onError?: (failure: Failure) => void;
  /** Sockets, FIFOs and devices are not transferred; reported here. */
  onSkipped?: (rel: Buffer, why: string) => void;
  /**
   * Cheap stats for regular files (non-bigint lstat; Entry.mtimeMs set, mtimeNs unknown). For the
   * local orchestrator, whose copier reads exact ns from the source fd. Off by default: manifests
   * and metadata need exact ns.
   */
  fastStat?: boolean;
  /**
   * Read this many directories ahead of the walk in the background (libuv pool), results unused:
   * when the tree is not cached (a small page cache, e.g. a memory cgroup, evicts it while the
   * copy writes), each synchronous readdir otherwise waits for its own disk read in turn.
   */
  readAheadDirs?: number;
  /**
   * Read ahead only after a directory took longer than this many µs (plus 5 µs per entry) to
   * read and stat, twice in a row: a cached tree does not pay for reading every directory twice.
   * Default 500; negative = always read ahead (tests).
   */
  readAheadSlowUs?: number;
  /** The caller never reads DirListing.names (the remote source): no latin1 string per entry. */
  noNames?: boolean;
  /**
   * Native scans only (the caller checks nativeScanner(); the node:fs path refuses it): every
   * accepted entry is handed over as the scan cursor on its record (err 0, name relative to
   * `dir`) instead of becoming an Entry, so a caller that only serialises entries (the remote
   * source's manifest) builds no Entry, path Buffer or BigInt per entry. The callback returns the
   * record's kind (1 file, 2 dir, 3 symlink, 0: not transferred: reported to onSkipped);
   * DirListing.entries then holds only the directories, which the walk descends.
   */
  onRecord?: (c: ScanCursor, dir: Buffer) => number;
  /**
   * The daemon's use-time containment (daemon/beneath.ts DirAnchor): with the native scanner each
   * directory is read by `scanDir` (one openat2 beneath the module root inside the native scan;
   * throws PathEscape for a swap) and a `.gitignore` is read through `path` (its pinned parent) by
   * readFileNoFollow (a symlink is refused: ELOOP). No read-ahead. Without the native scanner the
   * anchor has no openat2 either (it comes from the same library) and hands out the joined paths
   * the node:fs read uses. Unset (the local engine: the user's own file system), directories are
   * read by their joined path.
   */
  beneath?: ListingBeneath;
  /** Test hook: called before each directory is read; throwing simulates an unreadable directory. */
  beforeReadDir?: (abs: Buffer, rel: Buffer) => void;
}

/** What the walk needs of a DirAnchor (WalkOptions.beneath). */
export interface ListingBeneath {
  scanDir(nb: native.NativeBatch, rel: Buffer): number;
  /** File `rel` below its parent opened beneath the module root (DirAnchor.path). */
  path(rel: Buffer): Buffer;
}

const GITIGNORE = Buffer.from('.gitignore');

/** Register `rel/.gitignore` with the filter; an unreadable one or a symlink (not followed) is named and its rules skipped. */
function addGitignore(abs: Buffer, rel: Buffer, opts: WalkOptions): void {
  const at = join2(rel, GITIGNORE);
  try {
    opts.filter!.addGitignore(rel, readFileNoFollow(opts.beneath ? opts.beneath.path(at) : join2(abs, GITIGNORE)).toString('utf8'));
  } catch (err) {
    const loop = (err as NodeJS.ErrnoException).code === 'ELOOP';
    opts.onError?.(loop ? { path: displayPath(at), code: ErrorCodes.IoError, reason: 'cannot read .gitignore: it is a symlink (not followed; its rules are not applied)' } : failureOf(err, at, 'cannot read .gitignore'));
  }
}

/** lstat one path into an Entry (null for kinds we do not transfer). Throws errno errors. */
export function statEntry(abs: Buffer, rel: Buffer): Entry | null {
  const st = fs.lstatSync(abs, { bigint: true });
  const mode = Number(st.mode);
  const kind = kindOfMode(mode);
  if (kind === null) return null;
  // One object literal with every field in a fixed order: one hidden class for all entries.
  return {
    rel,
    kind,
    size: kind === 'file' ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    mode: mode & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    linkTarget: kind === 'symlink' ? fs.readlinkSync(abs, { encoding: 'buffer' }) : undefined,
    blocks: Number(st.blocks),
    mtimeMs: undefined,
  };
}

/**
 * Fast-mode entry for a dirent that claims to be a regular file: one non-bigint lstat (no 18
 * BigInt allocations). Falls back to statEntry if the path is no longer a regular file.
 */
export function fastFileEntry(abs: Buffer, rel: Buffer): Entry | null {
  const v = lstatValues(abs); // no Stats object (fast-lstat.ts)
  const mode = v[ST_MODE]!;
  if ((mode & 0o170000) !== 0o100000) return statEntry(abs, rel);
  return {
    rel,
    kind: 'file',
    size: v[ST_SIZE]!,
    mtimeNs: MTIME_NS_UNKNOWN,
    mode: mode & 0o7777,
    uid: v[ST_UID]!,
    gid: v[ST_GID]!,
    linkTarget: undefined,
    blocks: v[ST_BLOCKS]!,
    mtimeMs: mtimeMsOf(v),
  };
}

/**
 * BLIT_TEMPS_ARE_NOT_SOURCE: a regular file with blit's temp-name shape (`.blit.*.tmp`: atomic.ts
 * isTempName) is never a source entry. It is another transfer's partial file (a push running into
 * the module a pull reads, a copy into the tree being copied) or a killed run's debris; copying it
 * would put a partial file under a real name at the destination. Destinations clean their own
 * (differ tempFile, removeIfStaleTemp).
 */

/** Read one directory into entries (filter applied). Throws if the directory itself is unreadable. */
export function readDirEntries(abs: Buffer, rel: Buffer, opts: WalkOptions, names?: string[]): Entry[] {
  const nb = nativeScanner();
  if (nb !== undefined) return readDirEntriesNative(nb, abs, rel, opts, names);
  if (opts.onRecord) throw new Error('WalkOptions.onRecord needs the native scanner');
  const dirents = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
  const filter = opts.filter;
  if (filter?.gitignore) {
    for (const d of dirents) {
      if (d.name.equals(GITIGNORE) && !d.isDirectory()) {
        addGitignore(abs, rel, opts);
      }
    }
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    if (d.isFile() && isTempName(d.name)) continue; // blit's own temp: see BLIT_TEMPS_ARE_NOT_SOURCE
    const childRel = join2(rel, d.name);
    // Dirent type lets us drop excluded entries before paying for lstat.
    if (filter?.active && filter.excludes(childRel, d.isDirectory())) continue;
    try {
      const e = opts.fastStat && d.isFile() ? fastFileEntry(join2(abs, d.name), childRel) : statEntry(join2(abs, d.name), childRel);
      if (e === null) {
        opts.onSkipped?.(childRel, NOT_TRANSFERRED);
        continue;
      }
      out.push(e);
      names?.push(d.name.toString('latin1'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished between readdir and lstat: not there
      opts.onError?.(failureOf(err, childRel, 'cannot stat'));
    }
  }
  return out;
}

let cursor: ScanCursor | undefined;

/**
 * readDirEntries through one native call per directory (scan-dir.ts): the same entries, order,
 * filter decisions, warnings and errors as the node:fs path below it, exact ns mtimes included.
 * The root (rel '') may be a symlink to a directory, as readdirSync followed it; below it a
 * directory is opened O_NOFOLLOW (the walk only descends entries that lstat said were directories).
 */
function readDirEntriesNative(nb: native.NativeBatch, abs: Buffer, rel: Buffer, opts: WalkOptions, names?: string[]): Entry[] {
  const n = opts.beneath !== undefined ? opts.beneath.scanDir(nb, rel) : scanDir(nb, abs, rel.length === 0);
  const c = (cursor ??= new ScanCursor(nb));
  const filter = opts.filter;
  if (filter?.gitignore) {
    c.reset();
    for (let i = 0; i < n; i++, c.next()) {
      if (c.nameEquals(GITIGNORE) && !c.isDir) {
        addGitignore(abs, rel, opts);
      }
    }
  }
  const out: Entry[] = [];
  const fast = opts.fastStat === true;
  const onRecord = opts.onRecord;
  c.reset();
  for (let i = 0; i < n; i++, c.next()) {
    if (c.isBlitTempName && (c.err !== 0 || c.isFile)) continue; // see BLIT_TEMPS_ARE_NOT_SOURCE
    // With onRecord the path is joined only when something needs it (a filter, an error, a directory).
    const joined = onRecord === undefined || filter?.active === true ? c.joinName(rel) : undefined;
    if (joined !== undefined && filter?.active && filter.excludes(joined, c.isDir)) continue;
    const err = c.err;
    if (err !== 0) {
      if (err === ENOENT) continue; // vanished between readdir and lstat: not there
      const childRel = joined ?? c.joinName(rel);
      opts.onError?.(failureOf(new native.NativeError(err, 'lstat', join2(abs, childRel.subarray(childRel.length - c.nameLen))), childRel, 'cannot stat'));
      continue;
    }
    if (onRecord !== undefined) {
      const kind = onRecord(c, rel);
      if (kind === 0) opts.onSkipped?.(joined ?? c.joinName(rel), NOT_TRANSFERRED);
      else if (kind === 2) out.push(c.entry(joined ?? c.joinName(rel), false)!);
      continue;
    }
    const childRel = joined!;
    const e = c.entry(childRel, fast);
    if (e === null) {
      opts.onSkipped?.(childRel, NOT_TRANSFERRED);
      continue;
    }
    out.push(e);
    names?.push(c.nameLatin1());
  }
  return out;
}

/** Why onSkipped leaves an entry out (a FIFO, socket or device). */
export const NOT_TRANSFERRED = 'not a regular file, directory or symlink';

/**
 * The one warning for an entry onSkipped left out, as a local copy, a push and a pull print it
 * (a pull gets the entries from blitd: convert.ts skippedFromWire).
 */
export function skippedWarning(rel: Buffer, why: string): { type: 'warning'; message: string } {
  return { type: 'warning', message: `${displayPath(rel)}: skipped (${why})` };
}

export function failureOf(err: unknown, rel: Buffer, what: string, side: ErrnoSide = 'source'): Failure {
  const shown = rel.length === 0 ? '.' : displayPath(rel);
  const be = fromErrno(err, shown, what, side);
  return { path: shown, code: be.code, reason: be.reasonAt(shown) };
}

export class Walker implements Iterable<DirListing> {
  complete = true;
  dirsRead = 0;
  entriesSeen = 0;

  constructor(private readonly rootAbs: Buffer, private readonly opts: WalkOptions = {}) {}

  *[Symbol.iterator](): Iterator<DirListing> {
    const stack: Buffer[] = [EMPTY];
    const onError = this.opts.onError;
    const opts: WalkOptions = {
      ...this.opts,
      onError: (f) => {
        this.complete = false;
        onError?.(f);
      },
    };
    const readAhead = this.opts.beneath === undefined ? (this.opts.readAheadDirs ?? 0) : 0;
    const slowUs = this.opts.readAheadSlowUs ?? 500;
    const warmed = new Set<Buffer>();
    let slowStreak = 0;
    while (stack.length > 0) {
      if (this.opts.signal?.aborted) {
        this.complete = false;
        return;
      }
      const rel = stack.pop()!;
      warmed.delete(rel);
      let entries: Entry[];
      const names: string[] | undefined = this.opts.noNames ? undefined : [];
      const started = readAhead > 0 ? process.hrtime.bigint() : 0n;
      try {
        const abs = join2(this.rootAbs, rel);
        this.opts.beforeReadDir?.(abs, rel);
        entries = readDirEntries(abs, rel, opts, names);
      } catch (err) {
        opts.onError!(failureOf(err, rel, 'cannot read directory'));
        continue;
      }
      this.dirsRead++;
      this.entriesSeen += entries.length;
      for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.kind === 'dir') stack.push(entries[i]!.rel);
      // Two slow directories in a row: one alone is usually this thread losing its core to another
      // (4 busy threads on 2 cores in an incremental mirror fired it for ~50 % of a cached tree's
      // directories, each then read twice); on an evicted tree every directory is slow.
      if (readAhead > 0) {
        slowStreak = Number(process.hrtime.bigint() - started) / 1000 > slowUs + 5 * entries.length ? slowStreak + 1 : 0;
        if (slowStreak >= 2 || slowUs < 0) this.readAhead(stack, readAhead, warmed);
      }
      yield names ? { dir: rel, entries, names } : { dir: rel, entries };
    }
  }

  /** Background readdir of the next `n` directories the walk will pop (the top of the stack). */
  private readAhead(stack: Buffer[], n: number, warmed: Set<Buffer>): void {
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - n; i--) {
      const rel = stack[i]!;
      if (warmed.has(rel)) continue;
      warmed.add(rel);
      fs.readdir(join2(this.rootAbs, rel), { encoding: 'buffer' }, () => {});
    }
  }
}

/** Convenience: `for (const listing of walk(root, opts))`; read `.complete` on the returned walker. */
export function walk(rootAbs: Buffer | string, opts: WalkOptions = {}): Walker {
  return new Walker(typeof rootAbs === 'string' ? Buffer.from(rootAbs) : rootAbs, opts);
}
