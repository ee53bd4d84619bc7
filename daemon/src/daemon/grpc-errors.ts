/**
 * The one mapping between BlitError and gRPC status. The server ends a failed call with
 * `toGrpcError(err)`: a status code chosen from the error code, the message as details, and the
 * BlitError code in metadata (`blit-code`) so the client can rebuild the exact error with
 * `fromGrpcError` and show the code.
 */
import * as grpc from '@grpc/grpc-js';
import { BlitError, ErrorCodes, type ErrorCode } from '../engine/errors';

const CODE_KEY = 'blit-code';
const PATH_KEY = 'blit-path-bin';

const STATUS_OF: Partial<Record<ErrorCode, grpc.status>> = {
  Usage: grpc.status.INVALID_ARGUMENT,
  InvalidPath: grpc.status.INVALID_ARGUMENT,
  NameNotSupported: grpc.status.INVALID_ARGUMENT,
  InvalidConfig: grpc.status.INVALID_ARGUMENT,
  BadFrame: grpc.status.INVALID_ARGUMENT,
  PathEscape: grpc.status.PERMISSION_DENIED,
  ReadOnlyModule: grpc.status.PERMISSION_DENIED,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  BadToken: grpc.status.PERMISSION_DENIED,
  ModuleNotFound: grpc.status.NOT_FOUND,
  SourceNotFound: grpc.status.NOT_FOUND,
  ProtocolMismatch: grpc.status.FAILED_PRECONDITION,
  NotADirectory: grpc.status.FAILED_PRECONDITION,
  DeletionNotConfirmed: grpc.status.FAILED_PRECONDITION,
  DestinationInsideSource: grpc.status.FAILED_PRECONDITION,
  SourceInsideDestination: grpc.status.FAILED_PRECONDITION,
  NoSpace: grpc.status.RESOURCE_EXHAUSTED,
  Cancelled: grpc.status.CANCELLED,
  Unreachable: grpc.status.UNAVAILABLE,
  DataPlaneUnavailable: grpc.status.UNAVAILABLE,
  Stalled: grpc.status.DEADLINE_EXCEEDED,
  Internal: grpc.status.INTERNAL,
};

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** Any thrown value as a BlitError (non-BlitErrors are Internal: a bug to classify). */
export function asBlitError(err: unknown): BlitError {
  if (err instanceof BlitError) return err;
  return new BlitError({ code: ErrorCodes.Internal, message: (err as Error)?.message ?? String(err), cause: err });
}

/**
 * The status travels in HTTP/2 trailers, which peers cap (grpc-js/Node at 64 KiB, C-core clients
 * at 8 KiB; grpc-message is percent-encoded, up to 9 bytes per character): a status over the cap never arrives and the client waits for its deadline (a List of
 * a 20 KB path hung 30 s). Details are kept under MAX_DETAILS characters (the start and the end,
 * where the cause is), the path metadata is sent only up to MAX_PATH_META bytes.
 */
export const MAX_DETAILS = 1024;
const MAX_PATH_META = 1024;

function capDetails(s: string): string {
  if (s.length <= MAX_DETAILS) return s;
  const tail = 384;
  const cut = s.length - (MAX_DETAILS - tail - 40) - tail;
  return `${s.slice(0, MAX_DETAILS - tail - 40)}...(${cut} characters left out)...${s.slice(s.length - tail)}`;
}

/** Server side: the error object grpc-js sends as the call's status. */
export function toGrpcError(err: unknown): Partial<grpc.ServiceError> {
  const e = asBlitError(err);
  const metadata = new grpc.Metadata();
  metadata.set(CODE_KEY, e.code);
  const pathBytes = e.path ? Buffer.from(e.path, 'utf8') : undefined;
  if (pathBytes && pathBytes.length <= MAX_PATH_META) metadata.set(PATH_KEY, pathBytes);
  return { code: STATUS_OF[e.code] ?? grpc.status.UNKNOWN, details: capDetails(e.message), metadata };
}

function statusToCode(status: number): ErrorCode {
  switch (status) {
    case grpc.status.UNAVAILABLE: return ErrorCodes.Unreachable;
    case grpc.status.DEADLINE_EXCEEDED: return ErrorCodes.Unreachable;
    case grpc.status.CANCELLED: return ErrorCodes.Cancelled;
    case grpc.status.NOT_FOUND: return ErrorCodes.SourceNotFound;
    case grpc.status.PERMISSION_DENIED: return ErrorCodes.PermissionDenied;
    case grpc.status.INVALID_ARGUMENT: return ErrorCodes.Usage;
    case grpc.status.UNIMPLEMENTED: return ErrorCodes.DaemonError;
    default: return ErrorCodes.DaemonError;
  }
}

/**
 * Client side: a grpc-js error back into the BlitError the server raised. Errors that did not come
 * from a blitd handler (connection refused, deadline) become Unreachable naming `target`.
 */
export function fromGrpcError(err: unknown, target: string): BlitError {
  if (err instanceof BlitError) return err;
  const se = err as Partial<grpc.ServiceError>;
  const raw = se.metadata?.get(CODE_KEY)[0];
  const details = se.details ?? se.message ?? String(err);
  if (typeof raw === 'string' && KNOWN_CODES.has(raw)) {
    const pathBuf = se.metadata?.get(PATH_KEY)[0];
    const path = Buffer.isBuffer(pathBuf) ? pathBuf.toString('utf8') : undefined;
    const message = path && details.startsWith(`${path}: `) ? details.slice(path.length + 2) : details;
    return new BlitError({ code: raw as ErrorCode, message, ...(path ? { path } : {}), cause: err });
  }
  if (se.code === grpc.status.UNAVAILABLE) {
    const errno = /\b(E[A-Z]{3,})\b/.exec(details)?.[1];
    return new BlitError({ code: ErrorCodes.Unreachable, message: `cannot connect to ${target}: ${errno ?? details}`, cause: err });
  }
  if (se.code === grpc.status.DEADLINE_EXCEEDED) {
    return new BlitError({ code: ErrorCodes.Unreachable, message: `${target} did not answer in time (deadline exceeded)`, cause: err });
  }
  const code = typeof se.code === 'number' ? statusToCode(se.code) : ErrorCodes.DaemonError;
  return new BlitError({ code, message: `${target}: ${details}`, cause: err });
}
