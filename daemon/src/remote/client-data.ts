/**
 * Client side of the data path decision: connect the TCP streams the daemon offered, or fall back
 * to gRPC data with a warning when the port cannot be reached (or when gRPC data is forced).
 */
import type * as net from 'node:net';
import type * as pb from '@blit/proto';
import type { EventSink } from '../engine/types';
import { connectDataStream, dataConnectTiming, MAX_DATA_STREAMS, TOKEN_BYTES } from './dataplane';
import { sendOverGrpc, type GrpcFileData, type SendQueue, type SenderHooks } from './data-sender';
import { sendOnStreamZeroCopy } from './stream-worker';

export interface DataPathResult {
  tcp: boolean;
  zeroCopy: boolean;
}

/** A data stream the daemon accepted, with its token's index in the negotiation (StreamsKept). */
export interface KeptStream {
  socket: net.Socket;
  index: number;
}

/**
 * Open every stream the negotiation offers (in parallel). Returns the accepted ones; an empty
 * list (after a warning event) when none could be opened, so the caller uses gRPC data.
 */
export async function connectStreams(host: string, n: pb.DataTransferNegotiation__Output, onEvent: EventSink): Promise<KeptStream[]> {
  // At most as many streams as a blitd may offer: a hostile server's 100,000 would each be a
  // socket and a connect (the daemon sends only on those kept, StreamsKept).
  const count = Math.min(n.streams, MAX_DATA_STREAMS, Math.floor(n.token.length / TOKEN_BYTES));
  if (n.tcpPort === 0 || count === 0) return [];
  // Wait for each answer as long as the daemon may still accept its token (dataConnectTiming).
  const timing = dataConnectTiming(n.tokenTtlMs);
  const attempts = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => connectDataStream(host, n.tcpPort, n.token.subarray(i * TOKEN_BYTES, (i + 1) * TOKEN_BYTES), timing)),
  );
  const kept = attempts.flatMap((a, index) => (a.status === 'fulfilled' ? [{ socket: a.value, index }] : []));
  if (kept.length === 0) {
    const why = attempts[0]?.status === 'rejected' ? (attempts[0].reason as Error).message : 'no stream';
    onEvent({ type: 'warning', message: `TCP data plane unreachable (${why}); sending file data over the gRPC connection instead (slower)` });
  }
  return kept;
}

export interface DataSendersInit {
  host: string;
  negotiation: pb.DataTransferNegotiation__Output;
  forceGrpcData: boolean;
  queue: SendQueue;
  signal: AbortSignal | undefined;
  onEvent: EventSink;
  grpcSend(d: GrpcFileData): Promise<void>;
  hooks: SenderHooks;
}

/** Push: send every queued file on the TCP streams, or over gRPC. Resolves when all were sent. */
export async function startDataSenders(init: DataSendersInit): Promise<DataPathResult> {
  const sockets = init.forceGrpcData ? [] : (await connectStreams(init.host, init.negotiation, init.onEvent)).map((k) => k.socket);
  if (sockets.length > 0) {
    let zeroCopy: boolean[];
    try {
      zeroCopy = await Promise.all(sockets.map((s) => sendOnStreamZeroCopy(s, init.queue, init.hooks, init.signal)));
    } finally {
      for (const s of sockets) if (!s.destroyed) s.destroy();
    }
    return { tcp: true, zeroCopy: zeroCopy.some((z) => z) };
  }
  await sendOverGrpc(init.queue, init.grpcSend, init.hooks, init.signal);
  return { tcp: false, zeroCopy: false };
}
