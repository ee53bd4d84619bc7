/**
 * The source side of a remote transfer: the client for push, the daemon for pull. Walks the local
 * tree with the engine's walker (filters applied here, at the source), numbers every entry in the
 * order it is sent (the manifest index the destination's needs refer to), and hands out the files
 * the destination asks for.
 */
import * as fs from 'node:fs';
import { BlitError, ErrorCodes, fromErrno, notADirectory } from '../engine/errors';
import type { Filter } from '../engine/filter';
import { HashQueue, HashStopped, openToHash } from '../engine/checksum';
import { baseName, displayPath, EMPTY, join2, parentRel } from '../engine/paths';
import { statEntry, walk } from '../engine/walk';
import type { Entry, Failure } from '../engine/types';
import { decodeRecord, fileRecordAt, ManifestPacker } from './manifest-pack';
import { nativeScanner, type ScanCursor } from '../engine/scan-dir';
import type { OutgoingFile } from './data-sender';
import type { DirAnchor } from '../daemon/beneath';

export interface SourceInit {
  /** Absolute path of the source (a directory, or a single file or symlink). */
  abs: Buffer;
  filter: Filter;
  checksum: boolean;
  signal?: AbortSignal;
  /** How the source is named in errors (a daemon never shows its own absolute paths). */
  shown?: string;
  onError(f: Failure): void;
  /** An entry the manifest leaves out (FIFO, socket, device), as the local walk reports it. */
  onSkipped?: (rel: Buffer, why: string) => void;
  /**
   * The daemon's use-time containment (daemon/beneath.ts), built for the directory the entries are
   * relative to: the files handed out are addressed through directories opened beneath the module
   * root. Closed by close().
   */
  anchorAt?: (rootAbs: Buffer) => DirAnchor;
}

/** Entries per ManifestBatch: small enough to start the destination early, big enough to be cheap. */
export const MANIFEST_BATCH = 1000;
/**
 * A batch goes out early once the walk spent this long on it: every batch is a turn of the event
 * loop (see batches()), and on a slow disk or a busy machine 1000 entries took 40-230 ms, a wait
 * for every need, data-stream accept and negotiation that arrived meanwhile.
 */
const BATCH_MS = 15;

const DOT = Buffer.from('.');

/** Source files hashed at once for the manifest (--checksum): reads on the libuv pool. */
const HASHES_AT_ONCE = 2;
/** Files of one listing queued for their hash at a time. */
const HASH_SLICE = 256;

const SLASH_DOT = Buffer.from('/.');

export class ManifestSource {
  /**
   * Every entry sent, by manifest index, kept as the packed batches that went out: record i is
   * at byte recOff[i] of packed[recBatch[i]]. An Entry is decoded again only for a file the
   * destination needs (a no-op mirror of 100k files kept 100k Entries, rel Buffers and BigInts
   * alive on the source; the GC's copying of them was ~0.15 s of a push's client CPU).
   */
  private readonly packed: Buffer[] = [];
  private readonly recBatch: number[] = [];
  private readonly recOff: number[] = [];
  /** Absolute path of the directory the entries are relative to. */
  readonly rootAbs: Buffer;
  complete = true;
  readonly failures: Failure[] = [];
  private readonly single: Entry | undefined;
  /** Per manifest index: asked for already (a byte each; a Set of 100k numbers cost ~50 ms). */
  private requested = new Uint8Array(1024);
  private readonly anchor: DirAnchor | undefined;

