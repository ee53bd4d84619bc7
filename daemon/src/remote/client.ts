/**
 * `runRemoteTransfer`: push (local source → remote destination) or pull (remote source → local
 * destination) through a blitd. Called by the CLI for `blit copy|mirror|move` when a side is remote.
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from './endpoint';

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
  void src;
  void dst;
  void options;
  void onEvent;
  throw new BlitError({ code: ErrorCodes.Internal, message: 'remote transfers not implemented yet' });
}
