/**
 * The two transfer back ends the command dispatches to: the local engine (both sides local) and
 * the remote client (either side remote). Passed into the command explicitly.
 */
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from '../remote/endpoint';
import { runRemoteTransfer, type RemoteTransferOptions } from '../remote/client';

export interface TransferRunners {
  local(src: string, dst: string, options: TransferOptions, onEvent: EventSink): Promise<TransferSummary>;
  remote(src: Endpoint, dst: Endpoint, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary>;
}

type LocalRunner = TransferRunners['local'];

/**
 * The engine's orchestrator is being written at the same time as this CLI; it is loaded when first
 * used so the CLI compiles before it lands. TODO(cli): switch to a static import once
 * daemon/src/engine/orchestrator.ts is committed.
 */
function loadLocalRunner(): LocalRunner {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require('../engine/orchestrator') as { runLocalTransfer: LocalRunner };
  return engine.runLocalTransfer;
}

export function defaultRunners(): TransferRunners {
  return {
    local: (src, dst, options, onEvent) => loadLocalRunner()(src, dst, options, onEvent),
    remote: runRemoteTransfer,
  };
}
