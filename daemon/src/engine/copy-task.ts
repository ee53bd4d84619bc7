/**
 * The body of a copy task (one file, or one range of a split file): blocking syscalls through
 * node:fs sync calls (cheap) and @blit/native only for what node lacks (ns timestamps,
 * copy_file_range, FICLONE, SEEK_DATA). Runs in copy workers, and on the main thread for the
 * first tasks of a run while the workers are still starting (worker-pool.ts).
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import { AtomicFile, reserveTempNames } from './atomic';
import { CancelledCopy, copyRange, newCopyContext, SMALL_FILE_MAX } from './copy';
import { hashFd } from './checksum';
import { fromErrno, ErrorCodes, type ErrnoSide } from './errors';
import { displayPath } from './paths';
import { msFromNs, mtimeKept, mtimeMsKept, sameScanMtime } from './compare';
import { DeferredRemovals, type PendingRemoval } from './durable';
import type { BatchOutput, FileTask, RemovalOutcome, TaskResult, WorkerInit } from './worker-protocol';

export type TaskRunner = (t: FileTask) => TaskResult;

/** move: a verified source handed on to wait for a sync (its outcome is the caller's to report). */
export type QueueRemoval = (t: FileTask, r: Omit<PendingRemoval, 'done'>) => void;

const O_NOFOLLOW = fs.constants.O_NOFOLLOW;

function buf(latin1: string): Buffer {
  return Buffer.from(latin1, 'latin1');
}

/** Source files up to this size are opened and read ahead (fadvise WILLNEED) when a batch starts. */
const PREFETCH_FILE_MAX = SMALL_FILE_MAX;
/** At most this many bytes read ahead per batch (the page cache may be small: a memory cgroup). */
const PREFETCH_BATCH_BYTES = 16 * 1024 * 1024;

let aheadCap: number | undefined;
/**
 * At most this many sources held open ahead per batch: a sixteenth of RLIMIT_NOFILE's soft limit
 * (1,250 at 20,000: no cap for a batch), as native/csrc/blit_internal.h's ahead_fd_cap. One fd per batch file in
 * every worker at once took the descriptors the walk and the destination temps needed: a copy of a
 * wide tree under `ulimit -n 100` failed files with EMFILE. Read once per thread.
 */
function prefetchFdCap(): number {
  if (aheadCap === undefined) {
    aheadCap = Infinity;
    try {
      const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
      if (m) aheadCap = Math.floor(Number(m[1]) / 16);
    } catch {
      // No procfs: no cap beyond the batch (the opens stop at the first EMFILE anyway).
    }
  }
  return aheadCap;
}

/**
 * Opens sources read-only without following symlinks, and without touching their atime where
 * permitted; holds the descriptors a batch prefetch opened until their task takes them.
 */
export class SourceOpener {
  // Reading a source must not touch it, not even its atime (and no atime write per file is less
  // journal work). O_NOATIME is refused (EPERM) for files we neither own nor read as root.
  private noAtime = fs.constants.O_NOATIME ?? 0;
  private readonly prefetched = new Map<number, number>();

  readonly open = (src: Buffer): number => {
    if (this.noAtime !== 0) {
      try {
        return fs.openSync(src, fs.constants.O_RDONLY | O_NOFOLLOW | this.noAtime);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
        if (process.getuid?.() !== 0) this.noAtime = 0; // not root: it will keep failing for others' files
      }
    }
    return fs.openSync(src, fs.constants.O_RDONLY | O_NOFOLLOW);
  };

  /**
   * Start reading the batch's small sources into the page cache at once: open each and ask for
   * readahead (posix_fadvise WILLNEED queues the reads and returns). When the sources are not
   * cached, one blocking read per file in turn leaves the disk one request deep; this way the
   * kernel gets the whole batch. Failures are ignored here: the task opens again and reports.
   */
  prefetch(tasks: FileTask[]): void {
    let budget = PREFETCH_BATCH_BYTES;
    let ahead = prefetchFdCap();
    for (const t of tasks) {
      if (ahead <= 0) break;
      if (t.range || t.hashOnly || t.hashFirst || t.size === 0 || t.size > PREFETCH_FILE_MAX || t.size > budget) continue;
      let fd = -1;
      try {
        fd = this.open(buf(t.src));
        native.posixFadvise(fd, 0, t.size, native.FADV_WILLNEED);
        this.prefetched.set(t.id, fd);
        budget -= t.size;
        ahead--;
      } catch (err) {
        if (fd >= 0) fs.closeSync(fd);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EMFILE' || code === 'ENFILE') break; // the rest: opened by their own task
      }
    }
  }

