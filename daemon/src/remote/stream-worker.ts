/**
 * Main-thread side of a zero-copy TCP data stream: hands the socket's descriptor to a
 * sendfile-worker thread and feeds it the files of the shared SendQueue (a few at a time, so the
 * other streams can take the rest). Falls back to the buffered sender when the descriptor is not
 * available (not Linux, or a wrapped socket) or the worker script is not there (a bundle).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import { BlitError, ErrorCodes } from '../engine/errors';
import { displayPath } from '../engine/paths';
import { streamEndFrame } from './dataplane';
import { sendFileOnStream, sendOnStream, write, writesFlushed, type OutgoingFile, type SendQueue, type SenderHooks } from './data-sender';
import type { FileJob, FileResult, FromWorker, SendfileWorkerData, ToWorker } from './sendfile-worker';
import { packJobs, smallReader } from './small-reader';
import { askToExit } from '../engine/worker-exit';

/**
 * Files handed to one stream's worker ahead of time, in messages of at most BATCH files or
 * BATCH_BYTES of payload (so the worker always has the next batch while the main thread handles
 * the results of the last one). Each message costs a postMessage each way, a native read call, a
 * socket write and its results: 128 files instead of 32 per message took the sender of 100k
 * small files from ~1.15 to ~0.95 CPU-s (DEVLOG h24-send). The byte caps keep a stream from
 * holding many big files while the other streams run dry at the end.
 */
const BATCH = 128;
const AHEAD = 3 * BATCH;
const BATCH_BYTES = 1024 * 1024;
const AHEAD_BYTES = 3 * BATCH_BYTES;
/** sendfile-worker.ts's SMALL: files up to this size are written, not sendfile'd, by the worker. */
const SMALL_TOTAL = 256 * 1024;
/** The part of a big file the main thread leaves to the worker while it starts (see bridge). */
const BRIDGE_TAIL = 1024 * 1024;
/**
 * Small files the main thread sends per native read while its worker starts (see bridge): few
 * enough that it notices the worker's 'ready' soon, many enough that a run costs one call.
 */
const BRIDGE_RUN = 32;
const BRIDGE_RUN_BYTES = 256 * 1024;

type ReadSmall = NonNullable<ReturnType<typeof smallReader>>;
let mainReader: ReadSmall | null | undefined;
/** This thread's batch reader (blit_read_batch), or undefined without the native library. */
function bridgeReader(): ReadSmall | undefined {
  if (mainReader === undefined) mainReader = smallReader() ?? null;
  return mainReader ?? undefined;
}

/**
 * Send a run of small files on the main thread as the worker would (one native call reads,
 * checks and frames them all, one socket write): the per-file node:fs path (open, fstat, read,
 * fstat, close, 3 socket writes) was the largest part of the sending main thread's profile of a
 * 100k-file pull (~0.11 s; DEVLOG h29-sendcpu). A file that changed or failed is reported as
 * failed and nothing of it is sent (the receiver never saw its FILE_START).
 */
async function sendSmallRun(socket: net.Socket, run: OutgoingFile[], hooks: SenderHooks, read: ReadSmall): Promise<void> {
  const jobs = run.map(jobOf);
  const { recs, count } = packJobs(jobs);
  const got = read(recs, count, (k) => jobs[k]!);
  // A copy: the reader's frames buffer is reused by its next call, and Node may hold this one
  // until the socket drains.
  if (got.frames.length > 0) await write(socket, [Buffer.from(got.frames)]);
  if (got.bytes > 0) hooks.bytes?.(got.bytes);
  let k = 0;
  for (const f of run) k = reportFile(f, got.failed, k, hooks);
}

/** What the native reader needs of a file (small-reader.ts packJobs). */
function jobOf(f: OutgoingFile): FileJob {
  return { index: f.index, abs: f.abs, size: f.entry.size, mtimeNs: f.entry.mtimeNs };
}

/**
 * A read file's outcome, for the bridge and the worker's results alike: `failed` lists the run's
 * failures in run order, `k` is the next unmatched one; returns the next `k`.
 */
function reportFile(f: OutgoingFile, failed: readonly Omit<FileResult, 'ok'>[], k: number, hooks: SenderHooks): number {
  const r = failed[k];
  if (r && r.index === f.index) {
    hooks.failed(f, { path: displayPath(f.entry.rel), code: r.code, reason: r.reason }, r.framed === true);
    return k + 1;
  }
  hooks.sent(f);
  return k;
}

