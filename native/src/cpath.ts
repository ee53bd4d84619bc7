import { EINVAL, NativeError } from './errors';

/** A path as the NUL-terminated raw bytes libc expects; strings are encoded as UTF-8. */
export function cPath(path: Buffer | string, syscall: string): Buffer {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  if (bytes.includes(0)) throw new NativeError(EINVAL, syscall, path, 'path contains a NUL byte');
  const out = Buffer.allocUnsafe(bytes.length + 1);
  bytes.copy(out, 0);
  out[bytes.length] = 0;
  return out;
}

/** Reject values ffi-rs would silently truncate (fractions, > 2^53, NaN). */
export function checkInt(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

const NS_PER_S = 1_000_000_000n;

/** Write two struct timespec {i64 tv_sec; i64 tv_nsec} (atime, mtime) into a 32-byte buffer. */
export function writeTimespecs(out: Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  writeTimespec(out, 0, atimeNs);
  writeTimespec(out, 16, mtimeNs);
}

function writeTimespec(out: Buffer, at: number, ns: bigint): void {
  let sec = ns / NS_PER_S;
  let nsec = ns % NS_PER_S;
  if (nsec < 0n) {
    // Pre-1970 times: tv_nsec must stay in [0, 1e9).
    nsec += NS_PER_S;
    sec -= 1n;
  }
  out.writeBigInt64LE(sec, at);
  out.writeBigInt64LE(nsec, at + 8);
}