  /** The descriptor prefetch opened for this task (now owned by the caller), or -1. */
  takePrefetched(id: number): number {
    const fd = this.prefetched.get(id);
    if (fd === undefined) return -1;
    this.prefetched.delete(id);
    return fd;
  }

  /** Close whatever a batch did not take (cancelled or failed early). */
  closeUntaken(): void {
    for (const fd of this.prefetched.values()) fs.closeSync(fd);
    this.prefetched.clear();
  }
}

/**
 * Runs whole batches. With the native batch library (native/src/batch.ts) the batch's small
 * whole-file copies go through one foreign call (read-ahead included) and only the rest, and
 * any file that failed there, through the per-file path below; without it, sources are read
 * ahead together first, then each task runs in order.
 *
 * move: verified sources wait in this runner across batches (DeferredRemovals) until enough are
 * waiting to be worth a sync, or a request says flushRemovals (the end of the copies); a cancelled
 * run syncs nothing more and keeps them.
 */
export function createBatchRunner(init: WorkerInit): (tasks: FileTask[], flushRemovals?: boolean) => BatchOutput {
  const opener = new SourceOpener();
  const removals = new DeferredRemovals();
  let outcomes: RemovalOutcome[] = [];
  const runTask = createTaskRunner(init, opener, (t, r) =>
    removals.add({ ...r, done: (kept) => outcomes.push({ id: t.id, kept }) }, t.size),
  );
  const cancel = new Int32Array(init.cancel);
  const perFile = (tasks: FileTask[]): TaskResult[] => {
    try {
      opener.prefetch(tasks);
      return tasks.map(runTask);
    } finally {
      opener.closeUntaken();
    }
  };
  const batch = init.order.includes('reflink') ? undefined : native.loadNativeBatch();
  // A reflink-first order wants FICLONE even for small files: the per-file path does that.
  const runBatch = batch ? createNativeBatchRunner(init, batch, perFile) : perFile;
  return (tasks, flushRemovals = false) => {
    const out: BatchOutput = { results: tasks.length > 0 ? runBatch(tasks) : [] };
    if (removals.size === 0) return out;
    if ((removals.due || flushRemovals) && Atomics.load(cancel, 0) === 0) {
      const t0 = Date.now();
      Atomics.add(cancel, 2, 1); // no heartbeat while in syncfs: tell the stall detector why
      try {
        removals.flush(); // move: the copies made durable, then their sources removed
      } finally {
        Atomics.sub(cancel, 2, 1);
      }
      out.syncMs = Date.now() - t0;
    }
    if (outcomes.length > 0) {
      out.removals = outcomes;
      outcomes = [];
    }
    out.removalsWaiting = removals.size;
    return out;
  };
}

/** A whole small file the native batch can copy (no hashing, no range, no move). */
function nativeEligible(t: FileTask): boolean {
  return !t.range && !t.hashOnly && !t.hashFirst && !t.removeSource && t.size <= SMALL_FILE_MAX;
}

/**
 * A failed copy task. Once the source is open, an error is the destination's ('cannot write';
 * its ENOENT an IoError, not SourceNotFound): reading an open descriptor cannot fail on a path.
 */
export function failedTask(id: number, err: unknown, src: Buffer, side: ErrnoSide): TaskResult {
  const be = fromErrno(err, displayPath(src), side === 'source' ? 'copy' : 'cannot write', side);
  return { id, status: 'failed', bytes: 0, code: be.code, reason: be.reasonAt(displayPath(src)) };
}

const SOURCE_CHANGED_REASON = 'source changed while it was being copied; destination left as it was';

/**
 * The native batch path. Per file the C side does what runTask does for a small file (open with
 * O_NOATIME, read, temp O_EXCL, write, fstat = changed?, fchown/fchmod/futimens, close, rename)
 * and reports done / changed / failed / not run (cancelled); a missing destination directory is
 * created there (mode 0700, fixed later, as AtomicFile's createParents). A failed file is done
 * again through the per-file path, which reports it with the usual typed error (or succeeds, e.g.
 * after a clashing temp name), so errors read as before.
 */
