/**
 * The gRPC service: wires every RPC of blit.v1.Blit to its handler, maps every failure through
 * toGrpcError (one place), logs refusals, and binds TCP and/or a private Unix socket.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blitClientConstructor, PROTOCOL_VERSION, type BlitHandlers } from '@blit/proto';
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { CHANNEL_OPTIONS } from '../remote/grpc-client';
import { protocolMismatchMessage } from '../remote/call-io';
import type { ServerContext } from './context';
import { asBlitError, toGrpcError } from './grpc-errors';
import * as admin from './admin-rpc';
import { cancelJob, listJobs, watchJobs } from './jobs-rpc';
import type { Jobs } from './jobs';
import { transferHandlers, type TransferHandlers } from './transfer-handlers';
import { guardService, refusalOf } from './wire-guard';

export interface ServiceDeps {
  ctx: ServerContext;
  jobs: Jobs;
  daemonVersion: string;
  /**
   * Runs a transfer between arbitrary local paths and remotes, so it is served only on the
   * private Unix socket; undefined (TCP daemons) refuses StartTransfer.
   */
  startTransfer: ((req: pb.StartTransferRequest__Output) => Promise<string>) | undefined;
  /** Push/Pull implementations (the transfer work); injectable for tests. */
  transfers?: TransferHandlers;
}

/** Capabilities announced in the handshake. */
function capabilities(deps: ServiceDeps): string[] {
  const caps = deps.ctx.forceGrpcData ? ['grpc-data'] : ['tcp-data', 'grpc-data'];
  if (deps.startTransfer) caps.push('start-transfer');
  return caps;
}

export function handshake(deps: ServiceDeps, req: pb.HandshakeRequest__Output): pb.HandshakeResponse {
  const base = { protocolVersion: PROTOCOL_VERSION, serverVersion: deps.daemonVersion, capabilities: capabilities(deps) };
  if (req.protocolVersion !== PROTOCOL_VERSION) {
    const message = protocolMismatchMessage(req.protocolVersion, req.clientVersion, PROTOCOL_VERSION, deps.daemonVersion);
    deps.ctx.log.warn('refused handshake', { clientProtocol: req.protocolVersion, serverProtocol: PROTOCOL_VERSION, clientVersion: req.clientVersion });
    return { ...base, accepted: false, message };
  }
  return { ...base, accepted: true, message: '' };
}

export function buildService(deps: ServiceDeps): BlitHandlers {
  const { ctx, jobs } = deps;
  const log = ctx.log;

  const logFailure = (method: string, err: BlitError, peer: string): void => {
    const fields = { method, code: err.code, peer, error: err.message };
    if (err.code === ErrorCodes.Internal) log.error('request failed', { ...fields, stack: (err.cause as Error)?.stack ?? err.stack });
    else log.warn('request failed', fields);
  };

  function unary<Req, Res>(method: string, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      log.debug('request', { method, peer: call.getPeer() });
      Promise.resolve()
        .then(() => fn(unrefused(call.request), call))
        .then(
          (res) => callback(null, res),
          (err) => {
            const e = asBlitError(err);
            logFailure(method, e, call.getPeer());
            callback(toGrpcError(e) as grpc.ServiceError);
          },
        );
    };
  }

  /** Server streams: `send` respects backpressure; the signal aborts when the client leaves. */
  function serverStream<Req, Res>(
    method: string,
    fn: (req: Req, send: (m: Res) => Promise<void>, signal: AbortSignal) => Promise<void>,
  ): grpc.handleServerStreamingCall<Req, Res> {
    return (call) => {
      log.debug('request', { method, peer: call.getPeer() });
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const onShutdown = (): void => ac.abort();
      ctx.shutdown.addEventListener('abort', onShutdown, { once: true });
      const send = (m: Res): Promise<void> =>
        new Promise((resolve) => {
          if (call.write(m)) resolve();
          else call.once('drain', () => resolve());
        });
      Promise.resolve()
        .then(() => fn(unrefused(call.request), send, ac.signal))
        .then(
          () => call.end(),
          (err) => {
            const e = asBlitError(err);
            if (ac.signal.aborted && e.code === ErrorCodes.Cancelled) {
              call.end();
              return;
            }
            logFailure(method, e, call.getPeer());
            call.emit('error', toGrpcError(e));
          },
        )
        .finally(() => ctx.shutdown.removeEventListener('abort', onShutdown));
    };
  }

  const transfers = deps.transfers ?? transferHandlers();

  return {
    Handshake: unary('Handshake', (req: pb.HandshakeRequest__Output) => handshake(deps, req)),
    Push: (call) => transfers.push(call, ctx),
    Pull: (call) => transfers.pull(call, ctx),
    ListModules: unary('ListModules', () => admin.listModules(ctx)),
    List: unary('List', (req: pb.ListRequest__Output) => admin.list(ctx, req)),
    Find: serverStream('Find', async (req: pb.FindRequest__Output, send, signal) => {
      await admin.find(ctx, req, send, signal);
    }),
    DiskUsage: unary('DiskUsage', (req: pb.DiskUsageRequest__Output, call) => admin.diskUsage(ctx, req, cancelSignal(call))),
    FilesystemStats: unary('FilesystemStats', (req: pb.FilesystemStatsRequest__Output) => admin.filesystemStats(ctx, req)),
    Purge: unary('Purge', (req: pb.PurgeRequest__Output, call) => admin.purge(ctx, req, cancelSignal(call))),
    StartTransfer: unary('StartTransfer', async (req: pb.StartTransferRequest__Output) => {
      if (!deps.startTransfer) {
        throw new BlitError({
          code: ErrorCodes.PermissionDenied,
          message:
            'StartTransfer is served only on the private socket (blitd --socket PATH): it reads and writes local paths ' +
            'outside any module, which no network client may do',
        });
      }
      return { jobId: await deps.startTransfer(req) };
    }),
    ListJobs: unary('ListJobs', (req: pb.ListJobsRequest__Output) => listJobs(jobs, req)),
    CancelJob: unary('CancelJob', (req: pb.CancelJobRequest__Output) => {
      const res = cancelJob(jobs, req);
      log.info('cancel job', { job: req.jobId, cancelled: res.cancelled });
      return res;
    }),
    WatchJobs: (call) => {
      log.debug('request', { method: 'WatchJobs', peer: call.getPeer() });
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const stop = AbortSignal.any([ac.signal, ctx.shutdown]);
      try {
        // The write's return value is the stream's backpressure: a watcher that stops reading gets its
        // progress coalesced and its item events bounded (jobs-rpc.ts), not queued here without end.
        watchJobs(jobs, unrefused(call.request), (ev) => call.write(ev), () => call.end(), stop, (resume) => call.once('drain', resume));
      } catch (err) {
        const e = asBlitError(err);
        logFailure('WatchJobs', e, call.getPeer());
        call.emit('error', toGrpcError(e));
      }
    },
  };
}