function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Send on one stream; resolves with whether sendfile carried the payloads. */
export async function sendOnStreamZeroCopy(socket: net.Socket, queue: SendQueue, hooks: SenderHooks, signal?: AbortSignal): Promise<boolean> {
  const fd = process.platform === 'linux' ? socketFd(socket) : undefined;
  // A bundle (the VS Code extension's daemon) may not ship the worker script next to this file.
  const script = path.join(__dirname, 'sendfile-worker.js');
  if (fd === undefined || !fs.existsSync(script)) return sendOnStream(socket, queue, hooks, signal).then(() => false);
  // A worker thread costs 100-200 ms of CPU to start (measured with --cpu-prof): a stream that
  // never gets a file (no-op mirror, fewer files than streams) ends on the main thread instead.
  const first = await queue.next();
  if (!first) return sendOnStream(socket, queue, hooks, signal).then(() => false);
  // The same for a transfer whose files add up to at most SMALL_TOTAL: the worker would write
  // every one of them with write(2) (sendfile is for files above its SMALL), so zeroCopy is false
  // either way, and the thread start was 55-100 ms of a 1-byte push or pull (DEVLOG 2026-11-21 h5).
  // Waiting until that is known (queue closed, or more than SMALL_TOTAL needed) delays nothing
  // that matters: a tiny transfer ends after its need list anyway, and a bigger one starts its
  // worker as soon as the total passes SMALL_TOTAL (a first file above it starts it at once).
  if (first.entry.size <= SMALL_TOTAL) {
    await queue.closedOrAbove(SMALL_TOTAL);
    if (queue.isClosed && queue.totalBytes <= SMALL_TOTAL) {
      queue.putBack(first);
      return sendOnStream(socket, queue, hooks, signal).then(() => false);
    }
  }
  return runWorker(socket, fd, first, queue, hooks, signal);
}