function createNativeBatchRunner(init: WorkerInit, batch: native.NativeBatch, perFile: (tasks: FileTask[]) => TaskResult[]): (tasks: FileTask[]) => TaskResult[] {
  const cancel = new Int32Array(init.cancel);
  const scratch = Buffer.allocUnsafe(SMALL_FILE_MAX);
  return (tasks) => {
    const results: TaskResult[] = new Array(tasks.length);
    const items: native.CopyItem[] = [];
    const at: number[] = [];
    const redo: number[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i]!;
      if (!nativeEligible(t) || items.length >= native.MAX_BATCH_FILES) {
        redo.push(i);
        continue;
      }
      at.push(i);
      items.push({ src: t.src, dstDir: t.dstDir, name: t.name, size: t.size, mtimeNs: t.mtimeNs, mtimeMs: t.mtimeMs, mtimeExact: t.mtimeNs >= 0n, mode: t.mode, uid: t.uid, gid: t.gid });
    }
    if (items.length > 0) {
      const out = batch.copyBatch(items, { preserveOwner: init.meta.preserveOwner, umask: init.meta.umask, noAtime: true, createParents: true, cancel, scratch, temp: reserveTempNames(items.length) });
      for (let k = 0; k < out.length; k++) {
        const r = out[k]!;
        const i = at[k]!;
        const id = tasks[i]!.id;
        if (r.status === 'done') results[i] = { id, status: 'copied', bytes: r.bytes, firstByteAt: Math.floor(r.doneMs) };
        else if (r.status === 'changed') results[i] = { id, status: 'failed', bytes: 0, code: ErrorCodes.SourceChanged, reason: SOURCE_CHANGED_REASON };
        else if (r.status === 'not-run') results[i] = { id, status: 'cancelled', bytes: 0 };
        else redo.push(i);
      }
    }
    if (redo.length > 0) {
      redo.sort((a, b) => a - b);
      const again = perFile(redo.map((i) => tasks[i]!));
      redo.forEach((i, k) => (results[i] = again[k]!));
    }
    return results;
  };
}

/**
 * A runner with its own copy context (scratch buffer, disabled primitives). Hashing needs
 * initChecksum() first. A move's verified sources go to `queueRemoval` (removed after a sync).
 */
