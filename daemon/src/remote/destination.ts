/**
 * The destination side of a remote transfer: the daemon for push, the client for pull. It takes
 * the manifest in the order it arrives, regroups it into directory listings and runs the engine's
 * differ against the local tree, decides what it needs (reported through hooks.need), creates
 * directories and symlinks itself, writes received files through the engine's AtomicFile, applies
 * directory metadata after their children, and performs mirror deletions itself (only after a
 * complete manifest, only when confirmed, never an excluded path).
 *
 * The manifest is untrusted: every path is checked lexically (checkRelative: no '..', no absolute
 * path, no NUL) and every directory it writes into must be a real directory reached from the root
 * without a symlink (a manifest cannot plant a symlink "a -> /etc" and then write "a/passwd").
 */
import * as fs from 'node:fs';
import { AtomicFile, removeIfStaleTemp, tempPathFor } from '../engine/atomic';
import { BlitError, ErrorCodes, fromErrno, notADirectory } from '../engine/errors';
import { Differ, type PackedRecords } from '../engine/differ';
import { scanDir } from '../engine/scan-dir';
import { failureOf } from '../engine/walk';
import type { NativeBatch } from '@blit/native';
import { Filter, readFileNoFollow } from '../engine/filter';
import { decideFile, decideKept, dirMetaDiffers, fileMetaDiffers, sameSymlink, symlinkNeedsUpdate, type FileDecision } from '../engine/compare';
import { HashQueue, openToHash } from '../engine/checksum';
import { applyDirMeta, applyFileMetaOnly, ensureDir, writeSymlinkAtomic, type MetaOptions } from '../engine/metadata';
import { TweakedDirs, whileWritable } from '../engine/dir-tweaks';
import { CREATED_NOT_DELETED, createdSince } from '../engine/delete';
import { baseName, depth, displayPath, join2, parentRel } from '../engine/paths';
import { FailedDirs } from '../engine/new-dirs';
import type { Entry, EntryKind, Failure, ItemAction, TransferOptions, TransferSummary } from '../engine/types';
import { checkRelative } from '../daemon/containment';
import { beneathError, RESOLVE, swapForTest, type DirAnchor } from '../daemon/beneath';
import type { ExpectedFile, FileSink, SmallTarget, StreamSmall } from './data-receiver';
import { SmallFileWriter } from './small-writer';
import { RecordKind } from './small-file-batch';
import { decodeRecord, plainFileRecordEnd, type PackedEntry } from './manifest-pack';
import { packedBytes, wireEntries } from './convert';
import { inDir, inDirAt, isNormalRelative, isNormalRelativeAt, RelPositions } from './rel-bytes';
import type * as pb from '@blit/proto';
import { loadDirMetaBatch, loadDirMetaBeneath, type DirMetaItem } from '@blit/native';

export interface DestinationHooks {
  item(action: ItemAction, rel: Buffer, kind: EntryKind, size: number): void;
  /** The destination needs this file's data (never called in a dry run). */
  need(index: number, entry: Entry): void;
  failure(f: Failure): void;
  /**
   * The first NoSpace failure (a file, directory or symlink): the transfer must end with it, as
   * the local engine's does (run-state.ts fail), its temps removed and what was committed kept.
   * Failures after it (files aborted because of it) are not reported.
   */
  fatal(err: BlitError): void;
  /** The destination already has an identical copy of this file (not called in a dry run). */
  /** `rel` is given when reportSkips is on (move), else left out (no Entry built for it). */
  unchanged?(index: number, rel?: Buffer): void;
  /** This symlink is in place, created or already the same (not called in a dry run; move: its source goes too). */
  linked?(index: number, rel: Buffer): void;
}

export interface DestinationInit {
  rootAbs: Buffer;
  options: TransferOptions;
  /** --files-from paths as the source applied them (byte-exact). */
  filesFrom: Buffer[] | undefined;
  meta: MetaOptions;
  hooks: DestinationHooks;
  /** Report unchanged files and symlinks as 'skip' items (move: the source removes those too). */
  reportSkips: boolean;
  /** How the root is named in errors (a daemon never shows its own absolute paths). */
  shownRoot?: string;
  /**
   * The source is one file, not a directory: nothing at the destination is ever a mirror
   * deletion candidate, and the file is stored under `as` when given (rsync `FILE DST`).
   */
  singleFile?: { as?: Buffer };
  /** Threads writing received small files (default: defaultSmallWorkers(); 0 = main thread). */
  smallWorkers?: number;
  /**
   * The daemon's use-time containment (daemon/beneath.ts): every path below rootAbs is addressed
   * through directories opened beneath the module root. Closed by close(). Absent: plain paths.
   */
  anchor?: DirAnchor;
}

const GITIGNORE = Buffer.from('.gitignore');

/**
 * One directory's manifest entries, with their manifest indices (and checksums) by position.
 * Regular files of packed batches stay packed (entries[i] unset) until something needs their
 * Entry: a no-op mirror's files are matched and quick-checked on the wire bytes (differ.ts).
 */
interface Listing {
  dir: Buffer;
  entries: Entry[];
  indices: number[];
  checksums: Array<Buffer | undefined> | undefined;
  packed: ListingRecords | undefined;
}

/** A listing's packed file records (differ.ts PackedRecords); offs[i] -1: entries[i] is set. */
class ListingRecords implements PackedRecords {
  readonly bufs: Buffer[] = [];
  readonly offs: number[] = [];
  private readonly at = { o: 0 };

  constructor(private readonly entries: Entry[]) {
    for (let i = 0; i < entries.length; i++) {
      this.bufs.push(EMPTY_BUF);
      this.offs.push(-1);
    }
  }

  entryAt(i: number): Entry {
    const known = this.entries[i];
    if (known !== undefined) return known;
    this.at.o = this.offs[i]!;
    const e = decodeRecord(this.bufs[i]!, this.at).entry;
    this.entries[i] = e;
    return e;
  }
}
const EMPTY_BUF = Buffer.alloc(0);
const SYNC_WRITE_MAX = 256 * 1024;

function key(rel: Buffer): string {
  return rel.toString('latin1');
}

