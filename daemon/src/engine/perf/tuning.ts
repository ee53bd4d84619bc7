/**
 * Self-tuning: the planner never asks the user for speed flags. It starts from
 * `initialTuning(signature, history)` (defaults from the machine, warm-started from local history
 * when there is any) and feeds progress to a `TuningAdapter` while running, which hill-climbs the
 * worker count.
 *
 * How the engine uses this (planner / orchestrator `runLocalTransfer`):
 *   const sig: WorkloadSignature = { fsType: await fsTypeOf(src), dstFsType: await fsTypeOf(dst),
 *                                    mode: 'local', fileCountHint?, bytesHint? };
 *   let tuning = initialTuning(sig, history);           // history: PerfHistory | null
 *   const adapter = new TuningAdapter(tuning, { maxWorkers: maxWorkersFor(sig) });
 *   every ~0.5 s while copying:
 *     const next = adapter.observe({ files, bytes, elapsedMs, workersBusy }); // deltas since last call
 *     if (next) { tuning = next; pool.resize(next.workers); }
 *   per file: primitiveOrderFor(sig, size, tuning) (small files skip the FFI primitives)
 *   at the end: await history.append(makePerfRecord({ signature: sig, settings: adapter.current, ... }))
 * `debug.workers` / `debug.primitive` (TransferOptions.debug) override whatever this returns.
 */
import * as os from 'node:os';
import type { CopyPrimitive } from '../types';
import type { PerfHistory } from './history';
import { FILE_COST_BYTES, PerfPredictor } from './predictor';

export interface WorkloadSignature {
  /** Filesystem type of the source ('ext4', 'btrfs', 'tmpfs', ... see fstype.ts). */
  fsType: string;
  dstFsType: string;
  mode: 'local' | 'push' | 'pull';
  fileCountHint?: number;
  bytesHint?: number;
}

export interface Tuning {
  workers: number;
  /** Files up to this size are copied in batches (one task = many files). */
  smallFileMaxBytes: number;
  /** Files per batch task. */
  smallBatchSize: number;
  /** Buffer for read/write and the chunk size of sendfile/copy_file_range loops. */
  bufferBytes: number;
  /** A file at least this big is split into ranges of this size copied in parallel. */
  hugeFileSplitBytes: number;
  /** Try in this order; fall back to the next on EXDEV/EOPNOTSUPP/EINVAL/ENOSYS. */
  primitiveOrder: CopyPrimitive[];
}

const KIB = 1024;
const MIB = 1024 * KIB;

/** Filesystems where FICLONE works (copy-on-write clone: no data copied at all). */
const REFLINK_FS: ReadonlySet<string> = new Set(['btrfs', 'xfs', 'bcachefs', 'zfs', 'ocfs2']);
/** Remote/FUSE filesystems: latency-bound, so more parallel requests help. */
const HIGH_LATENCY_FS: ReadonlySet<string> = new Set(['nfs', 'cifs', 'smb2', 'fuse', 'ceph', 'v9fs', 'sshfs']);

export function cpuCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Which primitives to try for a run. Same filesystem type: reflink first where the filesystem can
 * clone, then copy_file_range (in-kernel, no user-space copy). Different filesystem types:
 * copy_file_range fails with EXDEV on Linux ≥ 5.19, so start with sendfile. Push: the sender
 * streams file → socket with sendfile. Pull: the receiver reads from a socket.
 */
export function primitiveOrderForRun(sig: WorkloadSignature): CopyPrimitive[] {
  if (sig.mode === 'push') return ['sendfile', 'readwrite'];
  if (sig.mode === 'pull') return ['readwrite'];
  if (sig.fsType === sig.dstFsType) {
    return REFLINK_FS.has(sig.fsType)
      ? ['reflink', 'copy_file_range', 'sendfile', 'readwrite']
      : ['copy_file_range', 'sendfile', 'readwrite'];
  }
  return ['sendfile', 'readwrite'];
}

