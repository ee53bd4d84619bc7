/**
 * A thread that hashes files for HashThreads (hash-threads.ts): the main thread opens each file
 * (its containment checks stay there), passes the fd, and gets the XXH3-128 digest back. Reads are
 * synchronous here: this thread does nothing else. Between chunks it checks the job's stop flag
 * (shared memory the main thread sets when the transfer ends), so an abandoned hash of a big file
 * stops within a chunk (checked in C by blit_hash_fd, or in the hash-wasm loop). With the native
 * hash this thread is inside ffi-rs while it hashes, so it is only ever asked to exit between jobs
 * (HashThreads' idle exit through askToExit, worker-exit.ts), never terminated mid-job.
 */
import { parentPort } from 'node:worker_threads';
import { hashFdUntil, initChecksum } from './checksum';
import { isExitRequest } from './worker-exit';

/** A job: hash `fd` from offset 0; give up when stop[0] is non-zero. One at a time per thread. */
export interface HashJob {
  fd: number;
  stop: Int32Array;
}

export type HashResult = { digest: string } | { stopped: true } | { error: { message: string; code?: string } };

/** This thread's read buffer, one chunk (a job at a time). */
const scratch = Buffer.allocUnsafe(1 << 20);

const port = parentPort;
if (port) {
  const ready = initChecksum();
  port.on('message', (m: HashJob | { exit: true }) => {
    if (isExitRequest(m)) process.exit(0); // HashThreads' idle exit: between jobs, from JS
    void ready.then(() => {
      let result: HashResult;
      try {
        const digest = hashFdUntil(m.fd, m.stop, scratch);
        result = digest === undefined ? { stopped: true } : { digest };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        result = { error: { message: e.message, code: e.code } };
      }
      port.postMessage(result);
    });
  });
}
