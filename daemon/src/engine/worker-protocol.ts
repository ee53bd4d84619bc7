/** Messages between the orchestrator and copy workers (structured-clone friendly: no classes). */
import type { CopyPrimitive } from './types';
import type { MetaOptions } from './metadata';

export interface WorkerInit {
  meta: MetaOptions;
  order: CopyPrimitive[];
  /**
   * Int32Array view over a SharedArrayBuffer: [0] != 0 means cancel now; [1] heartbeat counter;
   * [2] workers inside a move's sync right now (no heartbeat while the kernel writes back).
   */
  cancel: SharedArrayBuffer;
  /** --checksum in use: hash helper must be ready before the first task. */
  needHash: boolean;
}

export interface FileTask {
  /** Index assigned by the orchestrator, echoed back. */
  id: number;
  /**
   * Paths as latin1 strings (one char per byte, so any name survives): strings clone cheaply,
   * while a Buffer view would drag its whole pooled ArrayBuffer through structured clone.
   */
  src: string;
  dstDir: string;
  name: string;
  /** The scan's view of the source; a different size/mtime after the copy = SourceChanged. */
  size: number;
  /** Exact, or MTIME_NS_UNKNOWN (-1n) with mtimeMs set (fast-mode scan). */
  mtimeNs: bigint;
  /** Node double-ms mtime from a fast-mode scan; -1 when mtimeNs is exact. */
  mtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
  blocks: number;
  /** --checksum: an existing destination of equal size; hash both, copy only if they differ. */
  hashFirst: boolean;
  /** move: after commit, verify the destination (size+mtime, or hash) and unlink the source. */
  removeSource: boolean;
  verifyByHash: boolean;
  /** Only compare the two files' hashes, write nothing: a dry run with --checksum, or a destination --ignore-existing kept (removeSource: its source goes if equal). */
  hashOnly?: boolean;
  /**
   * Part of a split huge file: copy [start, end) into the already created temp file `temp`
   * (latin1 path) at the same offsets; the main thread verifies and commits (split-copy.ts).
   */
  range?: { temp: string; start: number; end: number };
}

/** 'differs': a hashOnly task found different contents (a dry run with --checksum, or a destination --ignore-existing kept). */
export type TaskStatus = 'copied' | 'same' | 'differs' | 'failed' | 'cancelled';

export interface TaskResult {
  id: number;
  status: TaskStatus;
  bytes: number;
  /** Failure code/reason (BlitError code) when status === 'failed'. */
  code?: string;
  reason?: string;
  /**
   * move: the copy verified and its source waits in the worker for a sync (durable.ts
   * DeferredRemovals); its outcome comes in a later (or this) BatchReply's `removals`.
   */
  removalQueued?: boolean;
  /** move: the copy is done but the source could not be removed (why). */
  sourceKeptReason?: string;
  /** ms timestamp (performance.now of the worker's epoch is useless): Date.now() when the first byte landed. */
  firstByteAt?: number;
}

export interface BatchRequest {
  batch: number;
  /** Empty in a request that only flushes removals. */
  tasks: FileTask[];
  /** move, end of the copies: sync and remove every source still waiting in this worker. */
  flushRemovals?: boolean;
}

/** A queued source removal (TaskResult.removalQueued) settled: null = removed, else why kept. */
export interface RemovalOutcome {
  id: number;
  kept: string | null;
}

/** The pool asks a worker to exit between batches (see WorkerPool.close, worker-exit.ts). */
export type { ExitRequest } from './worker-exit';

export interface BatchReply extends BatchOutput {
  batch: number;
}

/** What running one batch gives (copy-task.ts createBatchRunner). */
export interface BatchOutput {
  results: TaskResult[];
  /** move: removals settled while running this batch (of this or earlier batches' tasks). */
  removals?: RemovalOutcome[];
  /** move: sources still waiting in the worker for a sync (a flushRemovals request settles them). */
  removalsWaiting?: number;
  /**
   * move: ms the batch spent making copies durable (syncfs) before removing their sources. A cost
   * per sync, not per file: adaptBatch leaves it out (move-sync).
   */
  syncMs?: number;
}
