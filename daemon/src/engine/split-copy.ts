/**
 * One huge file copied by several workers at once: the main thread creates the temp file (O_EXCL,
 * full size), each worker copies one byte range into it at the same offsets (copy_file_range or
 * pread/pwrite), and when every range is back the main thread checks the source did not change,
 * applies the metadata and renames the temp over the real name. Any failed or cancelled range
 * aborts the whole file (temp removed, real name untouched).
 */
import * as fs from 'node:fs';
import { AtomicFile } from './atomic';
import { msFromNs, mtimeKept } from './compare';
import { ErrorCodes, type ErrnoSide } from './errors';
import { failedTask } from './copy-task';
import type { MetaOptions } from './metadata';
import type { PendingRemoval } from './durable';
import type { FileTask, TaskResult } from './worker-protocol';

/** Ranges are at least this big (smaller files are not worth splitting). */
export const MIN_RANGE_BYTES = 64 * 1024 * 1024;

export class SplitCopy {
  private readonly file: AtomicFile;
  private readonly rangeIds = new Set<number>();
  private bytes = 0;
  private firstByteAt = 0;
  private failure: TaskResult | null = null;

  constructor(
    readonly task: FileTask,
    private readonly meta: MetaOptions,
    /** move: the verified source, to be removed once the copy is durable (move-finalise.ts). */
    private readonly queueRemoval?: (r: Omit<PendingRemoval, 'done'>) => void,
  ) {
    this.file = new AtomicFile(Buffer.from(task.dstDir, 'latin1'), Buffer.from(task.name, 'latin1'), task.mode, { createParents: true });
    try {
      fs.ftruncateSync(this.file.fd, task.size);
    } catch (err) {
      this.file.abort();
      throw err;
    }
  }

  /** Range tasks for `parts` workers; ids come from the caller's counter. */
  rangeTasks(parts: number, nextId: () => number, minRange: number = MIN_RANGE_BYTES): FileTask[] {
    const n = Math.max(1, Math.min(parts, Math.floor(this.task.size / minRange)));
    const step = Math.ceil(this.task.size / n / 4096) * 4096; // page-aligned ranges
    const out: FileTask[] = [];
    for (let start = 0; start < this.task.size; start += step) {
      const id = nextId();
      this.rangeIds.add(id);
      out.push({ ...this.task, id, range: { temp: this.file.tempAbs.toString('latin1'), start, end: Math.min(this.task.size, start + step) } });
    }
    return out;
  }

  /** Record one range's result; returns the file's final result once every range is back. */
  onRangeResult(r: TaskResult): TaskResult | null {
    this.rangeIds.delete(r.id);
    if (r.status === 'copied') {
      this.bytes += r.bytes;
      if (r.firstByteAt && (this.firstByteAt === 0 || r.firstByteAt < this.firstByteAt)) this.firstByteAt = r.firstByteAt;
    } else if (!this.failure) {
      this.failure = { ...r, id: this.task.id };
    }
    if (this.rangeIds.size > 0) return null;
    return this.finish();
  }

  private finish(): TaskResult {
    const id = this.task.id;
    if (this.failure) {
      this.file.abort();
      return this.failure;
    }
    const src = Buffer.from(this.task.src, 'latin1');
    let side: ErrnoSide = 'source';
    try {
      const st = fs.lstatSync(src, { bigint: true });
      side = 'destination';
      const sameTime = this.task.mtimeNs >= 0n ? st.mtimeNs === this.task.mtimeNs : msFromNs(st.mtimeNs) === this.task.mtimeMs;
      if (this.bytes !== this.task.size || Number(st.size) !== this.task.size || !sameTime) {
        this.file.abort();
        return { id, status: 'failed', bytes: 0, code: ErrorCodes.SourceChanged, reason: 'source changed while it was being copied; destination left as it was' };
      }
      this.file.commit({ ...this.task, mtimeNs: st.mtimeNs }, this.meta);
      const result: TaskResult = { id, status: 'copied', bytes: this.bytes, firstByteAt: this.firstByteAt || Date.now() };
      if (this.task.removeSource) this.removeSource(src, st.mtimeNs, result);
      return result;
    } catch (err) {
      this.file.abort();
      return failedTask(id, err, src, side);
    }
  }

  /**
   * move: the committed destination must show the size and mtime we copied; then the source waits
   * for a sync off the event loop (a huge file's write-back takes a while) and is checked again
   * just before its unlink.
   */
  private removeSource(src: Buffer, mtimeNs: bigint, result: TaskResult): void {
    try {
      const d = fs.lstatSync(this.file.finalAbs, { bigint: true });
      const size = this.task.size;
      const unchanged = (s: fs.BigIntStats): boolean => Number(s.size) === size && s.mtimeNs === mtimeNs;
      if (Number(d.size) !== size || !mtimeKept(mtimeNs, d.mtimeNs) || !unchanged(fs.lstatSync(src, { bigint: true }))) {
        result.sourceKeptReason = 'destination did not verify or source changed; source kept';
        return;
      }
      if (!this.queueRemoval) throw new Error('no removal queue for a move');
      this.queueRemoval({ src, dst: { dstAbs: this.file.finalAbs, dev: d.dev, isFile: true }, unchanged });
    } catch (err) {
      result.sourceKeptReason = `cannot remove source: ${(err as Error).message}`;
    }
  }

  /** Give up (fatal error elsewhere): remove the temp. */
  abort(): void {
    this.file.abort();
  }
}
