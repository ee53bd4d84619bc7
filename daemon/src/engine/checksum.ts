/**
 * Content hash for --checksum: XXH3-128, in C through @blit/native (native/csrc/blit_hash.c, the
 * xxHash library's header) when the native library is there, else hash-wasm's XXH3-128 (no cc at
 * install, BLIT_NATIVE_BATCH=0, a library built before blit_hash.c). Both give the same digest bytes
 * (test/engine/native-hash.test.ts), so peers of either kind agree. Not cryptographic, which is
 * fine: it decides "same content or not" between two files the user owns.
 * Inputs below NATIVE_MIN_BYTES stay on hash-wasm (cheaper than one ffi-rs call).
 * Workers hash synchronously (hashFd). The main thread (blitd's event loop, the remote client's)
 * hashes with HashQueue: a file of one chunk or less read on the libuv pool and hashed in one
 * turn, a bigger one on a hashing thread (hash-threads.ts), so the loop spends no time on it.
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import { createXXHash128, type IHasher } from 'hash-wasm';
import { HASH_STOPPED, hashThreads } from './hash-threads';
import { openRegularNoFollow, type OpenRegular } from './open-regular';

/** This thread's hash-wasm hasher (synchronous once created): the fallback, and small inputs. */
let hasher: IHasher | undefined;

/** Make this thread ready to hash (the WASM instantiation is async). */
export async function initChecksum(): Promise<void> {
  hasher ??= await createXXHash128();
}

const CHUNK = 1 << 20;
/**
 * Inputs below this are hashed on hash-wasm even with the native hash: one ffi-rs call costs
 * ~20-50 us here (its arguments converted per call), what hash-wasm spends on ~64-128 KiB
 * (DEVLOG native-hash). The digests are the same bytes either way.
 */
const NATIVE_MIN_BYTES = 128 * 1024;
/** How often a big file's hash on a hashing thread checks whether its transfer was stopped. */
const STOP_POLL_MS = 50;

let threadScratch: Buffer | undefined;

/**
 * Hash an open fd from offset 0 (synchronous: call from a worker). With the native hash a file
 * below NATIVE_MIN_BYTES is read here and hashed on hash-wasm, a bigger one read and hashed in C.
 * `sizeHint` (the size the caller listed) only picks the way: a file listed at NATIVE_MIN_BYTES or
 * more goes to C at once, not read here first (its first 128 KiB would be read twice); a file
 * that changed since is still hashed whole, to its end, either way.
 */
export function hashFd(fd: number, sizeHint = 0, scratch: Buffer = (threadScratch ??= Buffer.allocUnsafe(CHUNK))): string {
  if (native.loadNativeHash() && scratch.length > NATIVE_MIN_BYTES && sizeHint < NATIVE_MIN_BYTES) {
    const head = scratch.subarray(0, NATIVE_MIN_BYTES);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n < head.length && fs.readSync(fd, head, n, head.length - n, n) === 0) return hashBuffer(head.subarray(0, n));
  }
  return hashFdUntil(fd, undefined, scratch)!;
}

/**
 * Hash an open fd from offset 0 to EOF, in C when the native hash is there (the hashing threads'
 * big files), checking `stop` (shared memory, stop[0] != 0) before each chunk: undefined once it
 * says stop.
 */
export function hashFdUntil(fd: number, stop: Int32Array | undefined, scratch: Buffer = (threadScratch ??= Buffer.allocUnsafe(CHUNK))): string | undefined {
  const fast = native.loadNativeHash();
  if (fast) return fast.hashFd(fd, scratch, stop);
  const h = wasmHasher();
  h.init();
  let pos = 0;
  for (;;) {
    if (stop && Atomics.load(stop, 0) !== 0) return undefined;
    const n = fs.readSync(fd, scratch, 0, scratch.length, pos);
    if (n === 0) break;
    h.update(n === scratch.length ? scratch : scratch.subarray(0, n));
    pos += n;
  }
  return h.digest('hex');
}

/** Hash bytes in memory (synchronous; in a thread that awaited initChecksum). */
export function hashBuffer(data: Uint8Array): string {
  const fast = data.length >= NATIVE_MIN_BYTES ? native.loadNativeHash() : undefined;
  if (fast) return fast.hashBuffer(data);
  const h = wasmHasher();
  h.init();
  h.update(data);
  return h.digest('hex');
}

