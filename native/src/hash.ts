/**
 * XXH3-128 content hashing in C (native/csrc/blit_hash.c, the vendored xxHash header) for
 * --checksum. Since ABI 9: a library built before it is refused whole (batch.ts), never half-used
 * (ffi-rs reports a missing symbol only when a thread calls it, too late to choose the fallback).
 * Without the library, hashing stays on hash-wasm (daemon/src/engine/checksum.ts): the same digest
 * bytes.
 */
import { NativeError } from './errors';
import { optionalEntry } from './batch';

export interface NativeHash {
  /**
   * Hash open `fd` from offset 0 to EOF, reading `scratch.length` bytes at a time into `scratch`.
   * `stop` (shared memory; stop[0] != 0) is checked before each read: undefined once it says stop.
   * The digest as 32 lowercase hex characters; a failed read throws a NativeError (syscall 'read').
   */
  hashFd(fd: number, scratch: Buffer, stop?: Int32Array): string | undefined;
  /** Hash bytes in memory (32 lowercase hex characters). */
  hashBuffer(data: Uint8Array): string;
}

/** blit_hash_fd / blit_hash_buf, or undefined (no library, BLIT_NATIVE_BATCH=0, an older build). */
export const loadNativeHash: () => NativeHash | undefined = optionalEntry((bind, { I32, U64, U8Array }): NativeHash => {
  const hashFdCall = bind('blit_hash_fd', [I32, U8Array, U64, U8Array, U8Array]);
  const hashBufCall = bind('blit_hash_buf', [U8Array, U64, U8Array]);
  const digest = Buffer.alloc(16);
  const noStop = Buffer.alloc(8);
  // ffi-rs passes an empty array as no pointer: an empty input is passed as a 1-byte view, length 0.
  const EMPTY = Buffer.alloc(1);
  return {
    hashFd(fd, scratch, stop) {
      if (scratch.length === 0) throw new RangeError('hashFd: empty read buffer');
      const stopCell = stop ? Buffer.from(stop.buffer, stop.byteOffset, stop.byteLength) : noStop;
      const r = hashFdCall([fd, scratch, scratch.length, stopCell, digest]);
      if (r === 1) return undefined;
      if (r < 0) throw new NativeError(-r, 'read');
      return digest.toString('hex');
    },
    hashBuffer(data) {
      const view = data.byteLength > 0 ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : EMPTY;
      hashBufCall([view, data.byteLength, digest]);
      return digest.toString('hex');
    },
  };
});
