/**
 * Push and Pull handlers come from the transfer work (daemon/src/remote/push-server.ts and
 * pull-server.ts). Until those exist the RPCs answer UNIMPLEMENTED with a clear message.
 */
import * as grpc from '@grpc/grpc-js';
import type * as pb from '@blit/proto';
import type { ServerContext } from './context';

export interface TransferHandlers {
  push(call: grpc.ServerDuplexStream<pb.PushClientMessage__Output, pb.PushServerMessage>, ctx: ServerContext): void;
  pull(call: grpc.ServerDuplexStream<pb.PullClientMessage__Output, pb.PullServerMessage>, ctx: ServerContext): void;
}

function unimplemented(what: string) {
  return (call: grpc.ServerDuplexStream<unknown, unknown>, ctx: ServerContext): void => {
    ctx.log.warn(`${what} requested but not available in this build`);
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: `${what} is not implemented by this blitd yet` });
  };
}

export function transferHandlers(): TransferHandlers {
  return { push: unimplemented('push'), pull: unimplemented('pull') };
}
