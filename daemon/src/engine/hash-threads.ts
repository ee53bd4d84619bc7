/**
 * The threads that hash big files for HashQueue (checksum.ts), so --checksum's reading and hashing
 * (~0.25 ms per cached MiB in C, ~0.5 ms with hash-wasm; a 64 GiB file for seconds) is not spent
 * on an event loop's thread: blitd's serves every client,
 * a remote client's runs the protocol. One pool per process, at most one thread per core (two
 * here), started when a big file is first hashed; a thread idle for IDLE_EXIT_MS is asked to exit,
 * and an idle one never keeps the process alive (unref). Each thread hashes one file at a time;
 * files wait here in the order asked.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HashJob, HashResult } from './hash-worker';
import { askToExit } from './worker-exit';

const IDLE_EXIT_MS = 10_000;

/** What hash() resolves to when the job's stop flag was set before the hash finished. */
export const HASH_STOPPED = Symbol('hash stopped');

interface Pending {
  job: HashJob;
  resolve: (digest: string | typeof HASH_STOPPED) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  busy: Pending | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

class HashThreads {
  private readonly threads: Thread[] = [];
  private readonly waiting: Pending[] = [];
  private readonly max = Math.max(1, Math.min(2, os.availableParallelism()));

  /**
   * Hash open `fd` from offset 0 on a hashing thread; `stop` (shared memory, stop[0] != 0) makes it
   * give up between chunks. The fd stays the caller's: open until this settles, closed by it.
   */
  hash(fd: number, stop: Int32Array): Promise<string | typeof HASH_STOPPED> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job: { fd, stop }, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const t = this.threads.find((x) => x.busy === undefined) ?? this.start();
      if (!t) return; // every thread busy: the next to finish takes the next job
      const p = this.waiting.shift()!;
      if (t.idleTimer) clearTimeout(t.idleTimer);
      t.idleTimer = undefined;
      t.busy = p;
      t.worker.ref();
      t.worker.postMessage(p.job);
    }
  }

  private start(): Thread | undefined {
    if (this.threads.length >= this.max) return undefined;
    const worker = new Worker(path.join(__dirname, 'hash-worker.js'));
    const t: Thread = { worker, busy: undefined, idleTimer: undefined };
    worker.on('message', (r: HashResult) => this.finished(t, r));
    // A thread that fails (or exits) takes its job with it, named; the next job starts another.
    worker.on('error', (err) => this.lost(t, err));
    worker.on('exit', (code) => this.lost(t, new Error(`hashing thread exited (code ${code})`)));
    this.threads.push(t);
    return t;
  }

  private finished(t: Thread, r: HashResult): void {
    const p = t.busy;
    t.busy = undefined;
    t.worker.unref();
    if (p) {
      // One job per thread at a time: this result is the busy job's.
      if ('digest' in r) p.resolve(r.digest);
      else if ('stopped' in r) p.resolve(HASH_STOPPED);
      else p.reject(Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {}));
    }
    t.idleTimer = setTimeout(() => this.retire(t), IDLE_EXIT_MS).unref();
    this.dispatch();
  }

  private retire(t: Thread): void {
    if (t.busy) return;
    this.forget(t);
    void askToExit(t.worker);
  }

  private lost(t: Thread, err: Error): void {
    if (!this.forget(t)) return;
    if (t.idleTimer) clearTimeout(t.idleTimer);
    t.busy?.reject(err);
    t.busy = undefined;
    this.dispatch();
  }

  /** Takes `t` out of the pool; false when it was already out. */
  private forget(t: Thread): boolean {
    const i = this.threads.indexOf(t);
    if (i < 0) return false;
    this.threads.splice(i, 1);
    return true;
  }
}

let pool: HashThreads | undefined;

/** The process's hashing threads (started on first use). */
export function hashThreads(): HashThreads {
  return (pool ??= new HashThreads());
}
