/**
 * Connect to a blitd and handshake: the one way every client (CLI admin verbs, push/pull, the
 * daemon acting as a client for StartTransfer) opens a control-plane connection. Every call gets
 * a deadline so nothing hangs, and every failure comes back as a BlitError (fromGrpcError).
 */
import * as grpc from '@grpc/grpc-js';
import { blitClientConstructor, PROTOCOL_VERSION, type BlitClient, type HandshakeResponse__Output } from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { fromGrpcError } from '../daemon/grpc-errors';
import { grpcTarget } from './endpoint';

/** Channel options shared by client and server so both accept the same message sizes. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export type DaemonAddress = { host: string; port: number } | { socket: string };

export interface ConnectOptions {
  /** Deadline for the connection and handshake (ms). */
  connectTimeoutMs?: number;
  /** Sent in the handshake; tests use it to present a different protocol version. */
  protocolVersion?: number;
  clientVersion?: string;
}

export interface DaemonConnection {
  client: BlitClient;
  /** Display form of the address, e.g. `127.0.0.1:9031` or `unix:/run/blit.sock`. */
  target: string;
  handshake: HandshakeResponse__Output;
  /** A unary call with a deadline; errors mapped to BlitError. */
  unary<T>(invoke: (opts: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown, timeoutMs?: number): Promise<T>;
  /** Read a server stream to the end (optionally with a deadline); errors mapped to BlitError. */
  stream<T>(invoke: (opts: grpc.CallOptions) => grpc.ClientReadableStream<T>, timeoutMs?: number): AsyncIterable<T>;
  close(): void;
}

export function addressTarget(addr: DaemonAddress): string {
  return 'socket' in addr ? `unix:${addr.socket}` : grpcTarget(addr.host, addr.port);
}

function deadlineIn(ms: number | undefined): grpc.CallOptions {
  return ms && ms > 0 ? { deadline: Date.now() + ms } : {};
}

/** Opens a channel and performs the version handshake; refuses a mismatched daemon. */
export async function connectDaemon(addr: DaemonAddress, opts: ConnectOptions = {}): Promise<DaemonConnection> {
  const target = addressTarget(addr);
  const Ctor = blitClientConstructor();
  const client = new Ctor(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);

  const unary = <T>(invoke: (o: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      invoke(deadlineIn(timeoutMs), (err, res) => {
        if (err) reject(fromGrpcError(err, target));
        else resolve(res as T);
      });
    });

  async function* stream<T>(invoke: (o: grpc.CallOptions) => grpc.ClientReadableStream<T>, timeoutMs?: number): AsyncIterable<T> {
    const call = invoke(deadlineIn(timeoutMs));
    try {
      for await (const msg of call) yield msg as T;
    } catch (err) {
      throw fromGrpcError(err, target);
    } finally {
      call.cancel();
    }
  }

  const protocolVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
  let handshake: HandshakeResponse__Output;
  try {
    handshake = await unary<HandshakeResponse__Output>(
      (o, cb) => client.Handshake({ protocolVersion, clientVersion: opts.clientVersion ?? clientVersion() }, o, cb),
      opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
  } catch (err) {
    client.close();
    throw err;
  }
  if (!handshake.accepted) {
    client.close();
    throw new BlitError({
      code: ErrorCodes.ProtocolMismatch,
      message: handshake.message || `daemon at ${target} speaks protocol ${handshake.protocolVersion}, this client speaks ${protocolVersion}`,
    });
  }
  return { client, target, handshake, unary, stream, close: () => client.close() };
}

function clientVersion(): string {
  try {
    return String(require('../../../package.json').version);
  } catch {
    return 'unknown';
  }
}