function runWorker(socket: net.Socket, fd: number, firstFile: OutgoingFile, queue: SendQueue, hooks: SenderHooks, signal?: AbortSignal): Promise<boolean> {
  socket.pause();
  socket.on('error', () => undefined);
  // Spelled out (not `script`): the extension's bundler finds worker scripts by this pattern.
  const stopBuf = new SharedArrayBuffer(4);
  const worker = new Worker(path.join(__dirname, 'sendfile-worker.js'), { workerData: { fd, stop: stopBuf } satisfies SendfileWorkerData });
  // The files handed to the worker, in the order it reports them (results say how many are done).
  let pending: OutgoingFile[] = [];
  let pendingHead = 0;
  return new Promise<boolean>((resolve, reject) => {
    let inflight = 0;
    let inflightBytes = 0;
    let pumping = false;
    let ended = false;
    let settled = false;
    let carried: OutgoingFile | undefined;
    /** Payload bytes of `carried` the main thread already sent (it wrote its FILE_START too). */
    let carriedSent: number | undefined;
    let ready = false;
    const finish = (err: BlitError | undefined, zeroCopy = false): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      // The thread is asked to exit, never terminated: terminate() inside an ffi-rs call (the
      // thread still loading @blit/native, or in a syscall wrapper) aborts the whole process
      // (worker-exit.ts; a pull from blitd ended with "Connection dropped" in CI).
      if (err && ready) {
        // It may be writing to the socket's descriptor: the stop flag ends its batch while the
        // socket is full (a peer that stopped reading) or at the next chunk, and the socket is
        // closed only once the thread is gone, so the number is never reused under its writes.
        Atomics.store(new Int32Array(stopBuf), 0, 1);
        void askToExit(worker).then(() => {
          socket.destroy();
          reject(err);
        });
        return;
      }
      // Not ready: it never had a file (they go to it once it is ready), so it never wrote to the
      // socket; it exits when its start is done. Success: it said 'finished' and ends by itself,
      // or the bridge sent every file before it was ready.
      void askToExit(worker);
      if (err) {
        socket.destroy();
        reject(err);
        return;
      }
      socket.end(() => resolve(zeroCopy));
    };
    const onAbort = (): void => finish(new BlitError({ code: ErrorCodes.Cancelled, message: 'transfer cancelled' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    const pump = async (): Promise<void> => {
      if (pumping || ended) return;
      pumping = true;
      try {
        while (!ended && inflight < AHEAD && inflightBytes < AHEAD_BYTES && !settled) {
          const first = carried ?? (await queue.next());
          carried = undefined;
          if (settled) return;
          if (!first) {
            ended = true;
            worker.postMessage({ type: 'end' } satisfies ToWorker);
            return;
          }
          // Everything already queued (up to AHEAD in flight) goes over in one message, as the
          // native reader's records in one buffer (small-reader.ts packJobs), copied by the
          // structured clone, not transferred: the first ArrayBuffer an isolate ever detaches
          // invalidates V8's "no ArrayBuffer is detached" protector, which deoptimizes every
          // optimized function of this thread that touches a typed array (the scan, fileFor,
          // the gRPC decoders, Buffer.read*: ~25 functions per burst, DEVLOG h39), and all of
          // them are compiled again with detach checks. The copy is ~10 KB per 128 files.
          const files: FileJob[] = [];
          let batchBytes = 0;
          const more = (): boolean => inflight < AHEAD && files.length < BATCH && batchBytes < BATCH_BYTES && inflightBytes < AHEAD_BYTES;
          for (let f: OutgoingFile | undefined = first; f; f = more() ? queue.tryNext() : undefined) {
            pending.push(f);
            inflight++;
            inflightBytes += f.entry.size;
            batchBytes += f.entry.size;
            files.push(jobOf(f));
          }
          const { recs, count } = packJobs(files);
          const sent = carriedSent;
          carriedSent = undefined;
          worker.postMessage({ type: 'files', recs, count, ...(sent !== undefined ? { sent } : {}) } satisfies ToWorker);
        }
      } finally {
        pumping = false;
      }
    };
    /**
     * The thread takes 50-300 ms to start (more on a busy machine): until it says 'ready', this
     * thread sends the queue's files itself (buffered), so the first byte does not wait for it.
     * A file in progress when it is ready is continued by the worker from the byte reached, once
     * Node has handed every byte written so far to the kernel (the worker writes to the same
     * descriptor).
     */
    const bridge = async (): Promise<boolean> => {
      const stop = (): boolean => ready || settled;
      // A file above SMALL_TOTAL (which the worker would sendfile) keeps at least its last
      // BRIDGE_TAIL bytes for the worker: zeroCopy stays true whenever sendfile had work to do.
      const stopIn = (f: OutgoingFile) => (pos: number): boolean => stop() || (f.entry.size > SMALL_TOTAL && f.entry.size - pos <= BRIDGE_TAIL);
      /** The next queued file while the thread starts (undefined once it is ready or the queue ended). */
      const nextWhileStarting = async (): Promise<OutgoingFile | undefined> => {
        for (;;) {
          if (stop()) return undefined;
          const f = queue.tryNext();
          if (f || queue.isClosed) return f;
          await Promise.race([queue.changed(), readyNow]);
        }
      };
      const read = bridgeReader();
      for (let f: OutgoingFile | undefined = firstFile; f; f = await nextWhileStarting()) {
        if (stop()) {
          carried = f;
          break;
        }
        if (read && f.entry.size <= SMALL_TOTAL) {
          // Small files go in runs through the native reader, as the worker sends them.
          const run = [f];
          let bytes = f.entry.size;
          while (run.length < BRIDGE_RUN && bytes < BRIDGE_RUN_BYTES) {
            const g = queue.tryNext();
            if (!g) break;
            if (g.entry.size > SMALL_TOTAL) {
              queue.putBack(g);
              break;
            }
            run.push(g);
            bytes += g.entry.size;
          }
          await sendSmallRun(socket, run, hooks, read);
          continue;
        }
        const partial = await sendFileOnStream(socket, f, hooks, signal, stopIn(f));
        if (partial) {
          carried = f;
          carriedSent = partial.handedOver;
          break;
        }
      }
      if (settled) return false;
      // Every file of this stream went out before the thread was ready: end here, never use it.
      if (!ready && !carried && queue.isClosed) return true;
      await readyNow;
      await writesFlushed(socket);
      return false;
    };
    let onReady!: () => void;
    const readyNow = new Promise<undefined>((r) => (onReady = () => r(undefined)));
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          ready = true;
          onReady();
          return;
        case 'progress':
          hooks.bytes?.(m.bytes);
          return;
        case 'results': {
          if (m.bytes > 0) hooks.bytes?.(m.bytes);
          let k = 0;
          for (let n = 0; n < m.n; n++) {
            const f = pending[pendingHead]!;
            pending[pendingHead++] = undefined as unknown as OutgoingFile;
            inflight--;
            inflightBytes -= f.entry.size;
            k = reportFile(f, m.failed, k, hooks);
          }
          if (pendingHead > 1024 && pendingHead * 2 > pending.length) {
            pending = pending.slice(pendingHead);
            pendingHead = 0;
          }
          void pump();
          return;
        }
        case 'finished':
          finish(undefined, m.zeroCopy);
          return;
        case 'broken':
          finish(new BlitError({ code: ErrorCodes.IoError, message: m.message }));
          return;
      }
    });
    worker.on('error', (err) => finish(new BlitError({ code: ErrorCodes.Internal, message: `data stream worker: ${err.message}`, cause: err })));
    worker.on('exit', () => finish(new BlitError({ code: ErrorCodes.Internal, message: 'data stream worker exited early' })));
    bridge()
      .then(async (endHere) => {
        if (!endHere) return void pump();
        await writesFlushed(socket);
        socket.write(streamEndFrame(false));
        finish(undefined, false);
      })
      .catch((err: unknown) => finish(err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.IoError, message: String((err as Error)?.message ?? err) })));
  });
}
