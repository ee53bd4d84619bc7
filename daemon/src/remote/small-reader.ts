/**
 * The sender's small files in one native call per batch (blit_read_batch): the sending stream's
 * worker (sendfile-worker.ts) used 5 node:fs calls per file (open, fstat, read, fstat, close),
 * each with its JS wrapper, and read one file at a time, so a cold page cache was read at queue
 * depth one (a cpu-prof of a 100k-file push: 55% of each worker's time in read(2)). Here a batch
 * is opened and posix_fadvise(WILLNEED)'d first, then read, checked against the listing (size and
 * ns mtime after the read: a file changed meanwhile is reported, never sent torn) and framed
 * (FILE_START, DATA, FILE_END) in C; the worker writes the frames as they are.
 *
 * Without the native library (not built, BLIT_NATIVE_BATCH=0) smallReader() is undefined and the
 * worker keeps its per-file node:fs path.
 */
import * as native from '@blit/native';
import type { FileJob, FileResult } from './sendfile-worker';

export interface SmallRead {
  /** Frames of the files read whole, in order (valid until the next call on this thread). */
  frames: Buffer;
  /** One per file, in order: ok with its bytes, or the failure (nothing of it is in `frames`). */
  results: FileResult[];
}

const CHANGED = 'the file changed while it was being sent';

/** The batch reader for this thread, or undefined without the native batch library. */
export function smallReader(): ((files: readonly FileJob[]) => SmallRead) | undefined {
  const nb = native.loadNativeBatch();
  if (!nb) return undefined;
  return (files) => {
    const items: native.ReadItem[] = new Array(files.length);
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      items[i] = { index: f.index, path: f.abs, size: f.size, mtimeNs: f.mtimeNs };
    }
    const { frames, results } = nb.readBatch(items);
    const out: FileResult[] = new Array(files.length);
    for (let i = 0; i < files.length; i++) {
      const r = results[i]!;
      const f = files[i]!;
      if (r.status === 'done') out[i] = { index: f.index, ok: true, bytes: r.bytes };
      else if (r.status === 'changed') out[i] = { index: f.index, ok: false, code: 'SourceChanged', reason: CHANGED };
      else {
        const shown = Buffer.from(f.abs.buffer, f.abs.byteOffset, f.abs.length);
        const err = native.batchError(r.status === 'not-run' ? { ...r, errno: 5, step: 'read' } : r, shown);
        out[i] = { index: f.index, ok: false, code: err.code === 'EACCES' ? 'PermissionDenied' : 'IoError', reason: err.message };
      }
    }
    return { frames, results: out };
  };
}