  constructor(private readonly init: SourceInit) {
    const shown = init.shown ?? displayPath(init.abs);
    // With an anchor the source itself is looked at through its parent opened beneath the module
    // root (a parent swapped for a symlink: PathEscape, not the lstat of something outside).
    let anchor = init.anchorAt?.(init.abs);
    try {
      let st: fs.Stats;
      try {
        st = fs.lstatSync(anchor ? anchor.rootEntry(shown) : init.abs);
      } catch (err) {
        // `FILE/` (looked at as FILE/.): worded as the local engine and a pull word it.
        if ((err as NodeJS.ErrnoException).code === 'ENOTDIR' && init.abs.subarray(-2).equals(SLASH_DOT)) throw notADirectory('source ends in /', shown);
        throw fromErrno(err, shown, 'source');
      }
      if (st.isDirectory()) {
        this.rootAbs = init.abs;
      } else {
        // A single file (or symlink) lands inside the destination directory under its own name.
        anchor?.close();
        anchor = undefined;
        const slash = init.abs.lastIndexOf(0x2f);
        this.rootAbs = slash <= 0 ? Buffer.from('/') : init.abs.subarray(0, slash);
        anchor = init.anchorAt?.(this.rootAbs);
        let e: Entry | null;
        try {
          e = statEntry(anchor ? anchor.path(baseName(init.abs)) : init.abs, baseName(init.abs));
        } catch (err) {
          throw fromErrno(err, shown, 'source');
        }
        if (!e) throw new BlitError({ code: ErrorCodes.SourceNotFound, message: 'not a regular file, directory or symlink', path: shown });
        this.single = e;
      }
    } catch (err) {
      anchor?.close();
      throw err;
    }
    this.anchor = anchor;
  }

  /** Path of entry `rel`: below the pinned parent directory with an anchor. */
  private pathOf(rel: Buffer): Buffer {
    return this.anchor ? this.anchor.path(rel) : join2(this.rootAbs, rel);
  }

  /** Release the anchor's directory fds (once no sender uses the paths any more). */
  close(): void {
    this.closed = true;
    this.anchor?.close();
  }

  /** close() was called: hashes still running for the manifest stop. */
  private closed = false;

  /** The source is a directory (its contents are the transfer), not a single file. */
  get isDir(): boolean {
    return this.single === undefined;
  }

