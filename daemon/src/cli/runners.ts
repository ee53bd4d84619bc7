/**
 * The two transfer back ends the command dispatches to: the local engine (both sides local) and
 * the remote client (either side remote). Passed into the command explicitly.
 *
 * Each back end is required on first use, not at start-up: the remote stack (grpc-js, the proto
 * loader, the data plane) took ~70-150 ms of every `blit` start, local runs included, and a no-op
 * local mirror is a sub-second command.
 */
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import type { Endpoint } from '../remote/endpoint';
import type { RemoteTransferOptions } from '../remote/client';

export interface TransferRunners {
  local(src: string, dst: string, options: TransferOptions, onEvent: EventSink): Promise<TransferSummary>;
  remote(src: Endpoint, dst: Endpoint, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary>;
}

/**
 * Local runs warm-start from, and append to, the local performance history; remote runs (push,
 * pull) append to it too
 * ($XDG_CONFIG_HOME/blit/perf_local.jsonl; BLIT_DISABLE_PERF_HISTORY=1 turns it off). The history
 * is opened per run so `env` is read once, here, and passed down explicitly.
 */
export function defaultRunners(env: NodeJS.ProcessEnv = process.env): TransferRunners {
  return {
    local: (src, dst, options, onEvent) => {
      const { runLocalTransfer } = require('../engine/orchestrator') as typeof import('../engine/orchestrator');
      const { PerfHistory, perfHistoryOptionsFromEnv } = require('../engine/perf/history') as typeof import('../engine/perf/history');
      return runLocalTransfer(src, dst, options, onEvent, { history: PerfHistory.open(perfHistoryOptionsFromEnv(env)) });
    },
    remote: (src, dst, options, onEvent) => {
      const { runRemoteTransfer } = require('../remote/client') as typeof import('../remote/client');
      const { PerfHistory, perfHistoryOptionsFromEnv } = require('../engine/perf/history') as typeof import('../engine/perf/history');
      return runRemoteTransfer(src, dst, options, onEvent, PerfHistory.open(perfHistoryOptionsFromEnv(env)));
    },
  };
}