/** Manifest entries a transfer may refuse one by one before it is stopped (countRefused). */
export const MAX_REFUSED_ENTRIES = 1000;
/** Destination files hashed at once (--checksum): reads on the libuv pool, 4 threads by default. */
const HASHES_AT_ONCE = 2;
/** Files waiting for their hash before the next manifest batch is read (the caller's hashesBelow). */
export const HASHES_WAITING = 1024;
export class Destination {
  readonly counts = {
    filesTransferred: 0, bytesTransferred: 0, dirsCreated: 0, symlinksCreated: 0,
    entriesDeleted: 0, deletionsSkipped: 0, filesUnchanged: 0, skippedInFailedDirs: 0,
  };
  readonly failures: Failure[] = [];
  /** Directories known to be real directories inside the root (or planned, in a dry run). */
  private readonly verified = new Set<string>(['']);
  /** Directories that do not exist yet (dry run) or were just created: nothing to delete in them. */
  private readonly fresh = new Set<string>();
  private readonly differ: Differ;
  private readonly filter: Filter;
  /** The listing being gathered: its entries with their manifest indices (and checksums) beside them. */
  private pending: Listing | undefined;
  /** The listing being diffed (create() finds an entry's manifest index and checksum in it). */
  private current: Listing | undefined;
  /** Directory entries of the manifest, and those whose listing was diffed. */
  private readonly manifestDirs: Entry[] = [];
  private readonly dirByKey = new Map<string, Entry>();
  /** The manifest index of each directory entry, the root's too (dirsInPlace). */
  private readonly dirIndex = new Map<string, { index: number; rel: Buffer }>();
  /** Directories created here or found as directories (a queued mkdir may still fail: failedDirs). */
  private readonly placed = new Set<string>();
  /** Directories whose metadata could not be set (applyDirMeta). */
  private readonly metaFailed = new Set<string>();
  /** Directories whose content changed (their mtime must be re-applied at the end). */
  private readonly touched = new Set<string>();
  private readonly listed = new Set<string>();
  private rootEntry: Entry | undefined;
  private readonly deleteCandidates: Entry[] = [];
  /**
   * Mirror only: every manifest path, so a directory listed twice never deletes its own files.
   * Made into a set only when a directory was listed twice (an honest source sends each
   * directory's entries together: then no deletion candidate can be a manifest path, since its
   * listing held every manifest name of its directory). Kept as positions in the memory the
   * entries' paths are views of (the received batches): three small integers per path in one
   * array instead of 100k Buffer views that survived every young-generation GC of a push.
   */
  private readonly manifestRels: RelPositions | undefined;
  private relisted = false;
  /** A destination directory could not be read: deletions are unsafe. */
  private deletionsUnsafe = false;
  private singleSeen = false;
  /** When this run began: a deletion candidate created since is kept (engine/delete.ts KeepCreated). */
  private readonly startedAt = Date.now();

  constructor(private readonly init: DestinationInit) {
    this.tweaks = new TweakedDirs((rel) => this.dirOf(rel), init.options.dryRun);
    const f = init.options.filter;
    // Glob and files-from layers now; .gitignore rules are read at the end from the destination,
    // whose .gitignore files then equal the source's (they are part of the transfer).
    this.filter = new Filter({ excludes: f.excludes, includes: f.includes, gitignore: false }, init.filesFrom);
    // fastStat: destination regular files are lstat'ed without a Stats object (engine/fast-lstat);
    // their mtime is then compared in Node's double ms, the local engine's rule.
    // The differ applies the quick check itself (size, and Node's double-ms mtime unless
    // size-only: decideFile's rule for a fast destination entry) and calls `same` for those files.
    const c = init.options.compare;
    const quick = c.ignoreExisting ? null : c.mode === 'default' ? 'default' : c.mode === 'size-only' ? 'size-only' : null;
    // With an anchor the destination listing reads each directory through an fd opened beneath
    // the module root, one openat2 inside the native scan (DirAnchor.scanDir): a directory swapped
    // for a symlink fails with PathEscape, never lists outside.
    const a = init.anchor;
    const scanAt = a ? (nb: NativeBatch, rel: Buffer): number => (this.plannedOnly(rel) ? scanDir(nb, join2(init.rootAbs, rel), true) : a.scanDir(nb, rel)) : undefined;
    this.differ = new Differ(init.rootAbs, this.filter, true, quick, scanAt, init.meta.preserveOwner);
    this.manifestRels = init.options.mode === 'mirror' ? new RelPositions() : undefined;
  }

  get dryRun(): boolean {
    return this.init.options.dryRun;
  }

