/**
 * EMA predictor over the local performance history, segmented by workload: transfer mode, source
 * and destination filesystem type (ext4 → ext4 behaves nothing like ext4 → nfs) and, for the
 * learned settings, the size class of the files (100k small files and one 1 GiB file want
 * different worker counts).
 *
 * What it learns per segment (each an exponential moving average, newest run weighted `alpha`):
 *  - per-file cost (ms/file) and throughput (bytes/ms), reported as they are;
 *  - a cost model copyMs ≈ a·files + b·MiB, fitted by least squares on EMA-weighted sums, so a
 *    prediction works for a workload mix never seen before (falls back to an EMA of ms per
 *    work unit while the fit is under-determined);
 *  - per (workers, primitive) "arm" of a size class: EMA of work units per ms. The best arm
 *    warm-starts the next run's settings.
 */
import type { CopyPrimitive } from '../types';
import type { PerfRecord } from './history';
import type { Tuning, WorkloadSignature } from './tuning';

export const DEFAULT_ALPHA = 0.3;
/** One file costs about as much as this many bytes of data (open+create+close+metadata). */
export const FILE_COST_BYTES = 32 * 1024;
const MIB = 1024 * 1024;

export type SizeClass = 'small' | 'mixed' | 'large';

/** Average file size below 16 KiB: small; above 8 MiB: large; otherwise mixed. */
export function sizeClass(files: number, bytes: number): SizeClass {
  const avg = files > 0 ? bytes / files : bytes;
  if (avg < 16 * 1024) return 'small';
  if (avg > 8 * MIB) return 'large';
  return 'mixed';
}

export function segmentKey(sig: Pick<WorkloadSignature, 'mode' | 'fsType' | 'dstFsType'>): string {
  return `${sig.mode}:${sig.fsType}>${sig.dstFsType}`;
}

/** Work units: bytes plus a fixed per-file cost, so runs of different shapes compare. */
export function workUnits(files: number, bytes: number): number {
  return bytes + files * FILE_COST_BYTES;
}

/** x ← x + alpha·(sample − x); the first sample initialises. */
export function ema(prev: number | undefined, sample: number, alpha: number): number {
  return prev === undefined ? sample : prev + alpha * (sample - prev);
}

export interface Prediction {
  samples: number;
  /** EMA of copyMs / files. */
  msPerFile: number;
  /** EMA of bytes / copyMs. */
  bytesPerMs: number;
  /** Predicted copy time for a workload of this segment. */
  estimateMs(files: number, bytes: number): number;
}

export interface SegmentSummary {
  /** `mode:srcFs>dstFs` */
  segment: string;
  samples: number;
  msPerFile: number;
  bytesPerMs: number;
}

interface Arm {
  workers: number;
  primitive: CopyPrimitive | null;
  settings: Tuning;
  /** EMA of work units per ms. */
  score: number;
  samples: number;
}

interface Segment {
  samples: number;
  msPerFile?: number;
  bytesPerMs?: number;
  msPerUnit?: number;
  // EMA-weighted sums for the least-squares fit copyMs = a·files + b·MiB.
  sff?: number; sfb?: number; sbb?: number; sfy?: number; sby?: number;
  lastClass: SizeClass;
  arms: Map<string, Arm>; // key `${class}|${workers}|${primitive}`
}

export class PerfPredictor {
  private readonly bySegment = new Map<string, Segment>();

