/**
 * One batch of small received files, packed for a worker thread: every file's directory, name and
 * bytes are copied into one ArrayBuffer (moved to the worker, not cloned) and described by one
 * Float64Array of fixed-size records, so a batch of a hundred files is two transferable buffers
 * and no object per file. runSmallBatch writes each file the engine's way (AtomicFile: O_EXCL
 * temp in the destination directory, data, mode/mtime, rename) on whichever thread runs it: a
 * worker normally, the main thread while the workers are still starting. With the native batch
 * library the whole batch is one foreign call (see runSmallBatch).
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import type { Entry } from '../engine/types';
import { AtomicFile, reserveTempNames } from '../engine/atomic';
import { ensureDir, type MetaOptions } from '../engine/metadata';
import { baseName, join2, parentRel } from '../engine/paths';
import { openBeneathChecked, swapForTest } from '../daemon/beneath';

/** 8-byte fields per file record (Float64, but field MTIME is an int64 of ns). */
const REC = 10;
const MTIME = 7;
/** Field: what the record is (RecordKind). */
const KIND = 8;

/**
 * A record is a file (written into its directory) or a directory to create (mkdir, mode 0700
 * until the destination's final metadata pass). ANCHORED: its directory bytes are a path below
 * the module root, opened with openat2 beneath the module root fd (SmallWorkerInit.beneath) on
 * the writing thread (the daemon's use-time containment, daemon/beneath.ts); otherwise a plain
 * path. A directory record's bytes are the base (the transfer root: absolute, or module-relative
 * when anchored) and the directory's path relative to it; missing parents are created the same way
 * (another lane may not have reached its own mkdir yet).
 */
export const RecordKind = { File: 0, AnchoredFile: 1, Mkdir: 2, AnchoredMkdir: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];
const ANCHORED = 1;
const MKDIR = 2;

export interface SmallBatchRequest {
  batch: number;
  count: number;
  meta: Float64Array;
  bytes: ArrayBuffer;
}

/**
 * Files of the batch that failed (by position in the batch), with errno code and message; the
 * batch's buffers come back (moved, not copied) so the next batch reuses them instead of
 * allocating (and zero-filling) half a MiB per batch.
 */
export interface SmallBatchReply {
  batch: number;
  failed: { i: number; code: string; message: string }[];
  meta?: Float64Array;
  bytes?: ArrayBuffer;
}

export interface SmallWorkerInit {
  meta: MetaOptions;
  /** The daemon's module root, opened (DirAnchor.beneath): anchored records are resolved beneath it. */
  beneath?: Beneath;
}

export interface Beneath {
  fd: number;
  /** The module root's path (for the containment tests' swap hook only). */
  root: string;
}

/** Builds one batch; the caller flushes it when `full` or at the end of an event-loop turn. */
export class SmallBatchBuilder {
  count = 0;
  private used = 0;
  private meta: Float64Array;
  /** The same records as int64 (the mtime field: ns, exact, without BigInt arithmetic). */
  private meta64: BigInt64Array;
  private bytes: Uint8Array;

  /** `reuse`: the buffers of a finished batch of the same limits. */
  constructor(readonly maxFiles: number, readonly maxBytes: number, reuse?: { meta: Float64Array; bytes: ArrayBuffer }) {
    this.meta = reuse?.meta ?? new Float64Array(maxFiles * REC);
    this.meta64 = new BigInt64Array(this.meta.buffer, this.meta.byteOffset, this.meta.length);
    this.bytes = new Uint8Array(reuse?.bytes ?? new ArrayBuffer(maxBytes));
  }

  /** Would a file of this many bytes (data + path) still fit? (An empty batch takes anything.) */
  fits(n: number): boolean {
    return this.count === 0 || (this.count < this.maxFiles && this.used + n <= this.bytes.length);
  }

  get full(): boolean {
    return this.count >= this.maxFiles || this.used >= this.bytes.length;
  }

  /** Copy one file in (the chunks may be reused by the caller as soon as this returns). */
  add(dirAbs: Buffer, name: Buffer, chunks: Buffer[], size: number, e: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, kind: RecordKind = RecordKind.File): void {
    let o = this.open(dirAbs, name, size, e, kind);
    for (const c of chunks) {
      this.bytes.set(c, o);
      o += c.length;
    }
    this.confirm();
  }

