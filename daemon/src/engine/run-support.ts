/**
 * Pieces of a local run that do not need the run's state: the tuning/history recorder, the
 * post-copy directory metadata pass, and error helpers.
 */
import * as os from 'node:os';
import { loadDirMetaBatch } from '@blit/native';
import type { Entry, Failure, TransferSummary } from './types';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { applyDirMeta, type MetaOptions } from './metadata';
import { depth, displayPath, join2 } from './paths';
import { failureOf } from './walk';
import type { Plan } from './planner';
import type { WorkerPool } from './worker-pool';
import { SMALL_FILE_MAX } from './copy';
import { initialTuning, maxWorkersFor, TuningAdapter, type Tuning, type WorkloadSignature } from './perf/tuning';
import { makePerfRecord, type PerfHistory, type PerfOutcome } from './perf/history';

/** Feeds the perf module's tuning adapter while running and writes the history record at the end. */
export class RunRecorder {
  readonly tuning: Tuning;
  private readonly adapter: TuningAdapter | null;
  private lastSample = { at: 0, files: 0, bytes: 0 };
  private firstSubmitAt = 0;
  private lastResultAt = 0;
  private bigBytes = 0;
  stallEvents = 0;

  constructor(
    private readonly sig: WorkloadSignature,
    private readonly history: PerfHistory | null,
    private readonly start: number,
    fixedWorkers: boolean,
  ) {
    this.tuning = initialTuning(sig, history);
    // Local copies are CPU/syscall bound: more threads than cores only added contention and RSS
    // here (100k small files, 2 cores: adaptive up to 8 → 22.8 s / 311 MiB; 2 workers → 20.3 s /
    // 194 MiB). Remote/FUSE filesystems keep the perf module's higher ceiling.
    const localCap = sig.fsType === sig.dstFsType && !sig.fsType.startsWith('0x') ? Math.max(2, os.availableParallelism()) : maxWorkersFor(sig);
    this.adapter = fixedWorkers ? null : new TuningAdapter(this.tuning, { maxWorkers: Math.min(maxWorkersFor(sig), localCap) });
  }

  noteSubmit(): void {
    if (this.firstSubmitAt === 0) this.firstSubmitAt = Date.now();
  }

  noteCopied(bytes: number): void {
    this.lastResultAt = Date.now();
    if (bytes > SMALL_FILE_MAX) this.bigBytes += bytes;
  }

  /** One sample per finished batch; grows or shrinks the pool when the adapter says so. */
  sample(pool: WorkerPool | null, plan: Plan, filesDone: number, bytesDone: number): void {
    this.lastResultAt = Date.now();
    if (!this.adapter || !pool) return;
    const now = Date.now();
    if (this.lastSample.at === 0) {
      this.lastSample = { at: now, files: filesDone, bytes: bytesDone };
      return;
    }
    const next = this.adapter.observe({
      files: filesDone - this.lastSample.files,
      bytes: bytesDone - this.lastSample.bytes,
      elapsedMs: now - this.lastSample.at,
      workersBusy: pool.busyWorkers,
    });
    this.lastSample = { at: now, files: filesDone, bytes: bytesDone };
    if (next && next.workers !== plan.workers) {
      plan.workers = next.workers;
      pool.resize(next.workers);
    }
  }

  async record(outcome: PerfOutcome, summary: TransferSummary, plan: Plan): Promise<void> {
    if (!this.history || summary.dryRun) return;
    const copied = summary.filesTransferred > 0;
    await this.history.append(
      makePerfRecord({
        signature: this.sig,
        plannerMs: this.firstSubmitAt ? this.firstSubmitAt - this.start : Date.now() - this.start,
        copyMs: this.firstSubmitAt && this.lastResultAt ? this.lastResultAt - this.firstSubmitAt : 0,
        files: summary.filesTransferred,
        bytes: summary.bytesTransferred,
        settings: { ...(this.adapter?.current ?? this.tuning), workers: plan.workers },
        // Small files always go through read/write; big ones through the run's first primitive.
        primitive: !copied ? null : this.bigBytes * 2 > summary.bytesTransferred ? plan.order[0]! : 'readwrite',
        stallEvents: this.stallEvents,
        outcome,
        firstByteMs: summary.firstByteMs,
      }),
    );
  }
}

export interface DirFix {
  rel: Buffer;
  entry: Entry;
}

/** Directories per foreign call of the native batch (its input stays ~100 KiB). */
const DIR_META_CHUNK = 1024;

/**
 * Directory mode/owner/mtime, deepest first (after every child is in place). With the native
 * library, the same calls go in one foreign call per DIR_META_CHUNK directories (blit_dir_meta_batch:
 * ~13.8k directories of `mixed` were ~20-40 µs each here, one at a time on the main thread at
 * the end, while the copy workers sat idle); node:fs otherwise (BLIT_NATIVE_BATCH=0).
 */
export function applyDirFixes(fixes: DirFix[], dstRoot: Buffer, meta: MetaOptions, fail: (f: Failure) => void): void {
  fixes.sort((a, b) => depth(b.rel) - depth(a.rel));
  const failed = (err: unknown, rel: Buffer): void => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // failed to create: already reported
    fail(failureOf(err, rel, 'cannot set directory metadata'));
  };
  const batch = loadDirMetaBatch();
  if (batch) {
    for (let i = 0; i < fixes.length; i += DIR_META_CHUNK) {
      const chunk = fixes.slice(i, i + DIR_META_CHUNK);
      const items = chunk.map((f) => ({ path: join2(dstRoot, f.rel), mode: f.entry.mode, uid: f.entry.uid, gid: f.entry.gid, mtimeNs: f.entry.mtimeNs }));
      for (const { at, error } of batch(items, meta.preserveOwner)) failed(error, chunk[at]!.rel);
    }
    return;
  }
  for (const f of fixes) {
    try {
      applyDirMeta(join2(dstRoot, f.rel), f.entry, meta);
    } catch (err) {
      failed(err, f.rel);
    }
  }
}

/** Test-only fault injection (debug.failReadDirs): those directories fail to read with EACCES. */
export function injectedReadFailures(dirs: string[] | undefined): ((abs: Buffer, rel: Buffer) => void) | undefined {
  if (!dirs || dirs.length === 0) return undefined;
  const set = new Set(dirs);
  return (_abs, rel) => {
    if (set.has(displayPath(rel))) throw Object.assign(new Error('EACCES: permission denied (injected)'), { code: 'EACCES' });
  };
}

/** Whatever escapes a run leaves as a BlitError (errno errors keep their mapping and path). */
export function asBlitError(err: unknown): BlitError {
  if (err instanceof BlitError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string') return fromErrno(err, typeof e.path === 'string' ? e.path : '', 'transfer failed');
  return new BlitError({ code: ErrorCodes.Internal, message: `unexpected error: ${(err as Error)?.message ?? String(err)}`, cause: err });
}

export function cancelledError(): BlitError {
  return new BlitError({ code: ErrorCodes.Cancelled, message: 'transfer cancelled' });
}
