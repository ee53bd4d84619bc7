/**
 * Push and Pull come from the transfer work (daemon/src/remote/push-server.ts, pull-server.ts);
 * this is the one place the server picks them up, injectable so tests can substitute them.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@blit/proto';
import { handlePush } from '../remote/push-server';
import { handlePull } from '../remote/pull-server';
import type { ServerContext } from './context';

export interface TransferHandlers {
  push(call: grpc.ServerDuplexStream<pb.PushClientMessage__Output, pb.PushServerMessage>, ctx: ServerContext): void;
  pull(call: grpc.ServerDuplexStream<pb.PullClientMessage__Output, pb.PullServerMessage>, ctx: ServerContext): void;
}

export function transferHandlers(): TransferHandlers {
  return { push: (call, ctx) => handlePush(call, ctx), pull: (call, ctx) => handlePull(call, ctx) };
}
