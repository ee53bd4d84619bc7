/**
 * `blitd` entry point: parse flags, load the config (refusing a bad one with FILE:LINE: key:
 * cause), build the ServerContext, serve, and shut down gracefully on SIGTERM/SIGINT.
 */
import { setMaxListeners } from 'node:events';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { ModuleConfig, ServerContext } from './context';
import { DATA_LIMITS, defaultModule, loadConfigFile, type DaemonFileConfig } from './config';
import { transferHandlers } from './transfer-handlers';
import { DEFAULT_TOKEN_TTL_MS, PinnedDataPort } from '../remote/dataplane';
import { blitVersion } from '../remote/call-io';
import { defaultDataPlaneSettings } from '../remote/push-server';
import { createResolver } from './containment';
import { createLogger, ignoreStdioErrors, type ClosableLogger, type LogFormat, type LogLevel } from './logger';
import { flushed, LOG_FLUSH_MS } from './stderr-queue';
import { Jobs } from './jobs';
import { buildService, startServer, type RunningServer } from './server';
import { startTransfer } from './transfer-job';
import { runLocalTransfer } from '../engine/orchestrator';
import { PerfHistory, perfHistoryOptionsFromEnv } from '../engine/perf/history';
import { ServedPerf } from './perf-served';
import { nativeBatchRefusedWarning } from '@blit/native';

export const DEFAULT_BIND = '127.0.0.1';
export const DEFAULT_PORT = 9031;
const SHUTDOWN_GRACE_MS = 10_000;

interface Flags {
  config?: string;
  bind?: string;
  port?: number;
  root?: string;
  forceGrpcData?: boolean;
  dataTokenTtlMs?: number;
  dataStreams?: number;
  dataPort?: number;
  socket?: string;
  log?: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

function parsePortFlag(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535 (0 = pick a free port)');
  return n;
}

function intFlag(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    return n;
  };
}