/**
 * Per-file choice. Small files (≤ smallFileMaxBytes) on a filesystem that cannot clone go straight
 * to read/write through node:fs: one FFI call costs ~5 µs (DEVLOG, foundation), more than
 * copying a few KiB in user space. Clone-capable filesystems still clone (no data written).
 */
export function primitiveOrderFor(sig: WorkloadSignature, size: number, tuning: Tuning): CopyPrimitive[] {
  const order = tuning.primitiveOrder;
  if (size > tuning.smallFileMaxBytes || sig.mode !== 'local') return order;
  if (order[0] === 'reflink') return order;
  return ['readwrite'];
}

/** The most workers the adapter may use. */
export function maxWorkersFor(sig: WorkloadSignature, cpus: number = cpuCount()): number {
  const latencyBound = HIGH_LATENCY_FS.has(sig.fsType) || HIGH_LATENCY_FS.has(sig.dstFsType) || sig.mode !== 'local';
  return Math.max(2, Math.min(latencyBound ? 32 : 16, cpus * (latencyBound ? 8 : 4)));
}

/** Defaults from the machine and the workload alone (no history). */
export function defaultTuning(sig: WorkloadSignature, cpus: number = cpuCount()): Tuning {
  const latencyBound = HIGH_LATENCY_FS.has(sig.fsType) || HIGH_LATENCY_FS.has(sig.dstFsType);
  const hugeFileSplitBytes = 256 * MIB;
  // Local copies on a page cache are CPU-bound syscalls: about one worker per core (the main
  // thread walks and plans). Latency-bound targets want requests in flight instead.
  let workers = latencyBound ? Math.min(16, cpus * 4) : Math.max(2, Math.min(8, cpus));
  const files = sig.fileCountHint;
  const bytes = sig.bytesHint;
  if (files !== undefined && files >= 0) {
    // A handful of files: no point in idle threads, unless one is huge and gets split.
    const splitParts = bytes !== undefined ? Math.ceil(bytes / hugeFileSplitBytes) : 1;
    workers = Math.max(1, Math.min(workers, Math.max(files, Math.min(splitParts, cpus))));
  }
  let smallBatchSize = 64;
  if (files !== undefined && files > 0) {
    // ~16 batches per worker: big enough to amortise the message, small enough to balance.
    smallBatchSize = clamp(Math.round(files / (workers * 16)), 16, 256);
  }
  return {
    workers,
    smallFileMaxBytes: 256 * KIB,
    smallBatchSize,
    bufferBytes: latencyBound ? 4 * MIB : 1 * MIB,
    hugeFileSplitBytes,
    primitiveOrder: primitiveOrderForRun(sig),
  };
}

/**
 * Settings for the next run: the machine defaults, warm-started from what the history learned
 * for the same segment (mode + filesystem types + size class) when there is any.
 */
export function initialTuning(sig: WorkloadSignature, history: PerfHistory | null, cpus: number = cpuCount()): Tuning {
  const base = defaultTuning(sig, cpus);
  if (!history) return base;
  const learned = PerfPredictor.fromRecords(history.recent()).warmStart(sig, base);
  if (!learned) return base;
  return { ...learned, workers: clamp(learned.workers, 1, maxWorkersFor(sig, cpus)) };
}

export interface TuningSample {
  /** Files finished during this interval. */
  files: number;
  /** Bytes written during this interval. */
  bytes: number;
  /** Length of the interval (ms). */
  elapsedMs: number;
  /** Average number of workers busy during the interval (or busy at the end of it). */
  workersBusy: number;
}

export interface TuningAdapterOptions {
  minWorkers?: number;
  maxWorkers?: number;
  /** Samples are accumulated until they cover this long (noise). Default 500 ms. */
  minIntervalMs?: number;
  /** A change must move throughput by more than this fraction to count. Default 0.10 (run-to-run
   * noise on a busy 2-core machine is ±5-10%: at 0.05 the adapter climbed on noise to 8 workers). */
  tolerance?: number;
  /** Settled: re-probe after this many intervals. Default 20. */
  reprobeEvery?: number;
}

