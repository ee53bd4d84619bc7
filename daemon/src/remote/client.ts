/**
 * `runRemoteTransfer`: push (local source → remote destination) or pull (remote source → local
 * destination) through a blitd. Called by the CLI for `blit copy|mirror|move` when a side is remote.
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { PerfHistory } from '../engine/perf/history';
import type { Endpoint } from './endpoint';
import { recordRemoteRun, remoteSignature } from './perf-record';
import { runPull } from './pull-client';
import { runPush } from './push-client';

export type RemoteTransferOptions = TransferOptions & {
  /** Send bulk data over the gRPC call even when the TCP data plane is reachable. */
  forceGrpcData: boolean;
};

/**
 * `history` (opened by the CLI at its edge) gets one record per finished push or pull, ok or not;
 * null/undefined records nothing.
 */
export async function runRemoteTransfer(
  src: Endpoint,
  dst: Endpoint,
  options: RemoteTransferOptions,
  onEvent: EventSink,
  history?: PerfHistory | null,
): Promise<TransferSummary> {
  if (src.kind === 'local' && dst.kind === 'remote') {
    return recorded(history, 'push', src.path, () => runPush(src.path, dst, options, onEvent));
  }
  if (src.kind === 'remote' && dst.kind === 'local') {
    return recorded(history, 'pull', dst.path, () => runPull(src, dst.path, options, onEvent));
  }
  if (src.kind === 'remote' && dst.kind === 'remote') {
    throw new BlitError({ code: ErrorCodes.Usage, message: 'remote to remote transfers are not supported: one side must be a local path' });
  }
  throw new BlitError({ code: ErrorCodes.Usage, message: 'both sides are local: use the local engine' });
}

async function recorded(
  history: PerfHistory | null | undefined,
  mode: 'push' | 'pull',
  localPath: string,
  run: () => Promise<TransferSummary>,
): Promise<TransferSummary> {
  if (!history || history.disabled) return run();
  const startedAt = Date.now();
  const sig = remoteSignature(mode, localPath);
  try {
    const summary = await run();
    await recordRemoteRun(history, await sig, startedAt, summary);
    return summary;
  } catch (err) {
    await recordRemoteRun(history, await sig, startedAt, err);
    throw err;
  }
}
