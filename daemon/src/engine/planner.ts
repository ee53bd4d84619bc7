/**
 * Lanes and knobs, chosen by the engine (no user speed flags; TransferOptions.debug overrides for
 * tests and benchmarks). Small files are batched many per worker message, a big file is a batch of
 * its own. The batch size adapts while running: batches aim at ~BATCH_TARGET_MS of worker time,
 * measured from the observed per-file latency, so small trees do not wait on a half-full batch and
 * large trees do not pay one message per handful of files.
 */
import * as os from 'node:os';
import type { CopyPrimitive, DebugOverrides } from './types';
import type { Tuning } from './perf/tuning';

export interface Plan {
  workers: number;
  order: CopyPrimitive[];
  /** Files per batch for small files (adapted at run time within [minBatch, maxBatch]). */
  batchFiles: number;
  minBatch: number;
  maxBatch: number;
  /** Bytes that close a batch early. */
  batchBytes: number;
  /** Files at or above this size travel alone. */
  bigFileBytes: number;
  /** Batches allowed in flight per worker before the walker waits (bounds memory). */
  batchesPerWorker: number;
  /** Files at least this big are split into ranges copied by several workers at once. */
  hugeFileBytes: number;
  /** Smallest range of a split file. */
  minRangeBytes: number;
}

const BATCH_TARGET_MS = 20;

/**
 * Files at or above this size travel alone and are named while in flight (fileStart/fileDone:
 * progress displays, the daemon's job view); smaller ones ride in batches and cost no event.
 * The remote push and pull name theirs by the same rule (remote/in-flight.ts).
 */
export const BIG_FILE_BYTES = 4 * 1024 * 1024;

export function initialPlan(debug: DebugOverrides | undefined, cpus: number = os.availableParallelism()): Plan {
  const order: CopyPrimitive[] = debug?.primitive ? [debug.primitive, 'readwrite'] : ['copy_file_range', 'sendfile', 'readwrite'];
  return {
    // One worker per core: the main thread mostly waits on the walker's syscalls, which overlap.
    workers: Math.max(1, Math.min(debug?.workers ?? cpus, 16)),
    order,
    batchFiles: debug?.batchFiles ?? 64,
    minBatch: debug?.batchFiles ?? 8,
    maxBatch: debug?.batchFiles ?? 512,
    batchBytes: 8 * 1024 * 1024,
    bigFileBytes: BIG_FILE_BYTES,
    batchesPerWorker: 4,
    hugeFileBytes: debug?.hugeFileSplitBytes ?? 256 * 1024 * 1024,
    minRangeBytes: debug?.hugeFileSplitBytes ?? 64 * 1024 * 1024,
  };
}

/**
 * The plan for a run from the perf tuning (machine defaults warm-started from local history,
 * perf/tuning.ts); debug overrides win.
 */
export function planFromTuning(t: Tuning, debug: DebugOverrides | undefined): Plan {
  const base = initialPlan(debug);
  return {
    ...base,
    workers: Math.max(1, Math.min(debug?.workers ?? t.workers, 16)),
    order: debug?.primitive ? [debug.primitive, 'readwrite'] : t.primitiveOrder.slice(),
    batchFiles: debug?.batchFiles ?? Math.max(base.minBatch, Math.min(base.maxBatch, t.smallBatchSize)),
    hugeFileBytes: debug?.hugeFileSplitBytes ?? t.hugeFileSplitBytes,
  };
}

/** Adapt the batch size from one finished batch (files, wall ms inside the worker round trip). */
export function adaptBatch(plan: Plan, files: number, elapsedMs: number): void {
  if (files < plan.batchFiles / 2 || elapsedMs <= 0) return;
  const perFile = elapsedMs / files;
  const want = Math.round(BATCH_TARGET_MS / Math.max(perFile, 0.001));
  plan.batchFiles = Math.max(plan.minBatch, Math.min(plan.maxBatch, Math.round((plan.batchFiles + want) / 2)));
}
