/**
 * `runRemoteTransfer`: push (local source → remote destination) or pull (remote source → local
 * destination) through a blitd. Called by the CLI for `blit copy|mirror|move` when a side is remote.
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from './endpoint';
import { runPull } from './pull-client';
import { runPush } from './push-client';

export type RemoteTransferOptions = TransferOptions & {
  /** Send bulk data over the gRPC call even when the TCP data plane is reachable. */
  forceGrpcData: boolean;
};

export async function runRemoteTransfer(
  src: Endpoint,
  dst: Endpoint,
  options: RemoteTransferOptions,
  onEvent: EventSink,
): Promise<TransferSummary> {
  if (src.kind === 'local' && dst.kind === 'remote') return runPush(src.path, dst, options, onEvent);
  if (src.kind === 'remote' && dst.kind === 'local') {
    return runPull(src, dst.path, options, onEvent);
  }
  if (src.kind === 'remote' && dst.kind === 'remote') {
    throw new BlitError({ code: ErrorCodes.Usage, message: 'remote to remote transfers are not supported: one side must be a local path' });
  }
  throw new BlitError({ code: ErrorCodes.Usage, message: 'both sides are local: use the local engine' });
}
