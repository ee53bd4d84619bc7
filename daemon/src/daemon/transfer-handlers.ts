/**
 * Push and Pull come from the transfer work (daemon/src/remote/push-server.ts, pull-server.ts);
 * this is the one place the server picks them up, injectable so tests can substitute them.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@blit/proto';
import { defaultDataPlaneSettings, handlePush, type DataPlaneSettings } from '../remote/push-server';
import { handlePull } from '../remote/pull-server';
import type { ServerContext } from './context';

export interface TransferHandlers {
  push(call: grpc.ServerDuplexStream<pb.PushClientMessage__Output, pb.PushServerMessage>, ctx: ServerContext): void;
  pull(call: grpc.ServerDuplexStream<pb.PullClientMessage__Output, pb.PullServerMessage>, ctx: ServerContext): void;
}

/** `settings`: blitd's data-plane flags (token lifetime, streams per transfer, pinned port). */
export function transferHandlers(settings: DataPlaneSettings = defaultDataPlaneSettings()): TransferHandlers {
  return { push: (call, ctx) => handlePush(call, ctx, settings), pull: (call, ctx) => handlePull(call, ctx, settings) };
}