  /** Create the root directory (and missing parents) unless this is a dry run. */
  prepareRoot(): void {
    const shown = this.init.shownRoot ?? displayPath(this.init.rootAbs);
    let st: fs.Stats | undefined;
    try {
      // The root's parents pinned too (a parent swapped for a symlink: PathEscape, not its lstat).
      st = fs.lstatSync(this.init.anchor ? this.init.anchor.rootEntry(shown) : this.init.rootAbs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromErrno(err, shown, 'destination', 'destination');
    }
    if (st && !st.isDirectory()) {
      throw notADirectory('destination exists', shown);
    }
    // The root's metadata is always applied at the end (applyDirMeta: rootEntry), restoring it.
    if (st && !this.init.singleFile) this.tweaks.tweak(Buffer.alloc(0), st.mode);
    if (!st) {
      this.fresh.add('');
      try {
        if (!this.dryRun) {
          if (this.init.anchor) this.init.anchor.ensureRoot();
          else fs.mkdirSync(this.init.rootAbs, { recursive: true, mode: 0o755 });
        }
      } catch (err) {
        throw fromErrno(err, shown, 'cannot create destination', 'destination');
      }
      // A created root is one of the transfer's directories, counted and itemized as the local
      // engine does (rsync --stats: "dir: 2" for `d NEW`, NEW/d and NEW/d/sub). The directories
      // it was created in (NEW, --mkpath's parents) and a single file's NEWDIR/ are not, as rsync.
      if (!this.init.singleFile) {
        this.counts.dirsCreated++;
        this.init.hooks.item('mkdir', Buffer.alloc(0), 'dir', 0);
      }
    }
  }

  /** One manifest entry, in manifest order. */
  add(index: number, e: Entry, checksum?: Buffer): void {
    const single = this.init.singleFile;
    if (single) {
      if (e.kind === 'dir' || this.singleSeen) {
        this.countRefused();
        this.fail(e.rel, ErrorCodes.BadFrame, 'the source was announced as one file, but the manifest has more');
        return;
      }
      this.singleSeen = true;
      if (single.as) e = { ...e, rel: single.as };
    }
    if (e.rel.length === 0) {
      if (e.kind === 'dir') {
        this.rootEntry = e;
        this.dirIndex.set('', { index, rel: e.rel });
      } else {
        this.countRefused();
        this.fail(e.rel, ErrorCodes.InvalidPath, 'the transfer root must be a directory');
      }
      return;
    }
    if (!isNormalRelative(e.rel)) {
      this.refusePath(e.rel);
      return;
    }
    if (this.pending !== undefined && !inDir(e.rel, this.pending.dir)) this.flush();
    const p = (this.pending ??= { dir: parentRel(e.rel), entries: [], indices: [], checksums: undefined, packed: undefined });
    if (checksum !== undefined) (p.checksums ??= [])[p.entries.length] = checksum;
    p.entries.push(e);
    p.indices.push(index);
    if (p.packed) {
      p.packed.bufs.push(EMPTY_BUF);
      p.packed.offs.push(-1);
    }
    this.manifestRels?.add(e.rel);
    if (e.kind === 'dir') {
      this.manifestDirs.push(e);
      this.dirByKey.set(key(e.rel), e);
      this.dirIndex.set(key(e.rel), { index, rel: e.rel });
    }
  }

  /**
   * One packed manifest batch (manifest-pack.ts), in manifest order from `index`; returns the
   * index after it. Every record is checked before any is added (a malformed one throws BadFrame
   * as unpackEntries does, nothing of the batch applied). Regular files without a checksum stay
   * packed: their path is checked in place (isNormalRelative), their Entry built only if the
   * march needs it. Everything else (and every record of a one-file source) goes through add().
   */
  addPacked(buf: Buffer, index: number, before: readonly PackedEntry[] = []): number {
    const items: Array<number | PackedEntry> = [...before]; // the caller's array stays as it was
    const at = { o: 0 };
    while (at.o < buf.length) {
      const end = this.init.singleFile ? -1 : plainFileRecordEnd(buf, at.o);
      if (end < 0) {
        items.push(decodeRecord(buf, at));
      } else {
        items.push(at.o);
        at.o = end;
      }
    }
    for (const it of items) {
      if (typeof it === 'number') this.addFileRecord(buf, it, index++);
      else this.add(index++, it.entry, it.checksum);
    }
    return index;
  }

  /** One ManifestBatch from the wire: its FileEntry list, then its packed records (addPacked). */
  addBatch(m: pb.ManifestBatch__Output, index: number): number {
    return this.addPacked(m.packed.length > 0 ? packedBytes(m) : EMPTY_BUF, index, wireEntries(m));
  }

  /** A checked plain-file record at buf[o] (see addPacked): add() without building its Entry. */
  private addFileRecord(buf: Buffer, o: number, index: number): void {
    const relStart = o + 6;
    const relEnd = relStart + buf.readUInt32LE(o + 2);
    if (!isNormalRelativeAt(buf, relStart, relEnd)) {
      this.at.o = o;
      const p = decodeRecord(buf, this.at);
      this.add(index, p.entry, p.checksum);
      return;
    }
    if (this.pending !== undefined && !inDirAt(buf, relStart, relEnd, this.pending.dir)) this.flush();
    let p = this.pending;
    if (p === undefined) {
      let slash = relEnd;
      while (slash > relStart && buf[slash - 1] !== 0x2f) slash--;
      p = this.pending = { dir: buf.subarray(relStart, slash > relStart ? slash - 1 : relStart), entries: [], indices: [], checksums: undefined, packed: undefined };
    }
    const recs = (p.packed ??= new ListingRecords(p.entries));
    recs.bufs.push(buf);
    recs.offs.push(o);
    p.entries.push(undefined as unknown as Entry);
    p.indices.push(index);
    this.manifestRels?.addAt(buf, relStart, relEnd - relStart);
  }

  private readonly at = { o: 0 };

  private refused = 0;

  /**
   * Each refused manifest entry is a failure kept and reported (~1.3 KB of blitd's memory for a
   * 2-byte empty record: 1.5 million of them grew it by 2 GB, and nothing ended the stream). An
   * honest client sends none, so past MAX_REFUSED_ENTRIES the transfer stops with BadFrame.
   */
  private countRefused(): void {
    if (++this.refused <= MAX_REFUSED_ENTRIES) return;
    throw new BlitError({
      code: ErrorCodes.BadFrame,
      message: `more than ${MAX_REFUSED_ENTRIES} manifest entries refused (invalid paths, or more than the one announced file): the transfer is stopped`,
    });
  }

  /** A manifest path that is not a normal relative path: the precise reason, as a failure. */
  private refusePath(rel: Buffer): void {
    this.countRefused();
    const shown = displayPath(rel);
    try {
      const parts = checkRelative(rel, shown);
      // Normal form: no component was dropped ('' or '.'), i.e. the kept parts and their
      // separators account for every byte.
      let kept = parts.length - 1;
      for (const p of parts) kept += p.length;
      if (parts.length === 0 || kept !== rel.length) {
        throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'path is not in normal form', path: shown });
      }
      throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'invalid path', path: shown }); // not reached
    } catch (err) {
      const be = err as BlitError;
      this.record({ path: shown, code: be.code, reason: be.message });
    }
  }

  private touch(rel: Buffer): void {
    this.touched.add(key(parentRel(rel)));
  }

  /** Diff the listing gathered so far (call at the end of each manifest batch and at the end). */
  flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const k = key(p.dir);
    if (this.listed.has(k)) {
      this.relisted = true;
      // Listed twice (a dishonest source): the differ reads this directory from disk again, so
      // every directory queued for creation must exist first, as it would have without the queue.
      this.makeQueuedDirs();
    }
    this.listed.add(k);
    this.current = p;
    try {
      this.diffListing(p);
    } finally {
      this.current = undefined;
    }
  }

  private diffListing(listing: Listing): void {
    const { dir, entries } = listing;
    if (this.failedDirs.covers(dir)) {
      this.counts.skippedInFailedDirs += entries.length;
      return;
    }
    const why = this.checkDir(dir);
    if (why) {
      for (let i = 0; i < entries.length; i++) this.fail(entryOf(listing, i).rel, why.code, why.message);
      return;
    }
    try {
      this.differ.diff(listing, {
        srcOnly: (e, i) => this.create(e, undefined, i),
        both: (e, d, i) => this.create(e, d, i),
        same: (e, i) => this.unchangedFile(e, this.current!.indices[i]!),
        sameIndex: (i) => this.unchangedIndex(i),
        dstOnly: (d) => this.deleteCandidates.push(d),
        tempFile: (rel) => this.staleTemp(rel),
      });
    } catch (err) {
      this.deletionsUnsafe = true;
      const be = fromErrno(err, displayPath(dir) || '.', 'cannot read destination directory', 'destination');
      for (let i = 0; i < entries.length; i++) this.fail(entryOf(listing, i).rel, be.code, be.message);
    }
  }

  /**
   * A blit temp in a listed directory (never a deletion candidate): removed when stale, the local
   * engine's rule (atomic.ts removeIfStaleTemp), so a run killed mid-transfer (SIGKILL of blit on
   * a pull, of blitd on a push) leaves no debris past the next transfer into that directory.
   */
  private staleTemp(rel: Buffer): void {
    if (this.dryRun) return;
    if (removeIfStaleTemp(this.pathOf(rel))) this.touch(rel);
  }

  /** Is `dir` a real directory reached without symlinks (or one we plan to create)? */
  private checkDir(dir: Buffer): BlitError | undefined {
    if (this.verified.has(key(dir))) return undefined;
    const parent = parentRel(dir);
    const up = this.checkDir(parent);
    if (up) return up;
    if (this.dryRun && this.fresh.has(key(parent))) {
      // Dry run: the parent was never created, so neither was this one (nothing to check).
      this.fresh.add(key(dir));
      this.verified.add(key(dir));
      return undefined;
    }
    try {
      const st = fs.lstatSync(this.pathOf(dir));
      if (st.isDirectory()) {
        this.verified.add(key(dir));
        return undefined;
      }
      const what = st.isSymbolicLink() ? 'is a symlink on the destination; refusing to write through it' : 'is not a directory on the destination';
      return new BlitError({ code: st.isSymbolicLink() ? ErrorCodes.PathEscape : ErrorCodes.NotADirectory, message: what, path: displayPath(dir) });
    } catch (err) {
      return fromErrno(err, displayPath(dir), 'parent directory', 'destination');
    }
  }

  /** Path of entry `rel` below the destination root (its parent pinned, with an anchor). */
  private pathOf(rel: Buffer): Buffer {
    const a = this.init.anchor;
    return a && !this.plannedOnly(parentRel(rel)) ? a.path(rel) : join2(this.init.rootAbs, rel);
  }

  /** Path of directory `rel` below the destination root (pinned itself, with an anchor). */
  private dirOf(rel: Buffer): Buffer {
    const a = this.init.anchor;
    return a && !this.plannedOnly(rel) ? a.dir(rel) : join2(this.init.rootAbs, rel);
  }

  /** dirOf for a path used beyond this synchronous turn; releaseDir(rel) when done. */
  private acquireDir(rel: Buffer): Buffer {
    const a = this.init.anchor;
    return a ? a.acquire(rel) : join2(this.init.rootAbs, rel);
  }

  private releaseDir(rel: Buffer): void {
    this.init.anchor?.release(rel);
  }

  /** A dry run's directory that does not exist (only planned): nothing to pin, nothing is written. */
  private plannedOnly(dir: Buffer): boolean {
    return this.dryRun && this.fresh.has(key(dir));
  }

  private fail(rel: Buffer, code: string, reason: string): void {
    if (rel.length > 0 && this.failedDirs.covers(parentRel(rel))) {
      this.counts.skippedInFailedDirs++;
      return;
    }
    this.record({ path: displayPath(rel) || '.', code, reason });
  }

  /**
   * Directories this transfer could not create (covers: and those below one). The one whose mkdir
   * failed is reported once, with its cause; everything below it is not attempted, or its failure
   * not reported, and counted in skippedInFailedDirs (rsync: "skipping any contents from this
   * failed directory"). Each of its files used to fail as "cannot write: no such file or
   * directory", and it and its subdirectories as "cannot set directory metadata".
   */
  private readonly failedDirs = new FailedDirs();

  /** Set by the first NoSpace failure: the transfer is ending (hooks.fatal). */
  private fatal: BlitError | undefined;

  private record(f: Failure): void {
    if (this.fatal) return;
    this.failures.push(f);
    this.init.hooks.failure(f);
    if (f.code === ErrorCodes.NoSpace) {
      this.fatal = new BlitError({ code: ErrorCodes.NoSpace, message: f.reason, path: f.path });
      this.init.hooks.fatal(this.fatal);
    }
  }

  /** fail() for an error about `rel` itself: its reason without the path the failure already names. */
  private failWith(err: unknown, rel: Buffer, what: string): void {
    const f = failureOf(err, rel, what, 'destination');
    this.fail(rel, f.code, f.reason);
  }

  /** `i`: the entry's position in the current listing. */
  private create(e: Entry, d: Entry | undefined, i: number): void {
    try {
      if (e.kind === 'dir') return this.createDir(e, d, key(e.rel));
      if (d?.kind === 'dir') {
        if (!(this.init.options.mode === 'mirror' && this.init.options.deleteConfirmed)) {
          return this.fail(e.rel, ErrorCodes.IoError, `a directory is in the way of this ${e.kind} (mirror with --yes replaces it)`);
        }
        // Each entry in it is a deletion, counted as the local engine counts (engine/delete.ts);
        // everything goes (no filter), each directory addressed beneath the module root.
        if (!this.deleteTree(d.rel, 'dir', undefined, undefined, true)) return;
        d = undefined;
      }
      if (e.kind === 'symlink') return this.createSymlink(e, d, i);
      this.createFile(e, d, i);
    } catch (err) {
      this.failWith(err, e.rel, `cannot create ${e.kind === 'dir' ? 'directory' : e.kind}`);
      // A directory that could not replace what was in its way: its contents are not attempted.
      if (e.kind === 'dir') this.failedDirs.add(e.rel);
    }
  }

  private createDir(e: Entry, d: Entry | undefined, k: string): void {
    if (d?.kind === 'dir') {
      this.verified.add(k);
      this.placed.add(k);
      // Made u+rwx first when it lacks it (rsync's dir tweaking): its fix restores the mode.
      if (this.tweaks.tweak(e.rel, d.mode) || dirMetaDiffers(e, d, this.init.meta.preserveOwner)) this.dirsToFix.push(e);
      return;
    }
    if (d) {
      if (!this.dryRun) {
        const abs = this.pathOf(e.rel);
        fs.unlinkSync(abs);
        ensureDir(abs);
      }
    } else if (!this.dryRun) {
      this.queueMkdir(e.rel, k);
    }
    this.fresh.add(k);
    this.verified.add(k);
    this.placed.add(k);
    this.counts.dirsCreated++;
    this.touch(e.rel);
    this.dirsToFix.push(e);
    this.init.hooks.item('mkdir', e.rel, 'dir', 0);
  }

  private readonly dirsToFix: Entry[] = [];

  /** Existing directories made u+rwx for the transfer, through their fds pinned beneath the root. */
  private readonly tweaks: TweakedDirs;

  private createSymlink(e: Entry, d: Entry | undefined, i: number): void {
    if (!symlinkNeedsUpdate(e, d, this.init.options.compare, this.init.meta.preserveOwner)) {
      // As an unchanged file (unchangedFile): a move removes this source too, as the local one;
      // not one --ignore-existing kept although the destination's differs.
      if (!sameSymlink(e, d)) return;
      if (this.init.reportSkips) this.init.hooks.item('skip', e.rel, 'symlink', 0);
      if (!this.dryRun) this.init.hooks.linked?.(this.current!.indices[i]!, e.rel);
      return;
    }
    if (!this.dryRun) {
      this.makeDirNow(parentRel(e.rel));
      const dirAbs = this.dirOf(parentRel(e.rel));
      writeSymlinkAtomic(dirAbs, baseName(e.rel), e.linkTarget ?? Buffer.alloc(0), e, this.init.meta, tempPathForName);
    }
    this.counts.symlinksCreated++;
    this.touch(e.rel);
    this.init.hooks.item('symlink', e.rel, 'symlink', 0);
    if (!this.dryRun) this.init.hooks.linked?.(this.current!.indices[i]!, e.rel);
  }

  private createFile(e: Entry, d: Entry | undefined, i: number): void {
    const c = this.init.options.compare;
    // --ignore-existing keeps an existing file unread. A move still asks the run's own check
    // whether it is the source's copy (decideKept): only then is it reported unchanged (its
    // source removed); one that differs is counted as kept, as the local engine does.
    const kept = c.ignoreExisting && d !== undefined;
    const decision = kept && this.init.options.mode === 'move' && !this.dryRun ? decideKept(e, d, c) : decideFile(e, d, c);
    const index = this.current!.indices[i]!;
    if (decision !== 'hash') return this.decided(e, d, index, decision, kept);
    const sum = this.current!.checksums?.[i];
    if (!sum || sum.length === 0) return this.decided(e, d, index, 'transfer', kept);
    // Hashed off the event loop (HashQueue): decided when the hash is in; the caller awaits
    // hashesBelow() so every need and item is out before need_complete and finalize().
    const want = sum.toString('hex');
    this.hashes.hash(() => openToHash(this.pathOf(e.rel))).then(
      (got) => this.afterHash(e, () => this.decided(e, d, index, got === want ? 'skip' : 'transfer', kept)),
      (err) => this.afterHash(e, () => {
        throw err;
      }),
    );
  }

  /** --checksum's hashes of destination files (the event loop is never held for a whole file). */
  private readonly hashes = new HashQueue(HASHES_AT_ONCE, () => this.closing);
  private closing = false;

  /** What create() does with an error of a file's decision, for one decided after its hash. */
  private afterHash(e: Entry, decide: () => void): void {
    if (this.closing) return;
    try {
      decide();
    } catch (err) {
      this.failWith(err, e.rel, 'cannot create file');
    }
  }

  /**
   * Resolves once at most `n` destination files wait for their hash (0: every decision made).
   * The caller awaits it after each manifest batch (a bound on what waits) and, with 0, after the
   * last flush(), before need_complete.
   */
  hashesBelow(n: number): Promise<void> {
    return this.hashes.pendingAtMost(n);
  }

  /** createFile's decision made (`index`: the manifest index). */
  private decided(e: Entry, d: Entry | undefined, index: number, decision: FileDecision, kept: boolean): void {
    if (kept && decision === 'transfer') {
      this.counts.filesUnchanged++;
      return;
    }
    if (decision === 'skip') {
      // Content kept; a differing mode/owner alone is re-applied (rsync -a), no data, no temp.
      // The differ's quick check sent such a file here (not to `same`). A failure throws, as a
      // failed mkdir or symlink here does.
      if (d && !this.init.options.compare.ignoreExisting && !this.dryRun && fileMetaDiffers(e, d, this.init.meta.preserveOwner)) {
        try {
          applyFileMetaOnly(this.pathOf(e.rel), e, this.init.meta);
        } catch (err) {
          throw fromErrno(err, displayPath(e.rel), 'cannot set mode or owner', 'destination');
        }
      }
      return this.unchangedFile(e, index);
    }
    const action: ItemAction = d ? 'update' : 'create';
    if (this.dryRun) {
      this.counts.filesTransferred++;
      this.counts.bytesTransferred += e.size;
      this.init.hooks.item(action, e.rel, 'file', e.size);
      return;
    }
    if (d) this.updates.add(key(e.rel));
    this.init.hooks.need(index, e);
  }

  /** The destination already has this file (`index`: its manifest index). */
  private unchangedFile(e: Entry, index: number): void {
    this.counts.filesUnchanged++;
    if (this.init.reportSkips) this.init.hooks.item('skip', e.rel, 'file', e.size);
    if (!this.dryRun) this.init.hooks.unchanged?.(index, e.rel);
  }

  /** unchangedFile for a packed record whose Entry was not built (built here only to report it). */
  private unchangedIndex(i: number): void {
    if (this.init.reportSkips) return this.unchangedFile(entryOf(this.current!, i), this.current!.indices[i]!);
    this.counts.filesUnchanged++;
    if (!this.dryRun) this.init.hooks.unchanged?.(this.current!.indices[i]!);
  }

  /** Files that replace an existing one (for the item action once committed). */
  private readonly updates = new Set<string>();

  // -------------------------------------------------------------------------------------------
  // Data (hooks for DataReceiver)

  /** A temp file next to the file's real name, written asynchronously, committed atomically. */
  async openSink(f: ExpectedFile): Promise<FileSink> {
    const dir = parentRel(f.entry.rel);
    const why = this.checkDir(dir);
    if (why) throw why;
    this.makeDirNow(dir);
    // The temp file is renamed later, through this path: its directory stays pinned until then.
    const atomic = new AtomicFile(this.acquireDir(dir), baseName(f.entry.rel));
    const meta = this.init.meta;
    const small = f.entry.size <= SYNC_WRITE_MAX;
    return {
      // A receiving worker thread writes big files through its own dup of this descriptor.
      fd: atomic.fd,
      writev: async (chunks, position) => {
        let pos = position;
        let rest = chunks;
        while (rest.length > 0) {
          const want = rest.reduce((n, b) => n + b.length, 0);
          // Small files synchronously: a page-cache write of a few KiB costs less than the
          // thread-pool round trip (measured: async writev was 14% of the daemon's CPU on 20k
          // small files). Big files stay async: the copy into the page cache then runs on
          // another core while this thread keeps reading the socket, and a slow disk never
          // stalls the event loop (sync writes of a 1 GiB file left the daemon idle half the time).
          const n =
            small
              ? fs.writevSync(atomic.fd, rest, pos)
              : await new Promise<number>((resolve, reject) => fs.writev(atomic.fd, rest, pos, (err, w) => (err ? reject(err) : resolve(w))));
          pos += n;
          if (n === want) break;
          rest = skipBytes(rest, n);
        }
      },
      commit: async () => {
        try {
          atomic.commit(f.entry, meta);
        } finally {
          this.releaseDir(dir);
        }
      },
      abort: async () => {
        try {
          atomic.abort();
        } finally {
          this.releaseDir(dir);
        }
      },
    };
  }

  /**
   * A small file in one go: temp, write, metadata, rename, on the small-file writer's threads
   * (small-writer.ts). The chunks are copied before this returns; `done` once committed or failed.
   */
  writeSmall(f: ExpectedFile, chunks: Buffer[], done: (err?: unknown) => void): void {
    const rel = f.entry.rel;
    const dir = parentRel(rel);
    const why = this.checkDir(dir);
    if (why) throw why;
    // Consecutive files mostly share a directory: its writer lane, once.
    let d = this.lastDir;
    if (!d || !d.rel.equals(dir)) {
      const k = key(dir);
      d = this.smallDir(dir, k);
      this.lastDir = d;
    }
    const writer = this.writer();
    const beneath = this.init.anchor?.beneath;
    if (d.made !== DirMade.Existed && beneath) {
      // Created by this transfer (maybe not yet: its mkdir is queued on this lane): the writer
      // thread opens it beneath the module root itself.
      writer.write(d.lane, this.init.anchor!.modRel(dir), baseName(rel), chunks, f.entry.size, f.entry, (err) => done(err ? writeError(err, rel) : undefined), RecordKind.AnchoredFile);
      return;
    }
    // A writer thread uses the directory's path later: pinned until the file is done.
    const dirAbs = this.acquireDir(dir);
    writer.write(d.lane, dirAbs, baseName(rel), chunks, f.entry.size, f.entry, (err) => {
      this.releaseDir(dir);
      done(err ? writeError(err, rel) : undefined);
    });
  }

  /**
   * Small files that a receiving stream's worker thread writes itself (DataReceiver, recv-worker):
   * the batch record's directory for each needed file, or undefined (it takes writeSmall). The
   * directory check is writeSmall's, made when the file is needed. Anchored (blitd): the writing
   * thread opens every directory beneath the module root itself (no pinned path crosses threads).
   */
  streamSmall(): StreamSmall | undefined {
    if (this.dryRun || this.init.smallWorkers === 0) return undefined;
    const beneath = this.init.anchor?.beneath;
    return {
      init: { meta: this.init.meta, ...(beneath ? { beneath } : {}) },
      target: (f) => this.smallTarget(f),
      error: (f, err) => writeError(err, f.entry.rel),
    };
  }

  private lastTarget: SmallTarget | undefined;

  private smallTarget(f: ExpectedFile): SmallTarget | undefined {
    const dir = parentRel(f.entry.rel);
    let t = this.lastTarget;
    if (t && t.rel.equals(dir)) return t;
    if (this.checkDir(dir)) return undefined;
    const d = this.smallDirs.get(key(dir));
    const beneath = this.init.anchor?.beneath;
    const made = d !== undefined && (d.made === DirMade.Queued || d.made === DirMade.Made);
    t = {
      rel: dir,
      dir: beneath ? this.init.anchor!.modRel(dir) : join2(this.init.rootAbs, dir),
      kind: beneath ? RecordKind.AnchoredFile : RecordKind.File,
      // Its mkdir may still be queued on a writer lane: the stream's worker makes it first.
      ...(made ? { mkdir: { base: beneath ? beneath.rootRel : this.init.rootAbs, kind: beneath ? RecordKind.AnchoredMkdir : RecordKind.Mkdir } } : {}),
    };
    this.lastTarget = t;
    return t;
  }

  private smallWriter: SmallFileWriter | undefined;
  /** Directories small files or mkdirs were queued for: the writer lane of each (and whether it is new). */
  private readonly smallDirs = new Map<string, SmallDir>();
  private lastDir: SmallDir | undefined;

  private writer(): SmallFileWriter {
    return (this.smallWriter ??= new SmallFileWriter(this.init.meta, this.init.smallWorkers, this.init.anchor?.beneath));
  }

  private smallDir(rel: Buffer, k: string): SmallDir {
    let d = this.smallDirs.get(k);
    if (!d) {
      d = { rel, lane: this.smallDirs.size, made: DirMade.Existed };
      this.smallDirs.set(k, d);
    }
    return d;
  }

  /**
   * A new directory is created by the writer lane its files will take (mkdir is kernel time,
   * ~80 us per directory on ext4: 1.1 s of the receiver's main thread for 13,792 directories),
   * before them; anything the main thread does in it first (a medium file, a symlink, a second
   * listing, the end) creates it there at once (makeDirNow; the lane's mkdir then finds it).
   * Metadata stays with the final pass (applyDirMeta).
   */
  private queueMkdir(rel: Buffer, k: string): void {
    const d = this.smallDir(rel, k);
    d.made = DirMade.Queued;
    const beneath = this.init.anchor?.beneath;
    this.writer().mkdir(d.lane, beneath ? beneath.rootRel : this.init.rootAbs, rel, beneath !== undefined, (err) => {
      if (d.made !== DirMade.Queued) return; // made (or failed) on this thread meanwhile
      if (err) this.mkdirFailed(d, err);
      else d.made = DirMade.Made;
    });
  }

  /** Directory `rel` exists now if this transfer queued it (its parents first). */
  private makeDirNow(rel: Buffer): void {
    const d = this.smallDirs.get(key(rel));
    if (!d || d.made !== DirMade.Queued) return;
    if (rel.length > 0) this.makeDirNow(parentRel(rel));
    d.made = DirMade.Made;
    try {
      ensureDir(this.pathOf(rel));
    } catch (err) {
      this.mkdirFailed(d, err);
    }
  }

  private makeQueuedDirs(): void {
    for (const d of this.smallDirs.values()) if (d.made === DirMade.Queued) this.makeDirNow(d.rel);
  }

  private mkdirFailed(d: SmallDir, err: unknown): void {
    d.made = DirMade.Failed;
    this.counts.dirsCreated--;
    // Writer lanes report in any order: a parent whose mkdir is still queued is settled first, so
    // the directory that really failed is the one reported (fail() counts the ones below it).
    if (d.rel.length > 0) this.makeDirNow(parentRel(d.rel));
    this.failWith(err, d.rel, 'cannot create directory'); // the local engine's words (new-dirs.ts)
    this.failedDirs.add(d.rel);
  }

  /** Wait for small files still being written and stop the writer threads (call once, at the end). */
  async close(): Promise<void> {
    // Hashes still running (a transfer that failed or was cancelled) stop at their next chunk.
    this.closing = true;
    await this.hashes.pendingAtMost(0);
    try {
      await this.smallWriter?.close();
    } finally {
      this.tweaks.restore();
      this.init.anchor?.close();
    }
  }

  /** The destination root (entries' rel are below it; a single file's too). */
  get rootAbs(): Buffer {
    return this.init.rootAbs;
  }

  fileCommitted(f: ExpectedFile): void {
    this.counts.filesTransferred++;
    this.counts.bytesTransferred += f.entry.size;
    this.touch(f.entry.rel);
    const k = key(f.entry.rel);
    this.init.hooks.item(this.updates.has(k) ? 'update' : 'create', f.entry.rel, 'file', f.entry.size);
    this.updates.delete(k);
  }

  fileFailed(f: ExpectedFile, failure: Failure): void {
    const dir = parentRel(f.entry.rel);
    // Its directory's mkdir may still be queued (a stream worker made, and failed, it first).
    this.makeDirNow(dir);
    if (this.failedDirs.covers(dir)) {
      this.counts.skippedInFailedDirs++;
      return;
    }
    this.record(failure);
  }

  // -------------------------------------------------------------------------------------------
  // End of transfer

  /**
   * After the last file settled: empty source directories still get their destination listing
   * checked (mirror), deletions run if allowed, and directory metadata is applied deepest first.
   */
  finalize(manifestComplete: boolean): void {
    this.flush();
    // Empty directories whose mkdir is still queued: made here, before deletions and metadata.
    this.makeQueuedDirs();
    if (this.init.options.mode === 'mirror' && !this.init.singleFile) {
      for (const d of this.manifestDirs) {
        if (!this.listed.has(key(d.rel)) && !this.fresh.has(key(d.rel))) {
          this.listed.add(key(d.rel));
          this.diffListing(emptyListing(d.rel));
        }
      }
      if (!this.listed.has('') && !this.fresh.has('')) this.diffListing(emptyListing(Buffer.alloc(0)));
      this.deleteExtras(manifestComplete);
    }
    if (!this.dryRun) this.applyDirMeta();
  }

  private deleteExtras(manifestComplete: boolean): void {
    const seen = new Set<string>();
    const inManifest = this.relisted && this.manifestRels ? this.manifestRels.keys() : undefined;
    let candidates = this.deleteCandidates.filter((c) => {
      const k = key(c.rel);
      if (seen.has(k) || inManifest?.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (candidates.length === 0) return;
    if (this.init.options.filter.gitignore) {
      const gi = this.gitignoreFilter();
      candidates = candidates.filter((c) => !gi.excludes(c.rel, c.kind === 'dir'));
    }
    if (!manifestComplete || this.deletionsUnsafe) {
      this.counts.deletionsSkipped += candidates.length;
      this.fail(Buffer.alloc(0), ErrorCodes.ScanIncomplete, `${candidates.length} deletion(s) skipped: the ${manifestComplete ? 'destination' : 'source'} scan was incomplete`);
      return;
    }
    const gi = this.init.options.filter.gitignore ? this.gitignoreFilter() : undefined;
    if (!this.init.options.deleteConfirmed) {
      // Reported (the CLI lists them and may ask, then run a confirmed pass), not performed;
      // counted entry by entry with a dry-run walk, as the confirmed pass will count them
      // (the local engine's rule: "Delete N entries?" then "N deleted").
      const held = { n: 0 };
      for (const c of candidates) this.deleteTree(c.rel, c.kind, gi, held);
      this.counts.deletionsSkipped += held.n;
      return;
    }
    for (const c of candidates) this.deleteTree(c.rel, c.kind, gi);
  }

  /**
   * Remove `rel` (recursively), keeping anything a filter excludes below it. Returns true if gone.
   * With `held`, nothing is removed: each entry that would go is reported and counted in held.n.
   */
  private deleteTree(rel: Buffer, kind: EntryKind, gi: Filter | undefined, held?: { n: number }, all = false): boolean {
    try {
      const abs = this.pathOf(rel);
      if (!held && !all && createdSince(abs, this.startedAt)) {
        this.counts.deletionsSkipped++;
        this.fail(rel, ErrorCodes.DestinationChanged, CREATED_NOT_DELETED);
        return false;
      }
      if (kind === 'dir') {
        if (!this.removeDir(rel, gi, held, all)) return false;
      } else if (!this.dryRun && !held) {
        fs.unlinkSync(abs);
      }
      if (held) {
        held.n++;
      } else {
        this.counts.entriesDeleted++;
        this.touch(rel);
      }
      this.init.hooks.item('delete', rel, kind, 0);
      return true;
    } catch (err) {
      if (held) {
        // An unreadable directory still counts as the one entry we know of (the local rule).
        held.n++;
        this.init.hooks.item('delete', rel, kind, 0);
        return true;
      }
      this.failWith(err, rel, 'cannot delete');
      return false;
    }
  }

  /**
   * deleteTree's directory `rel`: its children, then itself; true when it went (in a dry run or
   * held: when it would). Without owner rwx (a 0555 directory) its children cannot go: u+rwx
   * first, as rsync's delete_dir_contents, the mode found put back if the directory stays
   * (excluded entries kept, a failure, its own rmdir refused: the local engine's delete.ts does
   * the same). Throws what reading or removing it throws.
   */
  private removeDir(rel: Buffer, gi: Filter | undefined, held: { n: number } | undefined, all: boolean): boolean {
    const empty = (): boolean => {
      let kept = false;
      // Read through the directory pinned beneath the module root: a swapped-in symlink fails.
      for (const d of fs.readdirSync(this.dirOf(rel), { withFileTypes: true, encoding: 'buffer' })) {
        const childRel = join2(rel, d.name);
        const isDir = d.isDirectory();
        if (!all && (this.filter.excludes(childRel, isDir) || gi?.excludes(childRel, isDir))) {
          kept = true;
          continue;
        }
        if (!this.deleteTree(childRel, isDir ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'file', gi, held, all)) kept = true;
      }
      if (kept) return false;
      if (!this.dryRun && !held) {
        // Asked again: the recursion may have addressed more directories than the anchor keeps
        // a dropped fd for (daemon/beneath.ts), so a path from before it may be stale.
        fs.rmdirSync(this.pathOf(rel));
        this.init.anchor?.forget(rel);
      }
      return true;
    };
    if (this.dryRun || held) return empty();
    // Asked at each use: the recursion may evict the directory's pinned fd (see deleteTree).
    return whileWritable(() => this.dirOf(rel), fs.statSync(this.dirOf(rel)).mode, empty);
  }

  /** .gitignore rules as they are now in the destination, for each directory the manifest has one. */
  private gitignoreFilter(): Filter {
    const gi = new Filter({ excludes: [], includes: [], gitignore: true });
    for (const d of [Buffer.alloc(0), ...this.manifestDirs.map((e) => e.rel)]) {
      try {
        gi.addGitignore(d, readFileNoFollow(join2(this.dirOf(d), GITIGNORE)).toString('utf8'));
      } catch {
        // no .gitignore there (or a symlink: not followed, as git and the walk)
      }
    }
    return gi;
  }

  private applyDirMeta(): void {
    const fix = new Map<string, Entry>();
    for (const d of this.dirsToFix) fix.set(key(d.rel), d);
    for (const k of this.touched) {
      const d = this.dirByKey.get(k);
      if (d) fix.set(k, d);
    }
    const dirs = [...fix.values()].filter((d) => !this.failedDirs.covers(d.rel)).sort((a, b) => depth(b.rel) - depth(a.rel));
    if (this.rootEntry) dirs.push(this.rootEntry);
    // Their modes are restored here (the source's), or a failure named; any other: close().
    for (const d of dirs) this.tweaks.settled(d.rel);
    const failed = (d: Entry, err: unknown): void => {
      this.metaFailed.add(key(d.rel));
      this.failWith(err, d.rel, 'cannot set directory metadata');
    };
    const anchor = this.init.anchor;
    const beneath = anchor?.beneath;
    const inC = beneath && loadDirMetaBeneath();
    if (anchor && beneath && inC) {
      // One foreign call per chunk (blit_dir_meta_beneath): each directory opened in C beneath the
      // module root (openat2 with the anchor's RESOLVE bits: a directory swapped for a symlink
      // since the transfer fails there, EXDEV/ELOOP -> PathEscape naming it), then chown, chmod,
      // utimensat through that fd, closed: no per-directory openat2 call from JS, no cached fd.
      const CHUNK = 1024;
      for (let i = 0; i < dirs.length; i += CHUNK) {
        const chunk = dirs.slice(i, i + CHUNK);
        const items: DirMetaItem[] = chunk.map((d) => {
          const m = anchor.modRel(d.rel);
          swapForTest(beneath.root, m);
          return { path: m, mode: d.mode, uid: d.uid, gid: d.gid, mtimeNs: d.mtimeNs };
        });
        for (const { at, error } of inC(beneath.fd, items, this.init.meta.preserveOwner, RESOLVE)) {
          const d = chunk[at]!;
          failed(d, error.syscall === 'openat2' ? beneathError(error.errno, 'openat2', d.rel) : error);
        }
      }
      return;
    }
    const batch = loadDirMetaBatch();
    if (!batch) {
      for (const d of dirs) {
        try {
          // The directory itself as pinned (chmod/utimens follow /proc/self/fd/N to it, never a swap).
          applyDirMeta(this.dirOf(d.rel), d, this.init.meta);
        } catch (err) {
          failed(d, err);
        }
      }
      return;
    }
    // One foreign call per chunk (blit_dir_meta_batch: chown, chmod, utimensat per directory).
    // Each directory is addressed as pinned (/proc/self/fd/N, opened beneath the module root) and
    // held (acquire) until the call returns, so the anchor cannot evict and close it meanwhile;
    // 256 per chunk keeps the held fds well below the anchor's cache size.
    const CHUNK = 256;
    for (let i = 0; i < dirs.length; i += CHUNK) {
      const held: Entry[] = [];
      const items: DirMetaItem[] = [];
      try {
        for (const d of dirs.slice(i, i + CHUNK)) {
          let path: Buffer;
          try {
            path = this.acquireDir(d.rel);
          } catch (err) {
            failed(d, err); // ENOENT, or PathEscape when a directory was swapped for a symlink
            continue;
          }
          held.push(d);
          items.push({ path, mode: d.mode, uid: d.uid, gid: d.gid, mtimeNs: d.mtimeNs });
        }
        for (const { at, error } of batch(items, this.init.meta.preserveOwner)) failed(held[at]!, error);
      } finally {
        for (const d of held) this.releaseDir(d.rel);
      }
    }
  }

  /**
   * move, after finalize(): the directories in place here, each with its manifest index: made
   * (its mkdir settled) or found as a directory, its metadata set, every directory above it made
   * or found too (the root always: prepareRoot ended the transfer otherwise). The source removes
   * only these once emptied: one this side failed to create (and all below it), or whose
   * attributes it could not set, stays there, since empty it would be lost from both sides.
   */
  dirsInPlace(): Array<{ index: number; rel: Buffer }> {
    const present = new Map<string, boolean>();
    const isPresent = (rel: Buffer): boolean => {
      if (rel.length === 0) return true;
      const k = key(rel);
      let p = present.get(k);
      if (p === undefined) {
        p = this.placed.has(k) && !this.failedDirs.covers(rel) && isPresent(parentRel(rel));
        present.set(k, p);
      }
      return p;
    };
    return [...this.dirIndex].filter(([k, d]) => !this.metaFailed.has(k) && isPresent(d.rel)).map(([, d]) => d);
  }

  summary(startedAt: number, extra: Partial<TransferSummary>): TransferSummary {
    const durationMs = Date.now() - startedAt;
    return {
      ...this.counts,
      failures: this.failures,
      durationMs,
      firstByteMs: null,
      dryRun: this.dryRun,
      bytesPerSecond: durationMs > 0 ? (this.counts.bytesTransferred * 1000) / durationMs : 0,
      ...extra,
    };
  }
}

/** SmallDir.made: not created by this transfer, mkdir queued on a writer lane, made, failed. */
const DirMade = { Existed: 0, Queued: 1, Made: 2, Failed: 3 } as const;
type DirMade = (typeof DirMade)[keyof typeof DirMade];

interface SmallDir {
  rel: Buffer;
  lane: number;
  made: DirMade;
}

/** A writer thread's error for file `rel` (errno-style, or PathEscape from an anchored open). */
function writeError(err: NodeJS.ErrnoException, rel: Buffer): BlitError {
  if (err.code === ErrorCodes.PathEscape) return new BlitError({ code: ErrorCodes.PathEscape, message: `cannot write: ${err.message}`, path: displayPath(rel) });
  return fromErrno(err, displayPath(rel), 'cannot write', 'destination');
}

function entryOf(l: Listing, i: number): Entry {
  return l.entries[i] ?? l.packed!.entryAt(i);
}

function emptyListing(dir: Buffer): Listing {
  return { dir, entries: [], indices: [], checksums: undefined, packed: undefined };
}

/**
 * The rsync rule for a destination path: DST may be created, but only DST: the directory it is
 * created in must exist (with `mkpath`, Destination.prepareRoot creates it instead). `abs` is the
 * resolved destination path `rel` inside `module`; its last `dstDepth` components are DST and
 * below it (2 when a named source directory lands as DST/NAME). Throws InvalidPath /
 * NotADirectory naming that directory as module/path. A DST that is a file is refused with or
 * without `mkpath` (which only creates what is missing).
 */
export function requireDstParent(abs: Buffer, rel: Buffer, dstDepth: number, module: string, mkpath: boolean): void {
  const relParts = rel.toString('latin1').split('/').filter((p) => p !== '' && p !== '.');
  if (dstDepth === 2) {
    // `copy d HOST:DST` with DST a file: named as the local engine and a pull name it (DST),
    // not as the ENOTDIR of DST/d that prepareRoot met.
    let dstSt: fs.Stats | undefined;
    try {
      dstSt = fs.statSync(parentRel(abs));
    } catch {
      // missing (created), or unreadable: the checks below and prepareRoot say why
    }
    if (dstSt && !dstSt.isDirectory()) throw notADirectory('destination exists', `${module}/${displayPath(Buffer.from(relParts.slice(0, -1).join('/'), 'latin1'))}`);
  }
  if (mkpath) return; // prepareRoot creates the missing parents (and names one that is a file)
  if (relParts.length <= dstDepth) return; // DST is created in the module root
  let parentAbs = abs;
  for (let i = 0; i < dstDepth; i++) parentAbs = parentRel(parentAbs);
  const shown = `${module}/${displayPath(Buffer.from(relParts.slice(0, relParts.length - dstDepth).join('/'), 'latin1'))}`;
  let st: fs.Stats;
  try {
    st = fs.statSync(parentAbs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'destination parent directory does not exist', path: shown });
    }
    throw fromErrno(err, shown, 'destination parent', 'destination');
  }
  if (!st.isDirectory()) throw notADirectory('destination parent', shown);
}

function tempPathForName(dir: Buffer, name: Buffer): Buffer {
  return tempPathFor(dir, name);
}

function skipBytes(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}
