/**
 * Ending a worker thread without terminate(). terminate() lands wherever the thread is; inside an
 * ffi-rs call (a thread still loading @blit/native, or in a syscall wrapper) the pending
 * termination makes ffi-rs unwrap a napi error and panic, which aborts the WHOLE process ("Failed
 * to get Array length ... PendingException"; reproduced by terminating sendfile-worker and
 * dest-lister-worker at random moments of their start: one process in ~500 aborted, DEVLOG
 * h45-workers). So a thread is asked to exit and does so itself, from JS, between its units of
 * work; terminate() stays for a thread that does not answer within a grace period (stuck), or for
 * a caller that must force.
 */
import type { Worker } from 'node:worker_threads';

/** The message that asks a worker to exit between its units of work. */
export interface ExitRequest {
  exit: true;
}
export const EXIT_REQUEST: ExitRequest = { exit: true };

/** Worker side: is this message the request to exit? */
export function isExitRequest(m: unknown): m is ExitRequest {
  return typeof m === 'object' && m !== null && (m as { exit?: unknown }).exit === true;
}

/** How long a worker asked to exit may take before it is terminated (it finishes its unit first). */
export const EXIT_GRACE_MS = 5_000;

export interface AskToExitOptions {
  /** How to ask (default: post EXIT_REQUEST): e.g. a stop flag in shared memory the thread polls. */
  ask?: () => void;
  graceMs?: number;
}

/**
 * Ask `worker` to exit and resolve with its exit code (0: it exited when asked; 1: it had to be
 * terminated after the grace period, or it was already gone when asked).
 */
export function askToExit(worker: Worker, opts: AskToExitOptions = {}): Promise<number> {
  if (worker.threadId === -1) return Promise.resolve(1); // already gone (an error, or it ended)
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), opts.graceMs ?? EXIT_GRACE_MS);
    worker.once('exit', (code: number) => {
      clearTimeout(timer);
      resolve(code);
    });
    if (opts.ask) opts.ask();
    else worker.postMessage(EXIT_REQUEST);
  });
}
