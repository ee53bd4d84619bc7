/**
 * One batch of small received files, packed for a worker thread: every file's directory, name and
 * bytes are copied into one ArrayBuffer (moved to the worker, not cloned) and described by one
 * Float64Array of fixed-size records, so a batch of a hundred files is two transferable buffers
 * and no object per file. runSmallBatch writes each file the engine's way (AtomicFile: O_EXCL
 * temp in the destination directory, data, mode/mtime, rename) on whichever thread runs it: a
 * worker normally, the main thread while the workers are still starting. With the native batch
 * library the whole batch is one foreign call (see runSmallBatch).
 */
import * as native from '@blit/native';
import type { Entry } from '../engine/types';
import { AtomicFile, reserveTempNames } from '../engine/atomic';
import type { MetaOptions } from '../engine/metadata';

/** 8-byte fields per file record (Float64, but field MTIME is an int64 of ns). */
const REC = 10;
const MTIME = 7;

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
  add(dirAbs: Buffer, name: Buffer, chunks: Buffer[], size: number, e: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>): void {
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
    for (const c of chunks) {
      this.bytes.set(c, o);
      o += c.length;
    }
    m[r + 4] = e.mode;
    m[r + 5] = e.uid;
    m[r + 6] = e.gid;
    // mtime in ns does not fit a double: stored as int64 in the same slot.
    this.meta64[r + MTIME] = e.mtimeNs;
    this.used = o;
    this.count++;
  }

  /** The packed batch (this builder must not be used afterwards). */
  take(batch: number): SmallBatchRequest {
    return { batch, count: this.count, meta: this.meta, bytes: this.bytes.buffer as ArrayBuffer };
  }
}

/**
 * Write every file of a batch; never throws (failures are returned per file). With the native
 * batch library (@blit/native writeBatch: temp, write, meta, rename of every file in one foreign
 * call) the whole batch is one call; a file it could not write is done again through AtomicFile,
 * which reports it with the usual errno error (or succeeds). Without it, AtomicFile per file.
 */
export function runSmallBatch(req: SmallBatchRequest, opts: MetaOptions): SmallBatchReply {
  const nb = native.loadNativeBatch();
  if (!nb || req.count > native.MAX_BATCH_FILES) return runPerFile(req, opts, undefined);
  const m = req.meta;
  const m64 = new BigInt64Array(m.buffer, m.byteOffset, m.length);
  const items: native.WriteItem[] = new Array(req.count);
  for (let i = 0; i < req.count; i++) {
    const r = i * REC;
    const o = m[r]!;
    const dirLen = m[r + 1]!;
    const nameLen = m[r + 2]!;
    items[i] = {
      dir: Buffer.from(req.bytes, o, dirLen),
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
  for (let i = 0; i < out.length; i++) if (out[i]!.status !== 'done') (redo ??= []).push(i);
  return redo ? runPerFile(req, opts, redo) : { batch: req.batch, failed: [], meta: req.meta, bytes: req.bytes };
}

/** The files `only` (all when undefined) through AtomicFile, one at a time. */
function runPerFile(req: SmallBatchRequest, opts: MetaOptions, only: number[] | undefined): SmallBatchReply {
  const failed: SmallBatchReply['failed'] = [];
  const m = req.meta;
  const m64 = new BigInt64Array(m.buffer, m.byteOffset, m.length);
  const n = only ? only.length : req.count;
  for (let k = 0; k < n; k++) {
    const i = only ? only[k]! : k;
    const r = i * REC;
    let o = m[r]!;
    const dirLen = m[r + 1]!;
    const dir = Buffer.from(req.bytes, o, dirLen);
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
