/**
 * The contract between the daemon core (server, config, containment, jobs) and the transfer
 * handlers (push/pull, data plane). Handlers get everything through a ServerContext passed in
 * explicitly; nothing is read from globals.
 */
import type { BlitError } from '../engine/errors';
import type { Failure, TransferSummary } from '../engine/types';

export interface ModuleConfig {
  name: string;
  /** Absolute, symlink-resolved root of the module. */
  path: string;
  readOnly: boolean;
  comment: string;
}

export interface ResolvedPath {
  module: ModuleConfig;
  /** Absolute path inside the module root (Buffer: names may be non-UTF-8). */
  abs: Buffer;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type JobKind = 'push' | 'pull' | 'local' | 'served-push' | 'served-pull';
export type JobStateName = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobProgress {
  filesDone: number;
  bytesDone: number;
  filesPlanned: number;
  bytesPlanned: number;
  scanComplete: boolean;
}

/** One running or finished job; handlers report into it, the jobs API reads it. */
export interface Job {
  readonly id: string;
  readonly kind: JobKind;
  readonly label: string;
  /** Aborted by CancelJob or daemon shutdown; pass it down to every stage. */
  readonly signal: AbortSignal;
  progress(p: JobProgress): void;
  item(action: string, path: Buffer, kind: string, size: number): void;
  fileFailed(f: Failure): void;
  setInFlight(paths: Buffer[]): void;
  succeed(summary: TransferSummary): void;
  fail(error: BlitError, summary?: TransferSummary): void;
}

export interface JobRegistry {
  create(kind: JobKind, label: string): Job;
}

export interface ServerContext {
  modules: ReadonlyMap<string, ModuleConfig>;
  /**
   * Resolve a path that came over the wire. Checked twice: lexically (no absolute path, no '..',
   * no NUL) and after resolving symlinks (must stay inside the module root). With forWrite, a
   * read-only module is refused. Throws BlitError (ModuleNotFound, PathEscape, ReadOnlyModule).
   */
  resolvePath(module: string, rel: Buffer, opts: { forWrite: boolean }): Promise<ResolvedPath>;
  jobs: JobRegistry;
  log: Logger;
  /** Serve bulk data over gRPC only (blitd --force-grpc-data or BLIT_FORCE_GRPC_DATA=1). */
  forceGrpcData: boolean;
  /** Address the data-plane listener binds to (same host as the gRPC server). */
  bindHost: string;
  /** Aborted on SIGTERM: running transfers finish their current file or cancel cleanly. */
  shutdown: AbortSignal;
}
