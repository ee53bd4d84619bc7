/**
 * Content hash for --checksum. XXH3-128 from hash-wasm: measured on this machine as the fastest
 * of the candidates (numbers in DEVLOG.md, 2026-11-20 engine). Not cryptographic, which is fine:
 * it decides "same content or not" between two files the user owns.
 * The hasher is created once per thread (WASM instantiation is async), then used synchronously.
 */
import * as fs from 'node:fs';
import { createXXHash128, type IHasher } from 'hash-wasm';

let hasher: IHasher | undefined;

export async function initChecksum(): Promise<void> {
  hasher ??= await createXXHash128();
}

const CHUNK = 1 << 20;

/** Hash an open fd from offset 0 (synchronous: call from a worker). */
export function hashFd(fd: number, scratch: Buffer = Buffer.allocUnsafe(CHUNK)): string {
  if (!hasher) throw new Error('initChecksum() was not awaited in this thread');
  hasher.init();
  let pos = 0;
  for (;;) {
    const n = fs.readSync(fd, scratch, 0, scratch.length, pos);
    if (n === 0) break;
    hasher.update(n === scratch.length ? scratch : scratch.subarray(0, n));
    pos += n;
  }
  return hasher.digest('hex');
}

/** Hash a file by path. */
export function hashFile(abs: Buffer | string): string {
  const fd = fs.openSync(abs, 'r');
  try {
    return hashFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}
