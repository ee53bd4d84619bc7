/**
 * Connect to a blitd and handshake: the one way every client (CLI admin verbs, push/pull, the
 * daemon acting as a client for StartTransfer) opens a control-plane connection. Every call gets
 * a deadline so nothing hangs (the connection itself: watchConnect's rule, the same for every
 * client), and every failure comes back as a BlitError (fromGrpcError).
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { blitClientConstructor, PROTOCOL_VERSION, type BlitClient, type BlitClientConstructor, type HandshakeResponse__Output } from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { fromGrpcError } from '../daemon/grpc-errors';
import { guardService, refusalOf, WIRE_COST_LIMIT } from '../daemon/wire-guard';
import { grpcTarget } from './endpoint';
import { blitVersion } from './call-io';
import { lateCheckedTimeout } from './late-timer';
import { DEFAULT_BUSY_TIMEOUT_MS } from './busy-timeout';

/** Keepalive ping interval of both sides while a call is open (see CHANNEL_OPTIONS). */
export const KEEPALIVE_TIME_MS = 30_000;
/**
 * How long a keepalive ping may go unanswered before its sender drops the connection (both
 * sides). Long on purpose: a suspended side (Ctrl-Z on blit, a laptop asleep, blitd under a
 * debugger or in a paused VM) answers no ping meanwhile. It was 10 s until 2026-11-21: a
 * suspension of 40 s or more killed the transfer with `14 UNAVAILABLE: Connection dropped`
 * (DEVLOG susp). A suspension shorter than this now lets the transfer carry on; a peer really
 * gone (host down, network cut, process hung) is still noticed within KEEPALIVE_TIME_MS + this,
 * and the transfer fails then (temp files removed, nothing partial under a real name).
 */
export const KEEPALIVE_TIMEOUT_MS = 5 * 60_000;

/**
 * Channel options shared by client and server: both accept the same message sizes, and both ping
 * the other side every KEEPALIVE_TIME_MS while a call is open (dead-peer detection for the control
 * connection, which a transfer's data-plane sockets live and die with).
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
};

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** How long a push or pull waits for a blitd whose port accepts TCP but that has not answered (busy-timeout.ts). */
export { DEFAULT_BUSY_TIMEOUT_MS };

/**
 * DEFAULT_BUSY_TIMEOUT_MS, or (test hook only, not a setting) BLIT_TEST_BUSY_TIMEOUT_MS: a test of
 * a port that accepts and never answers need not wait the full 30 s for the same refusal.
 */
function busyTimeoutMs(): number {
  const v = process.env['BLIT_TEST_BUSY_TIMEOUT_MS'];
  if (v === undefined || v === '') return DEFAULT_BUSY_TIMEOUT_MS;
  const ms = Number(v);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`BLIT_TEST_BUSY_TIMEOUT_MS: expected a whole number of ms above 0, got ${v}`);
  return ms;
}

let guardedCtor: BlitClientConstructor | undefined;

/**
 * The client of blit.v1.Blit whose every reply is costed before it is decoded (wire-guard.ts, side
 * 'response'): a reply over the limit arrives as a refusal marker, turned into BadFrame by
 * messageReader (push, pull) and by the unary and stream helpers below (admin verbs).
 */
function guardedClientConstructor(): BlitClientConstructor {
  guardedCtor ??= grpc.makeGenericClientConstructor(guardService(blitClientConstructor().service, WIRE_COST_LIMIT, 'response'), 'Blit') as unknown as BlitClientConstructor;
  return guardedCtor;
}

export type DaemonAddress = { host: string; port: number } | { socket: string };

