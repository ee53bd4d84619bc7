/**
 * Push and Pull come from the transfer work (daemon/src/remote/push-server.ts, pull-server.ts);
 * this is the one place the server picks them up, injectable so tests can substitute them. Each
 * served call is recorded in blitd's perf history here (perf-served.ts), outside the handlers.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@blit/proto';
import { defaultDataPlaneSettings, handlePush, type DataPlaneSettings } from '../remote/push-server';
import { handlePull } from '../remote/pull-server';
import type { ServerContext } from './context';
import type { ServedPerf } from './perf-served';

export interface TransferHandlers {
  push(call: grpc.ServerDuplexStream<pb.PushClientMessage__Output, pb.PushServerMessage>, ctx: ServerContext): void;
  pull(call: grpc.ServerDuplexStream<pb.PullClientMessage__Output, pb.PullServerMessage>, ctx: ServerContext): void;
}

/**
 * `settings`: blitd's data-plane flags (token lifetime, streams per transfer, pinned port);
 * `perf`: records every served push/pull (undefined: nothing recorded).
 */
export function transferHandlers(settings: DataPlaneSettings = defaultDataPlaneSettings(), perf?: ServedPerf): TransferHandlers {
  const wrap = (ctx: ServerContext, mode: 'push' | 'pull'): ServerContext => (perf ? perf.contextFor(ctx, mode) : ctx);
  return {
    push: (call, ctx) => handlePush(call, wrap(ctx, 'push'), settings),
    pull: (call, ctx) => handlePull(call, wrap(ctx, 'pull'), settings),
  };
}