function choice<T extends string>(allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of: ${allowed.join(', ')}`);
    return v as T;
  };
}

function buildProgram(): Command {
  return new Command('blitd')
    .description('Blit daemon: serves modules to blit clients over gRPC (+ a raw TCP data plane)')
    .version(blitVersion())
    .option('--config <file>', 'TOML config with [[module]] tables (name, path, read_only, comment)')
    .option('--bind <addr>', `address to listen on (default ${DEFAULT_BIND})`)
    .option('--port <n>', `TCP port (default ${DEFAULT_PORT}; 0 picks a free port and prints it)`, parsePortFlag)
    .option('--root <dir>', "directory exported as module 'default' when the config defines no modules")
    .option('--force-grpc-data', 'send bulk data over gRPC only (also BLIT_FORCE_GRPC_DATA=1)')
    .option('--data-token-ttl-ms <ms>', `lifetime of a data-plane token (default ${DEFAULT_TOKEN_TTL_MS})`, intFlag(DATA_LIMITS.tokenTtlMs.min, DATA_LIMITS.tokenTtlMs.max))
    .option('--data-streams <n>', 'TCP data streams per transfer (default: 2..4 by CPU count)', intFlag(DATA_LIMITS.streams.min, DATA_LIMITS.streams.max))
    .option('--data-port <n>', 'one fixed TCP port for every data stream (default: an ephemeral port per transfer)', intFlag(DATA_LIMITS.port.min, DATA_LIMITS.port.max))
    .option('--socket <path>', 'listen only on this Unix socket (mode 0600, in a 0700 directory)')
    .option('--log <file>', 'append log lines to this file instead of stderr')
    .option('--log-format <fmt>', 'text or json', choice(['text', 'json'] as const), 'text')
    .option('--log-level <level>', 'debug, info, warn or error', choice(['debug', 'info', 'warn', 'error'] as const), 'info')
    .addHelpText('after', CONFIG_HELP)
    .exitOverride()
    .showHelpAfterError();
}

const CONFIG_HELP = `
Config file (TOML; flags win over it):
  bind = "127.0.0.1"          # optional
  port = 9031                 # optional
  log = "/var/log/blitd.log"  # optional
  force_grpc_data = false     # optional
  data_token_ttl_ms = 5000    # optional: data-plane token lifetime
  data_streams = 4            # optional: TCP data streams per transfer
  data_port = 9032            # optional: fixed data port (firewalls); default ephemeral

  [[module]]
  name = "backups"            # clients write HOST:/backups/PATH
  path = "/srv/backups"       # relative paths are relative to the config file
  read_only = false           # true refuses every write and delete
  comment = "nightly backups"

  A mistake stops blitd with FILE:LINE: key: cause and exit code 1.

Without modules, --root DIR (or the working directory, with a warning) is module "default".
Readiness: once serving, one line on stdout:
  blitd listening on ADDRESS data-plane tcp|grpc modules NAME,...
--socket serves only a private Unix socket; StartTransfer (local paths, used by the VS Code
extension) is available only there. SIGTERM/SIGINT/SIGHUP: running transfers finish their current file
or cancel cleanly (at most 10 s), then exit 0.
`;


function resolveModules(file: DaemonFileConfig, flags: Flags, log: ClosableLogger): Map<string, ModuleConfig> {
  const modules = new Map<string, ModuleConfig>();
  for (const m of file.modules) modules.set(m.name, m);
  if (modules.size > 0) {
    if (flags.root) log.warn('--root ignored: the config defines modules', { root: flags.root });
    return modules;
  }
  if (!flags.root) log.warn("no modules configured and no --root: exporting the working directory as module 'default'", { dir: process.cwd() });
  const m = defaultModule(flags.root ?? process.cwd());
  modules.set(m.name, m);
  return modules;
}

/** Runs the daemon; resolves with the exit code after a graceful shutdown. */
export async function main(argv: string[]): Promise<number> {
  ignoreStdioErrors();
  const program = buildProgram();
  let flags: Flags;
  try {
    program.parse(argv);
    flags = program.opts<Flags>();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 64;
    throw err;
  }
  let log: ClosableLogger | undefined;
  let pinned: PinnedDataPort | undefined;
  try {
    const file: DaemonFileConfig = flags.config ? loadConfigFile(flags.config) : { modules: [] };
    log = createLogger({ level: flags.logLevel, format: flags.logFormat, ...(flags.log ?? file.log ? { file: flags.log ?? file.log } : {}) });
    const modules = resolveModules(file, flags, log);
    // A present but refused native library (another ABI after a checkout without `npm ci`): said
    // once, here, instead of every batch silently taking the node:fs path.
    const nativeRefused = nativeBatchRefusedWarning();
    if (nativeRefused) log.warn(nativeRefused);
    const shutdown = new AbortController();
    // Every job and every served push/pull listens on this one signal while it runs (removed at
    // its end: CallLatch.unwatch, Jobs), so more than 10 at once is normal load, not a leak; Node's
    // default limit printed `MaxListenersExceededWarning` on blitd's stderr (busy-admin).
    setMaxListeners(0, shutdown.signal);
    const jobs = new Jobs({ shutdown: shutdown.signal });
    const bindHost = flags.bind ?? file.bind ?? DEFAULT_BIND;
    const ctx: ServerContext = {
      modules,
      resolvePath: createResolver({ modules, log }),
      jobs,
      log,
      forceGrpcData: Boolean(flags.forceGrpcData || file.forceGrpcData || process.env.BLIT_FORCE_GRPC_DATA === '1'),
      bindHost: flags.socket ? DEFAULT_BIND : bindHost,
      shutdown: shutdown.signal,
    };
    // The daemon user's perf history (environment read once, here): served pushes and pulls and
    // the jobs StartTransfer runs are all recorded, so `blit diagnostics perf` on the server shows
    // them. A handle per run: PerfHistory.open reads nothing until used.
    const historyOptions = perfHistoryOptionsFromEnv(process.env);
    const openHistory = (): PerfHistory => PerfHistory.open(historyOptions);
    const servedPerf = new ServedPerf(openHistory, historyOptions.disabled === true);
    const transferDeps = { jobs, log, runLocal: runLocalTransfer, forceGrpcData: ctx.forceGrpcData, openHistory };
    const defaults = defaultDataPlaneSettings();
    const dataPort = flags.dataPort ?? file.dataPort ?? 0;
    // Listening before the readiness line: a port in use stops blitd at start, not mid-transfer.
    pinned = dataPort !== 0 && !ctx.forceGrpcData ? await PinnedDataPort.listen(ctx.bindHost, dataPort, log) : undefined;
    const dataSettings = {
      tokenTtlMs: flags.dataTokenTtlMs ?? file.dataTokenTtlMs ?? defaults.tokenTtlMs,
      streams: flags.dataStreams ?? file.dataStreams ?? defaults.streams,
      ...(pinned ? { pinned } : {}),
    };
    const handlers = buildService({
      ctx,
      jobs,
      transfers: transferHandlers(dataSettings, servedPerf),
      daemonVersion: blitVersion(),
      // Only the private socket may start transfers between arbitrary local paths.
      startTransfer: flags.socket ? async (req) => startTransfer(transferDeps, req) : undefined,
    });
    const running = await startServer(
      handlers,
      flags.socket ? { socket: flags.socket } : { tcp: { host: bindHost, port: flags.port ?? file.port ?? DEFAULT_PORT } },
    );
    const where = running.socket ? `unix:${running.socket}` : `${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${running.port}`;
    const dataPlane = ctx.forceGrpcData ? 'grpc' : 'tcp';
    // Signal handlers first: a SIGTERM right after the readiness line must already be graceful.
    const stopped = serveUntilSignal(running, shutdown, () => jobs.whenIdle().then(() => servedPerf.settled()), log);
    log.info('listening', { address: where, dataPlane, dataPort: pinned?.port ?? 'ephemeral', modules: [...modules.keys()].join(','), version: blitVersion() });
    // Machine-readable readiness line (tests and the VS Code extension wait for it).
    process.stdout.write(`blitd listening on ${where} data-plane ${dataPlane} modules ${[...modules.keys()].join(',')}\n`);
    const code = await stopped;
    pinned?.close();
    return code;
  } catch (err) {
    pinned?.close();
    const e = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: (err as Error)?.stack ?? String(err) });
    log?.error('cannot start', { code: e.code, error: e.message });
    process.stderr.write(`blitd: error: ${e.message} [${e.code}]\n`);
    // Both lines reach a lagging reader before the exit; a stalled one (the write still pending
    // holds the event loop) does not keep a failed blitd alive past LOG_FLUSH_MS.
    if (!(await flushed(process.stderr, LOG_FLUSH_MS))) setTimeout(() => process.exit(1), 0).unref();
    log?.close();
    return 1;
  }
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Waits for SIGTERM/SIGINT/SIGHUP, then: stop accepting calls, abort ctx.shutdown (running jobs and
 * handlers finish their current file or cancel cleanly), wait up to SHUTDOWN_GRACE_MS, exit 0.
 * A second signal forces the exit. SIGHUP (the terminal blitd was started from went away) is a
 * stop like SIGTERM, not a reload (the configuration is read once at start) and not ignored: before,
 * Node's default ended blitd at once, leaving the `.blit.` temps of running pushes. A blitd meant to
 * outlive its shell runs under a service manager or `setsid` (nohup does not help: Node resets an
 * ignored SIGHUP to the default at start). `idle`: resolves when every job has ended and its perf
 * record is written.
 */
function serveUntilSignal(running: RunningServer, shutdown: AbortController, idle: () => Promise<void>, log: ClosableLogger): Promise<number> {
  const onUnhandled = (err: unknown): void => log.error('unhandled error (daemon keeps serving)', { error: (err as Error)?.stack ?? String(err) });
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn('second signal: forcing shutdown', { signal });
        running.server.forceShutdown();
        finish();
        return;
      }
      stopping = true;
      log.info('shutting down', { signal });
      shutdown.abort(new BlitError({ code: ErrorCodes.Cancelled, message: 'daemon shutting down' }));
      const force = setTimeout(() => {
        log.warn('grace period over: closing remaining calls', { graceMs: SHUTDOWN_GRACE_MS });
        running.server.forceShutdown();
        finish();
      }, SHUTDOWN_GRACE_MS);
      let pending = 2;
      const done = (): void => {
        if (--pending === 0) {
          clearTimeout(force);
          finish();
        }
      };
      running.server.tryShutdown(() => done());
      void idle().then(done);
    };
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      log.info('stopped');
      // The log queued for a lagging stderr reader first (LOG_FLUSH_MS at most: a stalled one).
      void log.flushed(LOG_FLUSH_MS).then(() => {
        log.close();
        resolve(0);
        // Anything still holding the event loop (a stuck socket, a write to a stalled stderr
        // reader) must not keep a stopped daemon alive.
        setTimeout(() => process.exit(0), 1000).unref();
      });
    };
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
  });
}