export interface ConnectOptions {
  /** How long before an unanswered connection's port is probed, and the probe's own deadline (ms): see watchConnect. */
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

export interface TransferConnection {
  client: BlitClient;
  target: string;
  /**
   * Rejects (BlitError Unreachable) when the channel is not connected within the connect
   * deadline: the only guard against a host that never answers, since a push or pull call waits
   * for the connection without a deadline of its own. Never resolves.
   */
  connectFailed: Promise<never>;
  /** An error event of the push/pull call as the user should read it (`heard`: the daemon answered already). */
  callError(err: Error, heard: boolean): BlitError;
  /**
   * The final error of a call that failed before the daemon answered: a daemon that does not
   * serve the call at all (UNIMPLEMENTED) is asked through the Handshake why (another protocol
   * version, usually: then its ProtocolMismatch). Any other error is returned as it is.
   */
  explain(err: unknown): Promise<unknown>;
  close(): void;
}

/**
 * A channel for one push or pull, without the Handshake round trip: the call's header carries
 * the protocol version (and the client's version), and the daemon refuses another version there
 * with the Handshake's message. The call is started at once; the connection is watched here.
 */
export function openForTransfer(addr: DaemonAddress, opts: { connectTimeoutMs?: number } = {}): TransferConnection {
  const target = addressTarget(addr);
  const Ctor = guardedClientConstructor();
  const client = new Ctor(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const watch = watchConnect(addr, target, () => client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY, opts);
  const connectFailed = watch.failed;
  return {
    client,
    target,
    connectFailed,
    // Before the daemon said anything, a transport error is a connection failure (refused,
    // unreachable), named as the Handshake named it. Later it is a broken transfer.
    callError: (err, heard) =>
      heard ? new BlitError({ code: ErrorCodes.Unreachable, message: `${target}: ${err.message}`, cause: err }) : fromGrpcError(err, target),
    explain: async (err) => {
      const cause = (err instanceof BlitError ? err.cause : err) as Partial<grpc.ServiceError> | undefined;
      if (cause?.code !== grpc.status.UNIMPLEMENTED) return err;
      try {
        await handshakeWith(client, target, {});
        return err;
      } catch (refusal) {
        return refusal;
      }
    },
    close: () => {
      watch.stop();
      client.close();
    },
  };
}

interface ConnectWatch {
  /** Rejects (BlitError Unreachable) as described at watchConnect; never resolves. */
  failed: Promise<never>;
  /** Ends the watch (the connection answered, or is closed): a probe in flight neither re-arms nor rejects. */
  stop(): void;
}

/**
 * The one rule for how long a client waits for blitd to answer (push, pull, and since busy-admin
 * the admin verbs' Handshake): `answered()` false after connectMs -> a plain TCP connect probes
 * the port. Refused or no answer: the host is not there, fail now (`did not answer in time`).
 * Accepted: blitd's kernel took the connection while blitd itself is too busy (or stopped) to
 * answer, so wait on, probing every connectMs, up to busyMs (DEFAULT_BUSY_TIMEOUT_MS) in all
 * (DEVLOG hunt-load); the first probe comes after connectMs, so the wait is never shorter. Unref'd
 * timers, not waitForReady: its deadline timer would keep a failed CLI run alive.
 */
function watchConnect(addr: DaemonAddress, target: string, answered: () => boolean, opts: { connectTimeoutMs?: number } = {}): ConnectWatch {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const settled = (): boolean => stopped || answered();
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const busyMs = busyTimeoutMs();
  const failed = new Promise<never>((_resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      void acceptsConnections(addr, connectMs).then((accepts) => {
        if (settled()) return;
        const waited = Date.now() - started;
        if (!accepts) {
          reject(new BlitError({ code: ErrorCodes.Unreachable, message: `${target} did not answer in time (deadline exceeded)` }));
        } else if (waited >= busyMs) {
          reject(new BlitError({ code: ErrorCodes.Unreachable, message: `${target} accepts connections but blitd did not answer within ${Math.round(waited / 1000)} s (overloaded or stopped?)` }));
        } else {
          // A busy blitd: wait on, the call is slower, not failed.
          arm(Math.min(connectMs, busyMs - waited));
        }
      });
    };
    const arm = (ms: number): void => {
      timer = lateCheckedTimeout(ms, settled, check);
      timer.unref();
    };
    arm(connectMs);
  });
  failed.catch(() => undefined);
  return {
    failed,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Whether a TCP (or unix socket) connection to `addr` completes within `ms`; closed at once. */
function acceptsConnections(addr: DaemonAddress, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = 'socket' in addr ? net.connect({ path: addr.socket }) : net.connect({ host: addr.host, port: addr.port });
    const end = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = lateCheckedTimeout(ms, () => s.destroyed, () => end(false));
    t.unref();
    s.once('connect', () => end(true));
    s.once('error', () => end(false));
  });
}

/** Opens a channel and performs the version handshake; refuses a mismatched daemon. */
export async function connectDaemon(addr: DaemonAddress, opts: ConnectOptions = {}): Promise<DaemonConnection> {
  const target = addressTarget(addr);
  const Ctor = guardedClientConstructor();
  const client = new Ctor(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);

  const unary = <T>(invoke: (o: grpc.CallOptions, cb: grpc.requestCallback<T>) => unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      invoke(deadlineIn(timeoutMs), (err, res) => {
        if (err) reject(fromGrpcError(err, target));
        else if (refusalOf(res)) reject(refusalOf(res));
        else resolve(res as T);
      });
    });

  async function* stream<T>(invoke: (o: grpc.CallOptions) => grpc.ClientReadableStream<T>, timeoutMs?: number): AsyncIterable<T> {
    const call = invoke(deadlineIn(timeoutMs));
    try {
      for await (const msg of call) {
        const refused = refusalOf(msg);
        if (refused) throw refused;
        yield msg as T;
      }
    } catch (err) {
      throw fromGrpcError(err, target);
    } finally {
      call.cancel();
    }
  }

  // No deadline on this Handshake: the watch bounds it (a refused port fails at once through
  // the call itself; a busy blitd is waited on as a push would wait). A flat 5 s deadline failed
  // `blit ls`/`du` against a blitd a few seconds behind (busy-admin).
  let answered = false;
  const watch = watchConnect(addr, target, () => answered, opts);
  let handshake: HandshakeResponse__Output;
  try {
    handshake = await Promise.race([handshakeWith(client, target, { ...opts, connectTimeoutMs: 0 }), watch.failed]);
  } catch (err) {
    client.close();
    throw err;
  } finally {
    answered = true;
    watch.stop();
  }
  return { client, target, handshake, unary, stream, close: () => client.close() };
}

/** The Handshake RPC (deadline: the connect timeout, none when 0); throws ProtocolMismatch when refused. */
async function handshakeWith(client: BlitClient, target: string, opts: ConnectOptions): Promise<HandshakeResponse__Output> {
  const protocolVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
  const handshake = await new Promise<HandshakeResponse__Output>((resolve, reject) => {
    client.Handshake(
      { protocolVersion, clientVersion: opts.clientVersion ?? blitVersion() },
      deadlineIn(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
      (err, res) => (err ? reject(fromGrpcError(err, target)) : resolve(res!)),
    );
  });
  // A server that says "accepted" in another protocol version is refused too: its messages
  // would be read by this version's rules.
  if (!handshake.accepted || handshake.protocolVersion !== protocolVersion) {
    throw new BlitError({
      code: ErrorCodes.ProtocolMismatch,
      message: (!handshake.accepted && handshake.message) || `daemon at ${target} speaks protocol ${handshake.protocolVersion}, this client speaks ${protocolVersion}`,
    });
  }
  return handshake;
}