export function createTaskRunner(init: WorkerInit, opener: SourceOpener, queueRemoval: QueueRemoval): TaskRunner {
  const cancelFlag = new Int32Array(init.cancel);
  /** Checked between files and chunks; each check is also a heartbeat for the stall detector. */
  const cancelled = (): boolean => {
    Atomics.add(cancelFlag, 1, 1);
    return Atomics.load(cancelFlag, 0) !== 0;
  };
  const ctx = newCopyContext(init.order, cancelled);
  const openSource = opener.open;

  /** The destination's mtime as its filesystem keeps the task's (compare.ts mtimeKept). */
  function dstKeptScanMtime(t: FileTask, ns: bigint): boolean {
    return t.mtimeNs >= 0n ? mtimeKept(t.mtimeNs, ns) : mtimeMsKept(t.mtimeMs, msFromNs(ns));
  }

  /** Same content? `size`: the size listed for both (picks how each is read, not what is hashed). */
  function sameHash(a: number, b: number, size: number): boolean {
    return hashFd(a, size) === hashFd(b, size);
  }

  /** One range of a split huge file into the shared temp (no commit here: the main thread does it). */
  function runRange(t: FileTask, r: NonNullable<FileTask['range']>): TaskResult {
    const src = buf(t.src);
    let srcFd = -1;
    let dstFd = -1;
    let side: ErrnoSide = 'source';
    try {
      srcFd = openSource(src);
      side = 'destination';
      dstFd = fs.openSync(buf(r.temp), fs.constants.O_WRONLY | O_NOFOLLOW);
      ctx.firstByteAt = 0;
      const n = copyRange(srcFd, dstFd, r.start, r.end, '', ctx);
      return { id: t.id, status: 'copied', bytes: n, firstByteAt: ctx.firstByteAt || Date.now() };
    } catch (err) {
      if (err instanceof CancelledCopy) return { id: t.id, status: 'cancelled', bytes: 0 };
      return failedTask(t.id, err, src, side);
    } finally {
      if (srcFd >= 0) fs.closeSync(srcFd);
      if (dstFd >= 0) fs.closeSync(dstFd);
    }
  }

  function runTask(t: FileTask): TaskResult {
    if (cancelled()) return { id: t.id, status: 'cancelled', bytes: 0 };
    if (t.range) return runRange(t, t.range);
    const src = buf(t.src);
    const dstDir = buf(t.dstDir);
    const name = buf(t.name);
    let srcFd = opener.takePrefetched(t.id);
    let file: AtomicFile | undefined;
    // Which side an error comes from once the source is open: a missing destination path (its
    // directory could not be created, or was removed) is not a missing source.
    let side: ErrnoSide = 'source';
    try {
      if (srcFd < 0) srcFd = openSource(src);
      side = 'destination';
      if (t.hashOnly) {
        // Nothing written: a dry run's compare, or a destination --ignore-existing kept (whose
        // source a move removes only when equal).
        const dstAbs = Buffer.concat([dstDir, Buffer.from('/'), name]);
        const dfd = fs.openSync(dstAbs, fs.constants.O_RDONLY | O_NOFOLLOW);
        let same: boolean;
        try {
          same = sameHash(srcFd, dfd, t.size);
        } finally {
          fs.closeSync(dfd);
        }
        return same ? finishSame(t, src, dstAbs) : { id: t.id, status: 'differs', bytes: 0 };
      }
      if (t.hashFirst) {
        const dstAbs = Buffer.concat([dstDir, Buffer.from('/'), name]);
        const dfd = fs.openSync(dstAbs, fs.constants.O_RDONLY | O_NOFOLLOW);
        try {
          if (sameHash(srcFd, dfd, t.size)) {
            // Same bytes: keep the file, but bring its metadata in line (as rsync -c does), so the
            // next quick-check run also sees it as unchanged.
            const s = fs.fstatSync(srcFd, { bigint: true });
            const d = fs.fstatSync(dfd, { bigint: true });
            if (!mtimeKept(s.mtimeNs, d.mtimeNs) || (Number(s.mode) & 0o7777) !== (Number(d.mode) & 0o7777)) {
              fs.chmodSync(dstAbs, Number(s.mode) & 0o7777);
              native.utimensat(dstAbs, s.atimeNs, s.mtimeNs, { noFollow: true });
            }
            // Just hashed equal: the move's verify need not hash both again.
            return finishSame({ ...t, mtimeNs: s.mtimeNs, mtimeMs: -1, verifyByHash: false }, src, dstAbs);
          }
        } finally {
          fs.closeSync(dfd);
        }
      }
      file = new AtomicFile(dstDir, name, t.mode, { createParents: true });
      ctx.firstByteAt = 0;
      const n = file.copyFromFd(srcFd, t.size, t.blocks, '', ctx);
      const firstByteAt = ctx.firstByteAt || Date.now();
      // One fstat after the copy: detects a change during the copy and gives the exact ns mtime
      // (a fast-mode scan only knew it in double ms).
      const after = fs.fstatSync(srcFd, { bigint: true });
      if (n !== t.size || Number(after.size) !== t.size || !sameScanMtime(t, after.mtimeNs)) {
        file.abort();
        return { id: t.id, status: 'failed', bytes: 0, code: ErrorCodes.SourceChanged, reason: SOURCE_CHANGED_REASON };
      }
      file.commit({ mode: t.mode, uid: t.uid, gid: t.gid, mtimeNs: after.mtimeNs }, init.meta);
      const result: TaskResult = { id: t.id, status: 'copied', bytes: n, firstByteAt };
      if (t.removeSource) removeSourceAfterVerify({ ...t, mtimeNs: after.mtimeNs, mtimeMs: -1 }, src, file.finalAbs, srcFd, result);
      return result;
    } catch (err) {
      file?.abort();
      if (err instanceof CancelledCopy) return { id: t.id, status: 'cancelled', bytes: 0 };
      return failedTask(t.id, err, src, side);
    } finally {
      if (srcFd >= 0) fs.closeSync(srcFd);
    }
  }

  function finishSame(t: FileTask, src: Buffer, dstAbs: Buffer): TaskResult {
    const result: TaskResult = { id: t.id, status: 'same', bytes: 0 };
    if (t.removeSource) removeSourceAfterVerify(t, src, dstAbs, -1, result);
    return result;
  }

  /**
   * move: queue the source for removal (after a sync makes its copy durable) only if the destination
   * is verifiably what we copied; the source is checked unchanged again just before its unlink.
   */
  function removeSourceAfterVerify(t: FileTask, src: Buffer, dstAbs: Buffer, srcFd: number, result: TaskResult): void {
    try {
      const d = fs.lstatSync(dstAbs, { bigint: true });
      let ok = d.isFile() && Number(d.size) === t.size && (t.hashFirst || dstKeptScanMtime(t, d.mtimeNs));
      if (ok && t.verifyByHash) {
        const dfd = fs.openSync(dstAbs, 'r');
        const sfd = srcFd >= 0 ? srcFd : fs.openSync(src, 'r');
        try {
          ok = sameHash(sfd, dfd, t.size);
        } finally {
          fs.closeSync(dfd);
          if (sfd !== srcFd) fs.closeSync(sfd);
        }
      }
      const unchanged = (s: fs.BigIntStats): boolean => Number(s.size) === t.size && sameScanMtime(t, s.mtimeNs);
      if (!unchanged(fs.lstatSync(src, { bigint: true }))) {
        result.sourceKeptReason = 'source changed after it was copied; kept';
        return;
      }
      if (!ok) {
        result.sourceKeptReason = 'destination did not verify; source kept';
        return;
      }
      queueRemoval(t, { src, dst: { dstAbs, dev: d.dev, isFile: true }, unchanged });
      result.removalQueued = true;
    } catch (err) {
      result.sourceKeptReason = `cannot remove source: ${(err as Error).message}`;
    }
  }

  return runTask;
}
