/**
 * Errors raised by the native bindings. `code` uses Node's errno names ('EXDEV', 'ENOSPC', ...)
 * so `fromErrno` in daemon/src/engine/errors.ts maps a NativeError exactly like a node:fs error.
 * UnsupportedError marks "this primitive cannot do this here": the caller should fall back to
 * another primitive (copy_file_range -> sendfile -> read/write), never show it to the user.
 */
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

export class NativeError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  /** The path the call concerned, if any (display text only; the call itself used the raw bytes). */
  readonly path: string | undefined;

  constructor(errno: number, syscall: string, path?: Buffer | string, detail?: string) {
    const [code, text] = describeErrno(errno);
    const shown = path === undefined ? undefined : typeof path === 'string' ? path : path.toString('utf8');
    super(`${code}: ${text}, ${syscall}${shown === undefined ? '' : ` '${shown}'`}${detail ? ` (${detail})` : ''}`);
    this.name = 'NativeError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.path = shown;
  }
}

export class UnsupportedError extends NativeError {
  constructor(errno: number, syscall: string, path?: Buffer | string, detail?: string) {
    super(errno, syscall, path, detail);
    this.name = 'UnsupportedError';
  }
}

export function isUnsupported(err: unknown): boolean {
  return err instanceof UnsupportedError;
}

/** [code, message] for a positive errno; Node's own table (libuv uses negative numbers). */
export function describeErrno(errno: number): [string, string] {
  const hit = systemErrors.get(-errno);
  if (!hit) return [`E${errno}`, `unknown error ${errno}`];
  // libuv names errno 95 ENOTSUP "operation not supported on socket"; it is EOPNOTSUPP for files too.
  if (hit[0] === 'ENOTSUP') return [hit[0], 'operation not supported'];
  return [hit[0], hit[1]];
}

/** errno numbers, resolved through Node so they are right on every platform. */
function errnoOf(name: string): number {
  for (const [neg, [code]] of systemErrors) if (code === name) return -neg;
  return -1;
}

export const ENOSYS = errnoOf('ENOSYS');
export const EXDEV = errnoOf('EXDEV');
export const EOPNOTSUPP = errnoOf('EOPNOTSUPP');
export const ENOTSUP = errnoOf('ENOTSUP');
export const ENOTTY = errnoOf('ENOTTY');
export const EINVAL = errnoOf('EINVAL');
export const ENXIO = errnoOf('ENXIO');
export const ESPIPE = errnoOf('ESPIPE');

/** Errnos that always mean "this primitive is not available for these descriptors". */
const ALWAYS_UNSUPPORTED: ReadonlySet<number> = new Set([ENOSYS, EXDEV, EOPNOTSUPP, ENOTSUP, ENOTTY].filter((n) => n > 0));

/**
 * Build the error for a failed call. `einvalMeansUnsupported` is set by the syscalls whose EINVAL
 * documents an unsupported combination (file types, filesystem, flags) rather than a caller bug.
 */
export function errorFor(errno: number, syscall: string, einvalMeansUnsupported: boolean, path?: Buffer | string): NativeError {
  if (ALWAYS_UNSUPPORTED.has(errno) || (einvalMeansUnsupported && errno === EINVAL)) {
    return new UnsupportedError(errno, syscall, path);
  }
  return new NativeError(errno, syscall, path);
}

/** An UnsupportedError for a primitive the current platform/bindings simply lack. */
export function notAvailable(syscall: string): UnsupportedError {
  return new UnsupportedError(ENOSYS > 0 ? ENOSYS : 38, syscall, undefined, 'not available on this platform');
}