  /** Yields packed wire batches of the manifest (ManifestBatch.packed); read `.complete` when done. */
  async *batches(): AsyncGenerator<Buffer> {
    // --checksum: each listing's files hashed off the event loop before they are packed (a pull
    // with --checksum read every file of the module synchronously on blitd's loop).
    const hashes = this.init.checksum ? new HashQueue(HASHES_AT_ONCE, () => this.closed || this.init.signal?.aborted === true) : undefined;
    const packer = new ManifestPacker();
    // Batches cut while a directory is read wait here until its listing is done.
    const ready: Array<{ buf: Buffer; offsets: number[] }> = [];
    let batchStarted = performance.now();
    const cut = (): void => {
      ready.push(packer.take());
      batchStarted = performance.now();
    };
    // A huge directory is split over several batches (gRPC message size); the destination
    // joins consecutive entries of one directory back into one listing.
    const added = (): void => {
      const n = packer.count;
      if (n >= MANIFEST_BATCH || ((n & 63) === 0 && performance.now() - batchStarted > BATCH_MS)) cut();
    };
    // An mtime the record cannot carry: named, the entry left out, the scan incomplete (a mirror
    // then deletes nothing, as it must not delete the destination's copy of an entry not sent).
    let outOfRange = false;
    const refuse = (rel: Buffer): void => {
      outOfRange = true;
      this.failed(new BlitError({ code: ErrorCodes.IoError, message: 'modification time outside what a manifest carries (the years 1677-2262)', path: displayPath(rel) || '.' }));
    };
    const take = (e: Entry, sum?: Buffer | BlitError): void => {
      if (sum instanceof BlitError) this.failed(sum);
      if (!packer.addEntry(e, sum instanceof BlitError ? undefined : sum)) return refuse(e.rel);
      added();
    };
    /** take() for one listing, its files' checksums first (--checksum); false: cancelled meanwhile. */
    const takeAll = async (entries: Entry[]): Promise<boolean> => {
      const sums = hashes ? await this.checksumsOf(entries, hashes) : undefined;
      if (this.init.signal?.aborted) return false;
      for (let i = 0; i < entries.length; i++) take(entries[i]!, sums?.[i]);
      return true;
    };
    const self = this;
    async function* drain(): AsyncGenerator<Buffer> {
      for (const { buf, offsets } of ready.splice(0)) {
        const b = self.packed.length;
        for (const o of offsets) {
          self.recOff.push(o);
          self.recBatch.push(b);
        }
        self.packed.push(buf);
        yield buf;
        // The walk is synchronous and a gRPC write only queues: without a turn of the event loop
        // here the whole manifest was built before the call's header, the daemon's needs or the
        // data streams could move (push of `mixed`: first byte 1.6-3.5 s instead of ~0.4 s).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (this.single) {
      if (!(await takeAll([this.single]))) {
        this.complete = false;
        return;
      }
      if (packer.count > 0) cut();
      yield* drain();
      this.complete = !outOfRange;
      return;
    }
    // With an anchor: the root through its pinned fd (`/proc/self/fd/N/.`), each directory read
    // through an fd opened beneath the module root in the native scan (beneath.scanDir), never by
    // its joined path; a .gitignore is read through its pinned parent, never following a symlink.
    const a = this.anchor;
    const root = statEntry(a ? join2(a.listDir(EMPTY), DOT) : this.rootAbs, EMPTY);
    if (root) take(root);
    // With the native scanner the walk hands over scan records, packed without an Entry each
    // (a no-op push of 100k files spent ~0.15 s of client CPU building and packing Entries).
    // Not with --checksum: the records are packed during the scan, the hashes come later.
    const onRecord = nativeScanner() === undefined || hashes ? undefined : (c: ScanCursor, dir: Buffer): number => {
      const kind = packer.addScan(c, dir);
      if (packer.outOfRange) refuse(c.joinName(dir));
      else if (kind !== 0) added();
      return kind;
    };
    const walker = walk(this.rootAbs, {
      filter: this.init.filter,
      noNames: true,
      ...(a ? { beneath: a } : {}),
      ...(onRecord ? { onRecord } : {}),
      ...(this.init.signal ? { signal: this.init.signal } : {}),
      ...(this.init.onSkipped ? { onSkipped: this.init.onSkipped } : {}),
      onError: (f) => {
        this.failures.push(f);
        this.init.onError(f);
      },
    });
    for (const listing of walker) {
      if (!onRecord && !(await takeAll(listing.entries))) {
        this.complete = false;
        return;
      }
      yield* drain();
    }
    if (packer.count > 0) cut();
    yield* drain();
    this.complete = walker.complete && !outOfRange;
  }

  /**
   * The manifest checksum of each regular file of `entries` (by position), or the error that
   * names one that could not be read: reported as its record is packed, in manifest order (the
   * hashes end in any order). Undefined for other kinds, and for hashes stopped by a cancel.
   */
  private async checksumsOf(entries: Entry[], hashes: HashQueue): Promise<Array<Buffer | BlitError | undefined>> {
    const one = async (e: Entry): Promise<Buffer | BlitError | undefined> => {
      if (e.kind !== 'file') return undefined;
      try {
        return Buffer.from(await hashes.hash(() => openToHash(this.pathOf(e.rel))), 'hex');
      } catch (err) {
        return err instanceof HashStopped ? undefined : fromErrno(err, displayPath(e.rel), 'cannot hash');
      }
    };
    // A slice at a time: a directory of a million files does not queue a million hashes at once.
    const out: Array<Buffer | BlitError | undefined> = [];
    for (let i = 0; i < entries.length; i += HASH_SLICE) out.push(...(await Promise.all(entries.slice(i, i + HASH_SLICE).map(one))));
    return out;
  }

  private failed(be: BlitError): void {
    const f = { path: be.path ?? '', code: be.code, reason: be.reasonAt(be.path ?? '') };
    this.failures.push(f);
    this.init.onError(f);
  }

  /** Entries sent so far (manifest indices 0 .. count - 1). */
  get count(): number {
    return this.recOff.length;
  }

  /** The entry sent under manifest index `index`, or undefined for any other number. */
  entryAt(index: number): Entry | undefined {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.recOff.length) return undefined;
    return decodeRecord(this.packed[this.recBatch[index]!]!, { o: this.recOff[index]! }).entry;
  }

  private byRel: Map<string, number> | undefined;

  /** Look an entry up by path (move: the daemon names the files it has). */
  entryByRel(rel: Buffer): Entry | undefined {
    if (!this.byRel || this.byRel.size !== this.count) {
      this.byRel = new Map();
      for (let i = 0; i < this.count; i++) this.byRel.set(this.entryAt(i)!.rel.toString('latin1'), i);
    }
    const i = this.byRel.get(rel.toString('latin1'));
    return i === undefined ? undefined : this.entryAt(i);
  }