/**
 * Hill-climbs the worker count on measured throughput (work units per ms, see FILE_COST_BYTES):
 * raise it while throughput improves by more than `tolerance`; step back and settle when it
 * does not. Never adds workers while the existing ones are idle (the scan or the planner is the
 * bottleneck then). Deterministic: it only looks at the samples it is given (no clock).
 */
export class TuningAdapter {
  private tuning: Tuning;
  private readonly minWorkers: number;
  private readonly maxWorkers: number;
  private readonly minIntervalMs: number;
  private readonly tolerance: number;
  private readonly reprobeEvery: number;
  private acc = { files: 0, bytes: 0, elapsedMs: 0, busyMs: 0 };
  private baseline: { workers: number; rate: number } | null = null;
  private probing = false;
  private settledIntervals = 0;

  constructor(initial: Tuning, opts: TuningAdapterOptions = {}) {
    this.tuning = { ...initial, primitiveOrder: initial.primitiveOrder.slice() };
    this.minWorkers = Math.max(1, opts.minWorkers ?? 1);
    this.maxWorkers = Math.max(this.minWorkers, opts.maxWorkers ?? Math.max(initial.workers, cpuCount() * 4));
    this.minIntervalMs = opts.minIntervalMs ?? 500;
    this.tolerance = opts.tolerance ?? 0.1;
    this.reprobeEvery = opts.reprobeEvery ?? 20;
  }

  get current(): Tuning {
    return { ...this.tuning, primitiveOrder: this.tuning.primitiveOrder.slice() };
  }

  /** Feed one interval; returns the new settings when they change, else null. */
  observe(sample: TuningSample): Tuning | null {
    if (!(sample.elapsedMs >= 0)) return null;
    this.acc.files += Math.max(0, sample.files);
    this.acc.bytes += Math.max(0, sample.bytes);
    this.acc.elapsedMs += sample.elapsedMs;
    this.acc.busyMs += Math.max(0, sample.workersBusy) * sample.elapsedMs;
    if (this.acc.elapsedMs < this.minIntervalMs || this.acc.elapsedMs <= 0) return null;
    const rate = (this.acc.bytes + this.acc.files * FILE_COST_BYTES) / this.acc.elapsedMs;
    const busy = this.acc.busyMs / this.acc.elapsedMs;
    this.acc = { files: 0, bytes: 0, elapsedMs: 0, busyMs: 0 };
    const workers = this.tuning.workers;

    if (this.probing && this.baseline) {
      this.probing = false;
      if (rate > this.baseline.rate * (1 + this.tolerance)) {
        // The extra workers paid off: keep them and try more.
        this.baseline = { workers, rate };
        return this.tryRaise(busy);
      }
      // No gain worth a thread: go back and settle.
      const back = this.baseline.workers;
      this.settledIntervals = 0;
      return back !== workers ? this.setWorkers(back) : null;
    }

    if (!this.baseline) {
      this.baseline = { workers, rate };
      return this.tryRaise(busy);
    }
    // Settled. A large drop means the workload changed (e.g. small files → big ones): re-measure.
    this.settledIntervals++;
    if (rate < this.baseline.rate * 0.7 || this.settledIntervals >= this.reprobeEvery) {
      this.baseline = { workers, rate };
      this.settledIntervals = 0;
      return this.tryRaise(busy);
    }
    this.baseline = { workers, rate: this.baseline.rate + 0.3 * (rate - this.baseline.rate) };
    return null;
  }

  private tryRaise(busy: number): Tuning | null {
    const workers = this.tuning.workers;
    // Idle workers: more of them would only wait too.
    if (busy < workers * 0.75 || workers >= this.maxWorkers) return null;
    this.probing = true;
    return this.setWorkers(Math.min(this.maxWorkers, workers + Math.max(1, Math.floor(workers / 2))));
  }

  private setWorkers(n: number): Tuning {
    this.tuning = { ...this.tuning, workers: clamp(n, this.minWorkers, this.maxWorkers) };
    return this.current;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