/** The request, or the BadFrame of a message refused undecoded (wire-guard.ts) thrown. */
function unrefused<T>(req: T): T {
  const refused = refusalOf(req);
  if (refused) throw refused;
  return req;
}

/** Aborts when the client cancels the call or its deadline passes. */
function cancelSignal(call: grpc.ServerUnaryCall<unknown, unknown>): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort());
  return ac.signal;
}

export interface ListenOptions {
  /** TCP address; omitted when only the Unix socket is wanted. */
  tcp?: { host: string; port: number };
  /** Private Unix socket path (created 0600 in a 0700 directory). */
  socket?: string;
}

export interface RunningServer {
  server: grpc.Server;
  /** Bound TCP port (when listening on TCP). */
  port?: number;
  socket?: string;
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * Prepares the socket's directory: created 0700 when missing; an existing one must not be
 * reachable by other users (the socket is the daemon's whole API, unauthenticated).
 */
function prepareSocketDir(socket: string): void {
  const dir = path.dirname(socket);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if ((st.mode & 0o077) !== 0) {
    throw new BlitError({
      code: ErrorCodes.Usage,
      message: `--socket ${socket}: directory ${dir} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); use a private (0700) directory`,
    });
  }
  try {
    const existing = fs.lstatSync(socket);
    if (!existing.isSocket()) throw new BlitError({ code: ErrorCodes.Usage, message: `--socket ${socket}: exists and is not a socket` });
    fs.unlinkSync(socket); // a stale socket from a previous run
  } catch (err) {
    if (err instanceof BlitError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function startServer(handlers: BlitHandlers, listen: ListenOptions): Promise<RunningServer> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(guardService(blitClientConstructor().service), handlers);
  const out: RunningServer = { server };
  try {
    if (listen.socket) {
      prepareSocketDir(listen.socket);
      // umask so the socket is never briefly reachable with wider permissions.
      const old = process.umask(0o177);
      try {
        await bind(server, `unix:${listen.socket}`);
      } finally {
        process.umask(old);
      }
      fs.chmodSync(listen.socket, 0o600);
      out.socket = listen.socket;
    }
    if (listen.tcp) {
      const { host, port } = listen.tcp;
      const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      try {
        out.port = await bind(server, addr);
      } catch (err) {
        throw new BlitError({ code: ErrorCodes.Usage, message: `cannot listen on ${addr}: ${(err as Error).message}` });
      }
    }
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return out;
}