  /** move: the directories of the manifest (its root '' included), for removeEmptiedDirs. */
  dirRels(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.entryAt(i)!;
      if (e.kind === 'dir') out.push(e.rel);
    }
    return out;
  }

  /**
   * move: remove directory `rel` of the manifest; throws when it is not empty (rmdir never
   * follows a symlink either). With an anchor, its name below its parent opened beneath the module
   * root (the root through the root's parent), and the module root itself never.
   */
  rmdir(rel: Buffer): void {
    const a = this.anchor;
    if (!a) return fs.rmdirSync(join2(this.rootAbs, rel));
    if (rel.length === 0) {
      if (a.atModuleRoot) throw new BlitError({ code: ErrorCodes.PermissionDenied, message: 'the module root is never removed' });
      fs.rmdirSync(a.rootEntry(this.init.shown ?? displayPath(this.init.abs)));
    } else {
      const pinned = this.pin(rel);
      try {
        fs.rmdirSync(pinned.abs);
      } finally {
        pinned.done();
      }
    }
    // Its own fd, cached if a file below it was sent or a directory below it removed through it,
    // would stay open on the removed directory until the pull ends (up to MAX_CACHED of them).
    a.forget(rel);
  }

  /**
   * The file behind a need index, checked: a real file of the manifest, asked for once. Read
   * straight from the packed record (fileRecordAt: no Entry per needed file).
   */
  fileFor(index: number): OutgoingFile {
    const e = Number.isSafeInteger(index) && index >= 0 && index < this.recOff.length ? fileRecordAt(this.packed[this.recBatch[index]!]!, this.recOff[index]!) : undefined;
    if (!e) {
      throw new BlitError({ code: ErrorCodes.BadFrame, message: `need for index ${index}, which is not a file of the manifest` });
    }
    if (index >= this.requested.length) {
      const grown = new Uint8Array(Math.max(index + 1, this.requested.length * 2));
      grown.set(this.requested);
      this.requested = grown;
    }
    if (this.requested[index] === 1) throw new BlitError({ code: ErrorCodes.BadFrame, message: `need for index ${index} sent twice`, path: displayPath(e.rel) });
    this.requested[index] = 1;
    if (!this.anchor) return { index, abs: join2(this.rootAbs, e.rel), entry: e };
    // Its directory is pinned when a sender takes it (take()), not while it waits in the queue:
    // an fd per queued file's directory ran a pull of 2,500 directories into EMFILE under a 2,000
    // limit (2026-11-21). Until then it has no path (an empty one fails to open, never a plain path).
    return { index, abs: EMPTY, entry: e };
  }

  /**
   * A sender takes file `f` of fileFor (SendQueue's take hook): with an anchor, its directory is
   * opened beneath the module root and stays pinned until release(f); f.abs is the file below it.
   * Throws PathEscape when a directory on the way was swapped for a symlink since the walk (an
   * errno-style error when it is gone). Again for a file already taken (put back): nothing.
   */
  take(f: OutgoingFile): void {
    if (!this.anchor || f.dir !== undefined) return;
    const rel = f.entry.rel;
    const slash = rel.lastIndexOf(0x2f);
    const dir = slash < 0 ? EMPTY : rel.subarray(0, slash);
    f.abs = join2(this.anchor.acquire(dir), slash < 0 ? rel : rel.subarray(slash + 1));
    f.dir = dir;
  }

  /**
   * Entry `rel` for an asynchronous user (move: the daemon removes a sent source): its path with
   * the directory pinned until done() (without an anchor: the joined path).
   */
  pin(rel: Buffer): { abs: Buffer; done(): void } {
    if (!this.anchor) return { abs: join2(this.rootAbs, rel), done: () => undefined };
    const a = this.anchor;
    const abs = join2(a.acquire(parentRel(rel)), baseName(rel));
    return { abs, done: () => a.release(parentRel(rel)) };
  }

  /** The sender is done with a file of fileFor (sent or failed): its directory, if take() pinned it, is released. */
  release(f: OutgoingFile): void {
    if (f.dir !== undefined) this.anchor?.release(f.dir);
  }
}