  constructor(private readonly alpha: number = DEFAULT_ALPHA) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  }

  /** Replay records oldest first. */
  static fromRecords(records: readonly PerfRecord[], alpha: number = DEFAULT_ALPHA): PerfPredictor {
    const p = new PerfPredictor(alpha);
    for (const r of records) p.observe(r);
    return p;
  }

  /** Learn from one finished run. Failed/cancelled runs and empty runs teach nothing. */
  observe(r: PerfRecord): void {
    if (r.outcome === 'failed' || r.outcome === 'cancelled') return;
    if (!(r.copyMs > 0) || (r.files <= 0 && r.bytes <= 0)) return;
    const key = segmentKey(r.signature);
    let seg = this.bySegment.get(key);
    if (!seg) {
      seg = { samples: 0, lastClass: 'mixed', arms: new Map() };
      this.bySegment.set(key, seg);
    }
    const a = this.alpha;
    const f = r.files;
    const m = r.bytes / MIB;
    const y = r.copyMs;
    seg.samples++;
    if (f > 0) seg.msPerFile = ema(seg.msPerFile, y / f, a);
    seg.bytesPerMs = ema(seg.bytesPerMs, r.bytes / y, a);
    seg.msPerUnit = ema(seg.msPerUnit, y / workUnits(f, r.bytes), a);
    seg.sff = ema(seg.sff, f * f, a);
    seg.sfb = ema(seg.sfb, f * m, a);
    seg.sbb = ema(seg.sbb, m * m, a);
    seg.sfy = ema(seg.sfy, f * y, a);
    seg.sby = ema(seg.sby, m * y, a);

    const cls = sizeClass(f, r.bytes);
    seg.lastClass = cls;
    const armKey = `${cls}|${r.settings.workers}|${r.primitive ?? '-'}`;
    const score = workUnits(f, r.bytes) / y;
    const arm = seg.arms.get(armKey);
    if (arm) {
      arm.score = ema(arm.score, score, a);
      arm.samples++;
      arm.settings = r.settings;
    } else {
      seg.arms.set(armKey, { workers: r.settings.workers, primitive: r.primitive, settings: r.settings, score, samples: 1 });
    }
  }

  /** What was learned per segment (for `blit diagnostics perf`), most samples first. */
  segments(): SegmentSummary[] {
    const out: SegmentSummary[] = [];
    for (const [key, seg] of this.bySegment) {
      out.push({ segment: key, samples: seg.samples, msPerFile: seg.msPerFile ?? 0, bytesPerMs: seg.bytesPerMs ?? 0 });
    }
    return out.sort((a, b) => b.samples - a.samples || a.segment.localeCompare(b.segment));
  }

  predict(sig: WorkloadSignature): Prediction | null {
    const seg = this.bySegment.get(segmentKey(sig));
    if (!seg || seg.msPerUnit === undefined) return null;
    const fit = solveFit(seg);
    const msPerUnit = seg.msPerUnit;
    return {
      samples: seg.samples,
      msPerFile: seg.msPerFile ?? 0,
      bytesPerMs: seg.bytesPerMs ?? 0,
      estimateMs: (files, bytes) =>
        fit ? fit.a * files + fit.b * (bytes / MIB) : msPerUnit * workUnits(files, bytes),
    };
  }

  /**
   * The best learned settings for this workload, or null when there is nothing to learn from.
   * The size class comes from the signature's hints, else from the last run of the segment
   * (people tend to re-run the same job). The primitive is only moved to the front when `base`
   * allows it (reflink is never suggested across filesystems).
   */
  warmStart(sig: WorkloadSignature, base: Tuning): Tuning | null {
    const seg = this.bySegment.get(segmentKey(sig));
    if (!seg) return null;
    const cls = sig.fileCountHint !== undefined && sig.bytesHint !== undefined
      ? sizeClass(sig.fileCountHint, sig.bytesHint)
      : seg.lastClass;
    let best: Arm | null = null;
    for (const [k, arm] of seg.arms) {
      if (!k.startsWith(`${cls}|`)) continue;
      if (!best || arm.score > best.score) best = arm;
    }
    if (!best) return null;
    const order = base.primitiveOrder.slice();
    // 'readwrite' is never moved ahead of a kernel primitive: it is the fallback every order ends
    // with, and a run is labelled 'readwrite' whenever small files (always read/write, whatever the
    // order) carried most of its bytes, so that label says nothing about how big files copy best.
    // Promoting it made every later run copy its big files through user space (the bench's mixed
    // and first large runs: 1 GiB took ~2x the CPU of copy_file_range; DEVLOG h30-local).
    const i = best.primitive && best.primitive !== 'readwrite' ? order.indexOf(best.primitive) : -1;
    if (i > 0) order.unshift(...order.splice(i, 1));
    return {
      workers: Math.max(1, Math.round(best.settings.workers)),
      smallFileMaxBytes: best.settings.smallFileMaxBytes || base.smallFileMaxBytes,
      smallBatchSize: Math.max(1, Math.round(best.settings.smallBatchSize || base.smallBatchSize)),
      bufferBytes: best.settings.bufferBytes || base.bufferBytes,
      hugeFileSplitBytes: best.settings.hugeFileSplitBytes || base.hugeFileSplitBytes,
      primitiveOrder: order,
    };
  }
}

/** Solve the 2×2 normal equations; null when under-determined or not physical (negative cost). */
function solveFit(seg: Segment): { a: number; b: number } | null {
  const { sff, sfb, sbb, sfy, sby } = seg;
  if (seg.samples < 2 || sff === undefined || sfb === undefined || sbb === undefined || sfy === undefined || sby === undefined) return null;
  const det = sff * sbb - sfb * sfb;
  if (!(Math.abs(det) > 1e-9 * sff * sbb) || det <= 0) return null;
  const a = (sfy * sbb - sby * sfb) / det;
  const b = (sby * sff - sfy * sfb) / det;
  if (!(a >= 0 && b >= 0)) return null;
  return { a, b };
}
