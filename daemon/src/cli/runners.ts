/**
 * The two transfer back ends the command dispatches to: the local engine (both sides local) and
 * the remote client (either side remote). Passed into the command explicitly.
 */
import { runLocalTransfer } from '../engine/orchestrator';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from '../remote/endpoint';
import { runRemoteTransfer, type RemoteTransferOptions } from '../remote/client';
import { PerfHistory, perfHistoryOptionsFromEnv } from '../engine/perf/history';

export interface TransferRunners {
  local(src: string, dst: string, options: TransferOptions, onEvent: EventSink): Promise<TransferSummary>;
  remote(src: Endpoint, dst: Endpoint, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary>;
}

/**
 * Local runs warm-start from, and append to, the local performance history
 * ($XDG_CONFIG_HOME/blit/perf_local.jsonl; BLIT_DISABLE_PERF_HISTORY=1 turns it off). The history
 * is opened per run so `env` is read once, here, and passed down explicitly.
 */
export function defaultRunners(env: NodeJS.ProcessEnv = process.env): TransferRunners {
  return {
    local: (src, dst, options, onEvent) =>
      runLocalTransfer(src, dst, options, onEvent, { history: PerfHistory.open(perfHistoryOptionsFromEnv(env)) }),
    remote: runRemoteTransfer,
  };
}
