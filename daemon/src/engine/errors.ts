/**
 * One structured error class for the whole engine, CLI and daemon (modelled on VS Code's git
 * extension: a complete table of codes). Every failure the user can see carries a code, the path
 * it concerns (when there is one) and whether retrying can help.
 */
import * as util from 'node:util';

export const ErrorCodes = {
  // usage and input
  Usage: 'Usage',
  SourceNotFound: 'SourceNotFound',
  DestinationInsideSource: 'DestinationInsideSource',
  SourceInsideDestination: 'SourceInsideDestination',
  InvalidPath: 'InvalidPath',
  InvalidConfig: 'InvalidConfig',
  // filesystem
  PermissionDenied: 'PermissionDenied',
  NoSpace: 'NoSpace',
  NameNotSupported: 'NameNotSupported',
  SourceChanged: 'SourceChanged',
  /** A mirror deletion candidate another run created while the mirror ran (engine/delete.ts). */
  DestinationChanged: 'DestinationChanged',
  IoError: 'IoError',
  NotADirectory: 'NotADirectory',
  // engine
  ScanIncomplete: 'ScanIncomplete',
  DeletionNotConfirmed: 'DeletionNotConfirmed',
  Stalled: 'Stalled',
  Cancelled: 'Cancelled',
  VerifyFailed: 'VerifyFailed',
  // remote
  Unreachable: 'Unreachable',
  ProtocolMismatch: 'ProtocolMismatch',
  ModuleNotFound: 'ModuleNotFound',
  ReadOnlyModule: 'ReadOnlyModule',
  PathEscape: 'PathEscape',
  BadToken: 'BadToken',
  BadFrame: 'BadFrame',
  DataPlaneUnavailable: 'DataPlaneUnavailable',
  DaemonError: 'DaemonError',
  // anything not yet classified: a bug to classify, never a silent success
  Internal: 'Internal',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes for which another attempt may succeed (transient conditions). */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.SourceChanged,
  ErrorCodes.DestinationChanged,
  ErrorCodes.IoError,
  ErrorCodes.Unreachable,
  ErrorCodes.DataPlaneUnavailable,
  ErrorCodes.Stalled,
]);

/** Codes that end the whole run, not just one file. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.Usage,
  ErrorCodes.SourceNotFound,
  ErrorCodes.DestinationInsideSource,
  ErrorCodes.SourceInsideDestination,
  ErrorCodes.InvalidConfig,
  ErrorCodes.NoSpace,
  ErrorCodes.Stalled,
  ErrorCodes.Cancelled,
  ErrorCodes.Unreachable,
  ErrorCodes.ProtocolMismatch,
  ErrorCodes.ModuleNotFound,
  ErrorCodes.ReadOnlyModule,
  ErrorCodes.BadToken,
  ErrorCodes.Internal,
]);

export interface BlitErrorInit {
  code: ErrorCode;
  message: string;
  /** The path the error concerns, as the user would recognise it (display form). */
  path?: string;
  cause?: unknown;
  /** Override the table's default. */
  retryable?: boolean;
  fatal?: boolean;
}

export class BlitError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  /** The message without the path (`message` is `path: reason` when there is a path). */
  readonly reason: string;
  readonly retryable: boolean;
  readonly fatal: boolean;

  constructor(init: BlitErrorInit) {
    super(init.path ? `${init.path}: ${init.message}` : init.message, { cause: init.cause });
    this.name = 'BlitError';
    this.code = init.code;
    this.path = init.path;
    this.reason = init.message;
    this.retryable = init.retryable ?? RETRYABLE.has(init.code);
    this.fatal = init.fatal ?? FATAL.has(init.code);
  }

  /** The reason for a failure record that already names `shown`: the path left out when it is that one. */
  reasonAt(shown: string): string {
    return this.path === undefined || this.path === shown ? this.reason : this.message;
  }

  toJSON(): { code: ErrorCode; message: string; path?: string; retryable: boolean } {
    return { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}), retryable: this.retryable };
  }
}

/**
 * Which side of a transfer an errno came from. A missing path is SourceNotFound only on the
 * source: on the destination it is something this run made or expected that is gone (a directory
 * whose creation failed, removed meanwhile), an IoError.
 */
export type ErrnoSide = 'source' | 'destination';

/** Map a Node/libc errno error (ENOENT, EACCES, ...) to a BlitError naming `path`. */
export function fromErrno(err: unknown, path: string, what: string, side: ErrnoSide = 'source'): BlitError {
  if (err instanceof BlitError) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = e?.code ?? '';
  const detail = e?.message ?? String(err);
  const table: Record<string, [ErrorCode, string]> = {
    ENOENT: [ErrorCodes.SourceNotFound, 'no such file or directory'],
    EACCES: [ErrorCodes.PermissionDenied, 'permission denied'],
    EPERM: [ErrorCodes.PermissionDenied, 'operation not permitted'],
    ENOSPC: [ErrorCodes.NoSpace, 'no space left on device'],
    EDQUOT: [ErrorCodes.NoSpace, 'disk quota exceeded'],
    ENAMETOOLONG: [ErrorCodes.NameNotSupported, 'file name or path too long (over the filesystem name limit or PATH_MAX)'],
    EILSEQ: [ErrorCodes.NameNotSupported, 'file name not representable on the destination filesystem'],
    ENOTDIR: [ErrorCodes.NotADirectory, 'a path component is not a directory'],
    EISDIR: [ErrorCodes.IoError, 'is a directory'],
    EIO: [ErrorCodes.IoError, 'input/output error'],
  };
  if (side === 'destination') table.ENOENT = [ErrorCodes.IoError, 'no such file or directory'];
  const hit = table[errno];
  if (hit) return new BlitError({ code: hit[0], message: `${what}: ${hit[1]} (${errno})`, path, cause: err });
  // Any other errno reads the same way from the system's table. Not the error's own message:
  // that names the path the syscall used, which on blitd is an internal `/proc/self/fd/N/...`.
  const text = typeof e?.errno === 'number' ? util.getSystemErrorMap().get(-Math.abs(e.errno)) : undefined;
  if (text && text[0] === errno) return new BlitError({ code: ErrorCodes.IoError, message: `${what}: ${text[1]} (${errno})`, path, cause: err });
  return new BlitError({ code: ErrorCodes.IoError, message: `${what}: ${detail}`, path, cause: err });
}

/** A path that must be a directory and is not: which one, and why it must be. */
export type NotADirectoryAt = 'source ends in /' | 'destination exists' | 'destination parent';

/**
 * The one wording of a NotADirectory refusal for the local engine, push (both ends) and pull:
 * each side used to word its own (a push said `D/d: destination: a path component is not a
 * directory (ENOTDIR)` where local and pull said `D: destination exists and is not a directory`;
 * `copy FILE EXISTING_FILE/` said `destination ends in / but is not a directory` locally).
 */
export function notADirectory(at: NotADirectoryAt, path: string): BlitError {
  const message = at === 'destination parent' ? 'destination parent is not a directory' : at.endsWith('/') ? `${at} but is not a directory` : `${at} and is not a directory`;
  return new BlitError({ code: ErrorCodes.NotADirectory, message, path });
}