function wasmHasher(): IHasher {
  if (!hasher) throw new Error('initChecksum() was not awaited in this thread');
  return hasher;
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

/**
 * Read buffers of HashQueue's in-loop hashes, one per hash in flight: a chunk and one byte, so
 * a file that grew past a chunk since its fstat shows as a full buffer.
 */
const idleBuffers: Buffer[] = [];
/** Buffers kept for the next hashes (more run at once only while several transfers hash). */
const IDLE_BUFFERS_KEPT = 8;

/** Read into `buf` from byte `at` of the buffer, at the same file offset (the libuv pool). */
function readAt(fd: number, buf: Buffer, at: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, at, buf.length - at, at, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Opens a file to hash beneath a module (openRegularNoFollow): a symlink swapped in since the
 * listing is not followed (blitd would hash, and tell the client about, a file outside the
 * module), a FIFO or device swapped in cannot block the event loop's thread. Both named as what
 * happened, not as an errno's words ("too many levels of symbolic links").
 */
export function openToHash(p: string | Buffer): OpenRegular {
  try {
    return openRegularNoFollow(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === undefined) throw new Error('not a regular file any more (replaced since it was listed)');
    throw err;
  }
}

/** HashQueue.hash was abandoned (`stopped()`): not a failure of the file. */
export class HashStopped extends Error {}

/**
 * hashFd for the event loop's thread: the same digest, each chunk read on the libuv pool and
 * hashed between reads, so no other client waits longer than one chunk's hashing (the synchronous
 * hashFile held blitd's loop for a whole file: seconds for a few GiB). At most `parallel` files at
 * once, started in the order asked: `open` runs when a file's turn comes (synchronously: a
 * path pinned for this turn, beneath.ts, stays valid), its fd closed when the hash ends.
 */
export class HashQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters: Array<{ below: number; resolve: () => void }> = [];

  constructor(
    private readonly parallel = 4,
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** Files asked for and not yet hashed (running or waiting). */
  get pending(): number {
    return this.running + this.waiting.length;
  }

  hash(open: () => OpenRegular): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        this.run(open).then(resolve, reject).finally(() => this.ended());
      };
      if (this.running < this.parallel) start();
      else this.waiting.push(start);
    });
  }

  /** Resolves once at most `below` files are pending (0: all hashed). */
  pendingAtMost(below: number): Promise<void> {
    if (this.pending <= below) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push({ below, resolve }));
  }

  private async run(open: () => OpenRegular): Promise<string> {
    if (this.stopped()) throw new HashStopped();
    const { fd, size } = open();
    let buf: Buffer | undefined;
    try {
      if (size > CHUNK) return await this.onThread(fd);
      await initChecksum();
      buf = idleBuffers.pop() ?? Buffer.allocUnsafe(CHUNK + 1);
      // The whole file into `buf`, then hashed in one turn. The end: a read that returns 0, or one
      // that stopped short exactly at the size open's fstat gave (the bytes rsync hashes too): a
      // libuv round trip less per file, ~10 us of the loop's CPU each (DEVLOG native-hash).
      let have = 0;
      for (;;) {
        const n = await readAt(fd, buf, have);
        if (this.stopped()) throw new HashStopped();
        if (n === 0 || (have + n === size && have + n < buf.length)) return hashBuffer(buf.subarray(0, have + n));
        have += n;
        // Grown past one chunk since its fstat: hashed from the start on a thread, as a big file.
        if (have === buf.length) return await this.onThread(fd);
      }
    } finally {
      fs.closeSync(fd);
      if (buf && idleBuffers.length < IDLE_BUFFERS_KEPT) idleBuffers.push(buf);
    }
  }

  /** A file of more than one chunk: hashed on a hashing thread, its stop flag set once stopped() says so. */
  private async onThread(fd: number): Promise<string> {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const poll = setInterval(() => {
      if (this.stopped()) Atomics.store(stop, 0, 1);
    }, STOP_POLL_MS);
    try {
      const digest = await hashThreads().hash(fd, stop);
      if (digest === HASH_STOPPED) throw new HashStopped();
      return digest;
    } finally {
      clearInterval(poll);
    }
  }

  private ended(): void {
    this.running--;
    this.waiting.shift()?.();
    for (let i = this.idleWaiters.length - 1; i >= 0; i--) {
      const w = this.idleWaiters[i]!;
      if (this.pending <= w.below) {
        this.idleWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
