/**
 * The sender's small files in one native call per batch (blit_read_batch): the sending stream's
 * worker (sendfile-worker.ts) used 5 node:fs calls per file (open, fstat, read, fstat, close),
 * each with its JS wrapper, and read one file at a time, so a cold page cache was read at queue
 * depth one (a cpu-prof of a 100k-file push: 55% of each worker's time in read(2)). Here a batch
 * is opened first, then read (read-ahead for the rest of the batch once a read would block),
 * checked against the listing (size and ns mtime after the read: a file changed meanwhile is
 * reported, never sent torn) and framed (FILE_START, DATA, FILE_END) in C; the worker writes the
 * frames as they are.
 *
 * The files travel from the main thread to the worker as the C side's own input records
 * (packJobs: one transferred buffer per batch, no object per file to clone on either side), and
 * the worker reports a batch as a count, its bytes and only the files that failed.
 *
 * Without the native library (not built, BLIT_NATIVE_BATCH=0) smallReader() is undefined and the
 * worker keeps its per-file node:fs path (on the same records, decoded by jobAt).
 */
import * as native from '@blit/native';
import type { FileJob, FileResult } from './sendfile-worker';
import { SourceChanged, readFailure } from './source-check';

export interface SmallRead {
  /** Frames of the files read whole, in order (valid until the next call on this thread). */
  frames: Buffer;
  /** Payload bytes in `frames`. */
  bytes: number;
  /** The files not sent (nothing of them is in `frames`), in order. */
  failed: FileResult[];
}

/** A batch of files as blit_read_batch's records (`recs.buffer` is its own: a structured clone copies just the records). */
export interface PackedJobs {
  recs: Uint8Array;
  count: number;
}

/** Pack files for the worker (main thread). */
export function packJobs(files: readonly { index: number; abs: Uint8Array; size: number; mtimeNs: bigint }[]): PackedJobs {
  const items: native.ReadItem[] = new Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    items[i] = { index: f.index, path: f.abs, size: f.size, mtimeNs: f.mtimeNs };
  }
  return { recs: native.packReadRecords(items), count: files.length };
}

/** The record at byte `off` as a FileJob (its path a Buffer view of the records). */
export function jobAt(recs: Uint8Array, off: number): FileJob {
  const it = native.readRecordItem(recs, off);
  return { index: it.index, abs: Buffer.from(it.path.buffer, it.path.byteOffset, it.path.length), size: it.size, mtimeNs: it.mtimeNs };
}

/**
 * The batch reader for this thread, or undefined without the native batch library: reads the
 * `count` records of `recs` (`job(k)` decodes the k-th, for the failures' messages).
 */
export function smallReader(): ((recs: Uint8Array, count: number, job: (k: number) => FileJob) => SmallRead) | undefined {
  const nb = native.loadNativeBatch();
  if (!nb) return undefined;
  return (recs, count, job) => {
    const { frames, bytes, failed } = nb.readRecords(recs, count);
    const out: FileResult[] = [];
    for (const { at, result: r } of failed) {
      const f = job(at);
      const err = r.status === 'changed' ? new SourceChanged() : native.batchError(r.status === 'not-run' ? { ...r, errno: 5, step: 'read' } : r, f.abs);
      out.push({ index: f.index, ok: false, ...readFailure(err) });
    }
    return { frames, bytes, failed: out };
  };
}
