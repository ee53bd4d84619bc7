/**
 * The two transfer back ends the command dispatches to: the local engine (both sides local) and
 * the remote client (either side remote). Passed into the command explicitly.
 */
import { runLocalTransfer } from '../engine/orchestrator';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from '../remote/endpoint';
import { runRemoteTransfer, type RemoteTransferOptions } from '../remote/client';

export interface TransferRunners {
  local(src: string, dst: string, options: TransferOptions, onEvent: EventSink): Promise<TransferSummary>;
  remote(src: Endpoint, dst: Endpoint, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary>;
}

export function defaultRunners(): TransferRunners {
  return { local: runLocalTransfer, remote: runRemoteTransfer };
}