  /**
   * Start a record whose `size` data bytes the caller copies into `buffer` at the returned offset
   * (as they arrive: a receiving worker copies them straight from its read buffer); it joins the
   * batch at confirm(). Until then the next open() replaces it (a file that failed half-way).
   */
  open(dirAbs: Buffer, name: Buffer, size: number, e: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, kind: RecordKind): number {
    const need = dirAbs.length + name.length + size;
    if (this.used + need > this.bytes.length) {
      // Only an empty batch gets here (fits() said so): grow it for this one file.
      const grown = new Uint8Array(new ArrayBuffer(this.used + need));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const m = this.meta;
    const r = this.count * REC;
    let o = this.used;
    m[r] = o;
    m[r + 1] = dirAbs.length;
    this.bytes.set(dirAbs, o);
    o += dirAbs.length;
    m[r + 2] = name.length;
    this.bytes.set(name, o);
    o += name.length;
    m[r + 3] = size;
    m[r + 4] = e.mode;
    m[r + 5] = e.uid;
    m[r + 6] = e.gid;
    // mtime in ns does not fit a double: stored as int64 in the same slot.
    this.meta64[r + MTIME] = e.mtimeNs;
    m[r + KIND] = kind;
    this.opened = o + size;
    return o;
  }

  /** The batch's bytes (open() records' data goes here). */
  get buffer(): Uint8Array {
    return this.bytes;
  }

  private opened = 0;

  /** The record of the last open() joins the batch. */
  confirm(): void {
    this.used = this.opened;
    this.count++;
  }

  /** The packed batch (this builder must not be used afterwards). */
  take(batch: number): SmallBatchRequest {
    return { batch, count: this.count, meta: this.meta, bytes: this.bytes.buffer as ArrayBuffer };
  }
}

/**
 * Write every file of a batch; never throws (failures are returned per record). Directory records
 * run first, in order (a lane queues a directory before its files; see RecordKind), anchored
 * files' directories are then opened beneath the module root (one openat2 per run of records of
 * one directory, closed at the end) and their files written relative to that fd. With the native
 * batch library (@blit/native writeBatch: temp, write, meta, rename of every file in one foreign
 * call) the files are one call; a file it
 * could not write is done again through AtomicFile, which reports it with the usual errno error (or
 * succeeds). Without it, AtomicFile per file.
 */
export function runSmallBatch(req: SmallBatchRequest, opts: MetaOptions, beneath?: Beneath): SmallBatchReply {
  const m = req.meta;
  let files: number[] | undefined; // the file records, when the batch holds other kinds
  let dirFds: number[] | undefined; // per record: an anchored file's directory, opened beneath the module root
  let failed: SmallBatchReply['failed'] | undefined;
  let opened: number[] | undefined;
  for (let i = 0; i < req.count; i++) {
    if (m[i * REC + KIND] !== RecordKind.File) {
      files = [];
      break;
    }
  }
  if (files) {
    failed = [];
    dirFds = [];
    opened = [];
    let lastDir: Buffer | undefined;
    let lastFd = -1;
    let lastErr: unknown;
    for (let i = 0; i < req.count; i++) {
      const r = i * REC;
      const kind = m[r + KIND]!;
      const o = m[r]!;
      const dirBytes = Buffer.from(req.bytes, o, m[r + 1]!);
      try {
        if (kind & MKDIR) {
          makeDir(dirBytes, Buffer.from(req.bytes, o + dirBytes.length, m[r + 2]!), kind & ANCHORED ? need(beneath) : undefined);
          continue;
        }
        if (kind & ANCHORED) {
          if (!lastDir || !lastDir.equals(dirBytes)) {
            lastDir = dirBytes;
            lastFd = -1;
            lastErr = undefined;
            try {
              lastFd = openDirBeneath(need(beneath), dirBytes);
              opened.push(lastFd);
            } catch (err) {
              lastErr = err;
            }
          }
          if (lastFd < 0) throw lastErr;
          dirFds[i] = lastFd;
        }
        files.push(i);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        failed.push({ i, code: e.code ?? 'EIO', message: e.message });
      }
    }
  }
  try {
    const out = writeFiles(req, opts, files, dirFds);
    if (!failed || failed.length === 0) return out;
    failed.push(...out.failed);
    failed.sort((a, b) => a.i - b.i);
    return { ...out, failed };
  } finally {
    if (opened) for (const fd of opened) fs.closeSync(fd);
  }
}

function need(b: Beneath | undefined): Beneath {
  if (!b) throw Object.assign(new Error('anchored record without the module root'), { code: 'EIO' });
  return b;
}

/** Directory `m` (module-relative) opened beneath the module root: PathEscape if a symlink is on the way. */
export function openDirBeneath(b: Beneath, m: Buffer): number {
  const open = native.loadOpenBeneath().open;
  if (!open) throw Object.assign(new Error('openat2 is not available'), { code: 'EIO' });
  swapForTest(b.root, m);
  return openBeneathChecked(open, b.fd, m, m);
}

/**
 * Create directory `rel` below `base` (mode 0700; an existing directory is fine), its missing
 * parents first. Anchored: `base` is module-relative, every mkdir addressed through its parent
 * opened beneath the module root (no symlink followed), as DirAnchor.path does on the main thread.
 */
export function makeDir(base: Buffer, rel: Buffer, b: Beneath | undefined): void {
  if (rel.length === 0) return; // the transfer root: created by prepareRoot
  const parent = parentRel(rel);
  for (let attempt = 0; ; attempt++) {
    try {
      if (!b) {
        ensureDir(join2(base, rel));
        return;
      }
      const pm = base.length === 0 ? parent : parent.length === 0 ? base : join2(base, parent);
      const pfd = openDirBeneath(b, pm);
      try {
        ensureDir(Buffer.concat([Buffer.from(`/proc/self/fd/${pfd}/`), baseName(rel)]));
      } finally {
        fs.closeSync(pfd);
      }
      return;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { errno?: number };
      const enoent = e.code === 'ENOENT' || e.errno === 2 || e.errno === -2;
      if (!enoent || attempt > 0 || parent.length === 0) throw err;
      makeDir(base, parent, b);
    }
  }
}

/**
 * The file records `files` (all when undefined); `dirFds[i]`: an anchored record's directory fd,
 * which the native batch creates and renames relative to (openat/renameat: no /proc/self/fd/N
 * path resolved per file).
 */
function writeFiles(req: SmallBatchRequest, opts: MetaOptions, files: number[] | undefined, dirFds: number[] | undefined): SmallBatchReply {
  const n = files ? files.length : req.count;
  const nb = native.loadNativeBatch();
  if (!nb || n > native.MAX_BATCH_FILES) return runPerFile(req, opts, files, dirFds);
  if (n === 0) return { batch: req.batch, failed: [], meta: req.meta, bytes: req.bytes };
  const m = req.meta;
  const m64 = new BigInt64Array(m.buffer, m.byteOffset, m.length);
  const items: native.WriteItem[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = files ? files[k]! : k;
    const r = i * REC;
    const o = m[r]!;
    const dirLen = m[r + 1]!;
    const nameLen = m[r + 2]!;
    items[k] = {
      dir: Buffer.from(req.bytes, o, dirLen),
      dirFd: dirFds?.[i],
      name: Buffer.from(req.bytes, o + dirLen, nameLen),
      data: new Uint8Array(req.bytes, o + dirLen + nameLen, m[r + 3]!),
      mode: m[r + 4]!,
      uid: m[r + 5]!,
      gid: m[r + 6]!,
      mtimeNs: m64[r + MTIME]!,
    };
  }
  const out = nb.writeBatch(items, { preserveOwner: opts.preserveOwner, umask: opts.umask, temp: reserveTempNames(items.length) });
  let redo: number[] | undefined;
  for (let k = 0; k < out.length; k++) if (out[k]!.status !== 'done') (redo ??= []).push(files ? files[k]! : k);
  return redo ? runPerFile(req, opts, redo, dirFds) : { batch: req.batch, failed: [], meta: req.meta, bytes: req.bytes };
}

/**
 * The files `only` (all when undefined) through AtomicFile, one at a time (node:fs takes paths:
 * an anchored record's directory is addressed as /proc/self/fd/N of its fd, the directory as
 * opened beneath the module root).
 */
function runPerFile(req: SmallBatchRequest, opts: MetaOptions, only: number[] | undefined, dirFds: number[] | undefined): SmallBatchReply {
  const failed: SmallBatchReply['failed'] = [];
  const m = req.meta;
  const m64 = new BigInt64Array(m.buffer, m.byteOffset, m.length);
  const n = only ? only.length : req.count;
  for (let k = 0; k < n; k++) {
    const i = only ? only[k]! : k;
    const r = i * REC;
    let o = m[r]!;
    const dirLen = m[r + 1]!;
    const fd = dirFds?.[i];
    const dir = fd !== undefined ? Buffer.from(`/proc/self/fd/${fd}`) : Buffer.from(req.bytes, o, dirLen);
    o += dirLen;
    const nameLen = m[r + 2]!;
    const name = Buffer.from(req.bytes, o, nameLen);
    o += nameLen;
    const size = m[r + 3]!;
    const mode = m[r + 4]!;
    let atomic: AtomicFile | undefined;
    try {
      // Created with its final permission bits: commit() skips fchmod when the umask kept them.
      atomic = new AtomicFile(dir, name, mode & 0o777);
      if (size > 0) atomic.write(new Uint8Array(req.bytes, o, size));
      atomic.commit({ mode, uid: m[r + 5]!, gid: m[r + 6]!, mtimeNs: m64[r + MTIME]! }, opts);
    } catch (err) {
      atomic?.abort();
      const e = err as NodeJS.ErrnoException;
      failed.push({ i, code: e.code ?? 'EIO', message: e.message });
    }
  }
  return { batch: req.batch, failed, meta: req.meta, bytes: req.bytes };
}
