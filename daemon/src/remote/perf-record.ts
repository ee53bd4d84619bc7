/**
 * Client-side performance history for remote transfers: one record per finished push or pull in
 * the same local history the engine uses (perf_local.jsonl, see engine/perf/history.ts), so
 * `blit diagnostics perf` shows remote runs too and the predictor has them, segmented by mode
 * ('push' | 'pull'). The remote side's filesystem is not known to the client: it is 'remote'.
 *
 * Recording never fails a transfer (PerfHistory.append never throws) and skips dry runs.
 */
import type { TransferSummary } from '../engine/types';
import { BlitError, ErrorCodes } from '../engine/errors';
import { makePerfRecord, type PerfHistory, type PerfOutcome } from '../engine/perf/history';
import { fsTypeOf } from '../engine/perf/fstype';
import { initialTuning, type WorkloadSignature } from '../engine/perf/tuning';

export const REMOTE_FS = 'remote';

/** The signature of a push (local source) or pull (local destination). */
export async function remoteSignature(mode: 'push' | 'pull', localPath: string): Promise<WorkloadSignature> {
  const local = await fsTypeOf(localPath).catch(() => 'unknown');
  return mode === 'push' ? { mode, fsType: local, dstFsType: REMOTE_FS } : { mode, fsType: REMOTE_FS, dstFsType: local };
}

function outcomeOf(result: TransferSummary | unknown): PerfOutcome {
  if (result instanceof BlitError) return result.code === ErrorCodes.Cancelled ? 'cancelled' : 'failed';
  if (result && typeof result === 'object' && 'failures' in result) return (result as TransferSummary).failures.length > 0 ? 'partial' : 'ok';
  return 'failed';
}

/**
 * Append one record for a finished run (`result` is its summary, or what it threw). The planner
 * time is the time to the first data byte (connect, manifest, need-list), copy time the rest;
 * the primitive is the sender's: sendfile when the data plane used zero-copy.
 */
export async function recordRemoteRun(
  history: PerfHistory,
  sig: WorkloadSignature,
  startedAt: number,
  result: TransferSummary | unknown,
): Promise<void> {
  const summary = result && typeof result === 'object' && 'failures' in result ? (result as TransferSummary) : undefined;
  if (summary?.dryRun) return;
  const durationMs = summary?.durationMs ?? Date.now() - startedAt;
  const firstByte = summary?.firstByteMs ?? null;
  const copied = (summary?.bytesTransferred ?? 0) > 0;
  await history.append(
    makePerfRecord({
      signature: sig,
      plannerMs: firstByte ?? durationMs,
      copyMs: firstByte === null ? 0 : Math.max(0, durationMs - firstByte),
      files: summary?.filesTransferred ?? 0,
      bytes: summary?.bytesTransferred ?? 0,
      // The data plane's settings are the daemon's (streams, chunk sizes): the client records the
      // defaults for the signature so the record has the shape every reader expects.
      settings: initialTuning(sig, null),
      primitive: !copied ? null : summary?.zeroCopy ? 'sendfile' : 'readwrite',
      stallEvents: 0,
      outcome: outcomeOf(result),
      firstByteMs: firstByte,
    }),
  );
}
