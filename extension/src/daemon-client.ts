/**
 * The extension's one wire boundary: a gRPC client for the local blitd, translating blit.proto
 * messages (@blit/proto generated types) to the domain types in jobs.ts and back. Nothing else in
 * the extension touches a wire type. No `vscode` import.
 */
import * as grpc from '@grpc/grpc-js';
import {
  blitClientConstructor,
  PROTOCOL_VERSION,
  type BlitClient,
  type Failure__Output,
  type ItemEvent__Output,
  type JobEvent__Output,
  type JobInfo__Output,
  type PushSummary__Output,
  type TransferOptions,
} from '@blit/proto';
import type { ItemActionName, JobFailure, JobItem, JobSnapshot, JobStateName, JobSummary, JobUpdate } from './jobs';

export type SyncMode = 'copy' | 'mirror';

/** What a command asks the daemon to do (domain form). */
export interface TransferRequest {
  source: string;
  destination: string;
  label: string;
  mode: SyncMode;
  dryRun: boolean;
  deleteConfirmed: boolean;
  excludes: string[];
  /** Globs that win over excludes (daemon/src/engine/filter.ts precedence). */
  includes?: string[];
  gitignore: boolean;
  /** Relative paths ('/'-separated), each sent byte-exact; only these are transferred (upload on save). */
  filesFrom?: string[];
}

export interface HandshakeResult {
  accepted: boolean;
  protocolVersion: number;
  serverVersion: string;
  message: string;
}

/** The code of a call the local daemon did not answer (it is gone, or hung). */
export const DAEMON_UNAVAILABLE = 'DaemonUnavailable';

/** A failed call, with the daemon's BlitError code when it sent one. */
export class DaemonCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly grpcCode?: number,
  ) {
    super(message);
    this.name = 'DaemonCallError';
  }
}

/** Raw path bytes for display: valid UTF-8 as is, other bytes escaped as \xNN. */
export function displayBytes(b: Buffer | Uint8Array | string): string {
  if (typeof b === 'string') return b;
  const buf = Buffer.from(b);
  const text = buf.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(buf)) return text;
  let out = '';
  let i = 0;
  while (i < buf.length) {
    // decode one code point at a time; invalid bytes are escaped
    const len = utf8SeqLen(buf, i);
    if (len > 0) {
      out += buf.subarray(i, i + len).toString('utf8');
      i += len;
    } else {
      out += `\\x${buf[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

function utf8SeqLen(b: Buffer, i: number): number {
  const c = b[i]!;
  const need = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (need === 0 || i + need > b.length) return 0;
  for (let k = 1; k < need; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const s = b.subarray(i, i + need).toString('utf8');
  return s.includes('\uFFFD') ? 0 : need;
}

const STATES: Record<string, JobStateName> = {
  JOB_QUEUED: 'queued',
  JOB_RUNNING: 'running',
  JOB_SUCCEEDED: 'succeeded',
  JOB_FAILED: 'failed',
  JOB_CANCELLED: 'cancelled',
};

const ACTIONS: Record<string, ItemActionName> = {
  ITEM_CREATE: 'create',
  ITEM_UPDATE: 'update',
  ITEM_DELETE: 'delete',
  ITEM_MKDIR: 'mkdir',
  ITEM_SYMLINK: 'symlink',
  ITEM_SKIP: 'skip',
};

const KINDS: Record<string, JobItem['kind']> = {
  ENTRY_KIND_FILE: 'file',
  ENTRY_KIND_DIR: 'dir',
  ENTRY_KIND_SYMLINK: 'symlink',
};

export function toFailure(f: Failure__Output): JobFailure {
  return { path: displayBytes(f.path), code: f.code, reason: f.reason };
}

export function toSummary(s: PushSummary__Output): JobSummary {
  return {
    filesTransferred: Number(s.filesTransferred),
    bytesTransferred: Number(s.bytesTransferred),
    entriesDeleted: Number(s.entriesDeleted),
    deletionsSkipped: Number(s.deletionsSkipped),
    filesUnchanged: Number(s.filesUnchanged),
    dirsCreated: Number(s.dirsCreated),
    failures: (s.failures ?? []).map(toFailure),
    durationMs: Number(s.durationMs),
    bytesPerSecond: Number(s.bytesPerSecond),
    dryRun: s.dryRun,
  };
}

export function toJob(j: JobInfo__Output): JobSnapshot {
  const p = j.progress;
  const eta = Number(j.etaSeconds);
  return {
    id: j.id,
    label: j.label,
    kind: j.kind,
    state: STATES[String(j.state)] ?? 'queued',
    filesDone: Number(p?.filesDone ?? 0),
    bytesDone: Number(p?.bytesDone ?? 0),
    filesPlanned: Number(p?.filesPlanned ?? 0),
    bytesPlanned: Number(p?.bytesPlanned ?? 0),
    scanComplete: Boolean(p?.scanComplete),
    bytesPerSecond: Number(j.bytesPerSecond) || 0,
    etaSeconds: eta >= 0 && Number.isFinite(eta) ? eta : null,
    startedAtMs: Number(j.startedAtMs),
    finishedAtMs: Number(j.finishedAtMs),
    summary: j.summary ? toSummary(j.summary) : null,
    error: j.error && (j.error.code || j.error.message) ? { code: j.error.code, message: j.error.message, path: displayBytes(j.error.path ?? Buffer.alloc(0)) } : null,
    inFlight: (j.inFlight ?? []).map(displayBytes),
  };
}

export function toItem(i: ItemEvent__Output): JobItem {
  return { action: ACTIONS[String(i.action)] ?? 'skip', path: displayBytes(i.path), kind: KINDS[String(i.kind)] ?? 'file', size: Number(i.size) };
}

export function toJobUpdate(e: JobEvent__Output): JobUpdate | null {
  if (!e.job) return null;
  const u: JobUpdate = { job: toJob(e.job) };
  if (e.item) u.item = toItem(e.item);
  if (e.failure) u.failure = toFailure(e.failure);
  return u;
}

export function toWireOptions(r: TransferRequest): TransferOptions {
  return {
    mode: r.mode === 'mirror' ? 'MODE_MIRROR' : 'MODE_COPY',
    compare: 'COMPARE_DEFAULT',
    dryRun: r.dryRun,
    deleteConfirmed: r.deleteConfirmed,
    // a target's remotePath is created whole, every missing parent too, as SFTP extensions and
    // rclone do (blit --mkpath; a pull's local side is the open folder, which exists)
    mkpath: true,
    filter: {
      excludes: r.excludes,
      includes: r.includes ?? [],
      filesFrom: (r.filesFrom ?? []).map((p) => Buffer.from(p, 'utf8')),
      hasFilesFrom: r.filesFrom !== undefined,
      gitignore: r.gitignore,
    },
  };
}

/**
 * A gRPC status from the daemon as a DaemonCallError. blitd puts the BlitError code in the
 * `blit-code` metadata entry and the message in the details (daemon/src/daemon/grpc-errors.ts).
 */
export function fromGrpcError(err: grpc.ServiceError | Error, what: string): DaemonCallError {
  const se = err as grpc.ServiceError;
  const details = se.details || err.message;
  const blitCode = se.metadata?.get('blit-code')[0];
  if (blitCode) return new DaemonCallError(String(blitCode), details, se.code);
  // No blit-code: the local daemon itself did not answer (a remote host that cannot be reached
  // arrives as blit-code Unreachable). Its own code, so the message does not blame the remote.
  if (se.code === grpc.status.UNAVAILABLE) return new DaemonCallError(DAEMON_UNAVAILABLE, `${what}: the local blitd is not answering (${details})`, se.code);
  if (se.code === grpc.status.DEADLINE_EXCEEDED) return new DaemonCallError(DAEMON_UNAVAILABLE, `${what}: the local blitd did not answer in time`, se.code);
  return new DaemonCallError('DaemonError', `${what}: ${details}`, se.code);
}

export interface Subscription {
  close(): void;
}

export class DaemonClient {
  private readonly client: BlitClient;

  /** `address` is a gRPC target: `unix:/path/blitd.sock` or `127.0.0.1:9031`. */
  constructor(readonly address: string) {
    const Ctor = blitClientConstructor();
    this.client = new Ctor(address, grpc.credentials.createInsecure(), {
      // a local daemon restarts quickly: do not back off for long between reconnects
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  close(): void {
    this.client.close();
  }

  private deadline(ms: number): Date {
    return new Date(Date.now() + ms);
  }

  handshake(timeoutMs = 3000): Promise<HandshakeResult> {
    return new Promise((resolve, reject) => {
      this.client.Handshake({ protocolVersion: PROTOCOL_VERSION, clientVersion: 'blit-vscode' }, { deadline: this.deadline(timeoutMs) }, (err, res) => {
        if (err || !res) return reject(fromGrpcError(err ?? new Error('empty response'), 'Handshake'));
        resolve({ accepted: res.accepted, protocolVersion: res.protocolVersion, serverVersion: res.serverVersion, message: res.message });
      });
    });
  }

  startTransfer(r: TransferRequest): Promise<string> {
    return new Promise((resolve, reject) => {
      this.client.StartTransfer(
        { source: r.source, destination: r.destination, label: r.label, options: toWireOptions(r) },
        { deadline: this.deadline(30000) },
        (err, res) => {
          if (err || !res) return reject(fromGrpcError(err ?? new Error('empty response'), 'StartTransfer'));
          resolve(res.jobId);
        },
      );
    });
  }

  cancelJob(jobId: string): Promise<{ cancelled: boolean; message: string }> {
    return new Promise((resolve, reject) => {
      this.client.CancelJob({ jobId }, { deadline: this.deadline(10000) }, (err, res) => {
        if (err || !res) return reject(fromGrpcError(err ?? new Error('empty response'), 'CancelJob'));
        resolve({ cancelled: res.cancelled, message: res.message });
      });
    });
  }

  listJobs(includeFinished: boolean): Promise<JobSnapshot[]> {
    return new Promise((resolve, reject) => {
      this.client.ListJobs({ includeFinished }, { deadline: this.deadline(10000) }, (err, res) => {
        if (err || !res) return reject(fromGrpcError(err ?? new Error('empty response'), 'ListJobs'));
        resolve(res.jobs.map(toJob));
      });
    });
  }

  /** Streams job events ('' = every job) until closed; `onEnd` gets the error when the stream broke. */
  watchJobs(jobId: string, onUpdate: (u: JobUpdate) => void, onEnd: (err: DaemonCallError | null) => void, onOpen?: () => void): Subscription {
    const call = this.client.WatchJobs({ jobId });
    let closed = false;
    call.on('metadata', () => onOpen?.());
    call.on('data', (e: JobEvent__Output) => {
      const u = toJobUpdate(e);
      if (u) onUpdate(u);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (closed && err.code === grpc.status.CANCELLED) return;
      closed = true;
      onEnd(fromGrpcError(err, 'WatchJobs'));
    });
    call.on('end', () => {
      if (!closed) {
        closed = true;
        onEnd(null);
      }
    });
    return {
      close: () => {
        closed = true;
        call.cancel();
      },
    };
  }
}
