/**
 * Main-thread side of a data stream received by a recv-worker thread (see recv-worker.ts for why).
 * DataReceiver reads a stream on the main thread until a big file starts; then it takes the
 * socket's descriptor away from Node (takeOverReading) and hands the rest of the stream to a
 * worker here. The worker's events are replayed into the receiver through a HandoverTarget, in
 * order, so the need-list, size checks, commit and abort stay where they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';
import { MessageChannel, Worker } from 'node:worker_threads';
import * as native from '@blit/native';
import { BlitError, ErrorCodes } from '../engine/errors';
import { askToExit, EXIT_REQUEST } from '../engine/worker-exit';
import { CTL_CELLS, Ctl, type DirectFile, type FdReply, type FromRecvWorker, type RecvWorkerData, type SmallExpects, type SmallResults } from './recv-worker';
import type { SmallWorkerInit } from './small-file-batch';

/** What the receiver does with the worker's events; a throw (BadFrame) ends the stream. */
export interface HandoverTarget {
  fileStart(index: number): void;
  data(index: number, chunk: Buffer): void;
  fileEnd(index: number): void;
  fileError(index: number, code: string, reason: string): void;
  streamEnd(flags: number): void;
  /** n more bytes of the direct file `index` arrived (written by the worker unless writeFailed). */
  written(index: number, n: number): void;
  writeFailed(index: number, code: string, message: string): void;
  /** The worker asks to write `index` itself from now on: a dup of its temp fd, or null. */
  directFile(index: number): Promise<DirectFile | null>;
  /** Forwarded bytes the receiver queued: above its high-water mark the worker must hold. */
  overHighWater(): boolean;
  /** Resolves when the receiver's queue is back under its low-water mark. */
  drained(): Promise<void>;
  /** A batch of expected small files the worker wrote (or that failed); a throw ends the stream. */
  smallResults?(r: SmallResults): void;
}

export interface StreamWorker {
  /** Resolves after STREAM_END was handled; rejects (BlitError) when the stream broke. */
  readonly done: Promise<void>;
  /** Stop reading and wait for the thread to exit (it closes its descriptors first). */
  stop(): Promise<void>;
  /** More expected small files (a worker started with `small`); posted before the sender can send them. */
  expect(p: SmallExpects): void;
}

/** True when this process can hand streams to recv-worker threads. */
export function handoverAvailable(): boolean {
  // A bundle (the VS Code extension's daemon) may not ship the worker script next to this file.
  return process.platform === 'linux' && native.nativeAvailable && fs.existsSync(path.join(__dirname, 'recv-worker.js'));
}

interface NodeStreamHandle {
  fd?: unknown;
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
}

/**
 * Stop Node from ever reading this socket again and return a dup of its descriptor plus whatever
 * Node had already read but not delivered. undefined (nothing changed) when the socket has no
 * plain descriptor. The socket object stays for writing, closing and its 'close' event.
 */
export function takeOverReading(socket: net.Socket): { fd: number; buffered: Buffer[] } | undefined {
  const h = (socket as unknown as { _handle?: NodeStreamHandle | null })._handle;
  if (!h || typeof h.fd !== 'number' || h.fd < 0 || typeof h.readStop !== 'function') return undefined;
  let fd: number;
  try {
    fd = native.dup(h.fd);
  } catch {
    return undefined;
  }
  h.readStop();
  h.reading = false;
  // Node restarts reading whenever someone calls socket.read()/resume(); from now on it cannot.
  h.readStart = () => 0;
  const buffered: Buffer[] = [];
  for (let b = socket.read() as Buffer | null; b !== null; b = socket.read() as Buffer | null) buffered.push(b);
  return { fd, buffered };
}

/**
 * Idle recv-worker threads, booted before a stream needs one (prewarmStreamWorkers). A worker's
 * start (a V8 isolate, Node's bootstrap, this module's imports: 40-200 ms on a loaded 2-core
 * machine) used to sit between a big file's FILE_START and its first byte written: the socket
 * was taken from Node and nobody read it, so the sender stalled too. Unref'd: an unused spare never
 * keeps a process alive; one that dies is dropped. When the process is about to exit with spares
 * unused, they are asked to exit (and waited for): Node's exit would otherwise stop a spare that
 * is still booting wherever it is, and inside an ffi-rs call (loading @blit/native) that aborts
 * the process (worker-exit.ts).
 */
const spares: Worker[] = [];
/** Spares waiting at most (a receiver asks for one per expected big file, up to this many). */
export const SPARES_MAX = 2;
let exitHookSet = false;

/** 'beforeExit': the event loop is empty. Unused spares exit from JS; the loop waits for them. */
function releaseSpares(): void {
  for (const w of spares.splice(0)) {
    w.ref();
    w.postMessage(EXIT_REQUEST);
  }
}
/** Handovers served by a spare, since the process started (tests read it). */
export let sparesUsed = 0;

/**
 * Boot idle stream workers now, up to `n` (at most SPARES_MAX) waiting, for a handover that is
 * known to come (an expected big file). No-op where handover is not available.
 */
export function prewarmStreamWorkers(n: number): void {
  if (!handoverAvailable()) return;
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('beforeExit', releaseSpares);
  }
  while (spares.length < Math.min(n, SPARES_MAX)) {
    let w: Worker;
    try {
      w = new Worker(path.join(__dirname, 'recv-worker.js'), { workerData: { spare: true }, trackUnmanagedFds: false });
    } catch {
      return; // the handover starts its own worker (and names a failure) as before
    }
    w.unref();
    const drop = (): void => {
      const k = spares.indexOf(w);
      if (k >= 0) spares.splice(k, 1);
    };
    w.once('exit', drop);
    w.on('error', drop);
    spares.push(w);
  }
}

/**
 * Start the worker on a taken-over socket; `first` is the file open on the stream right now (none:
 * handed over between files). `small`: the worker writes expected small files itself (every pack
 * so far; later ones through expect()).
 */
export function startStreamWorker(
  socketFd: number,
  rest: Buffer,
  first: DirectFile | undefined,
  target: HandoverTarget,
  splice: boolean,
  small?: { init: SmallWorkerInit; packs: SmallExpects[] },
): StreamWorker {
  const ctlBuf = new SharedArrayBuffer(CTL_CELLS * 4);
  const ctl = new Int32Array(ctlBuf);
  const { port1: replies, port2: workerReplies } = new MessageChannel();
  const expects = small ? new MessageChannel() : undefined;
  const data: RecvWorkerData = {
    socketFd, rest, first, ctl: ctlBuf, replies: workerReplies, splice,
    ...(small ? { small: { init: small.init, packs: small.packs, port: expects!.port2 } } : {}),
  };
  let worker: Worker;
  const transferList = expects ? [workerReplies, expects.port2] : [workerReplies];
  try {
    const spare = spares.shift();
    if (spare) {
      // Alive when taken (a spare that exited was dropped); if it dies from here on, its 'exit'
      // reaches the handlers below like any worker's.
      worker = spare;
      sparesUsed++;
      worker.ref();
      worker.postMessage(data, transferList);
    } else {
      // Spelled out: the extension's bundler finds worker scripts by this pattern.
      // trackUnmanagedFds off: the worker closes descriptors this thread duplicated for it (Node
      // would warn), and it closes them itself, also when stopped.
      worker = new Worker(path.join(__dirname, 'recv-worker.js'), { workerData: data, transferList, trackUnmanagedFds: false });
    }
  } catch (err) {
    fs.closeSync(socketFd);
    if (first && first.fd >= 0) fs.closeSync(first.fd);
    replies.close();
    expects?.port1.close();
    throw new BlitError({ code: ErrorCodes.Internal, message: `data stream worker: ${(err as Error).message}`, cause: err });
  }
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  let settled = false;
  let resolveDone!: () => void;
  let rejectDone!: (err: BlitError) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined); // the caller may stop() before awaiting done

  const wake = (): void => {
    for (const cell of [Ctl.REPLY, Ctl.PAUSED, Ctl.UNPROCESSED_KIB]) Atomics.notify(ctl, cell);
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    // The worker checks STOP at least every POLL_MS (its reads and waits are bounded by it, and
    // its loop checks it first), returns from its loop and ends by itself, its descriptors
    // closed. Terminate is the last resort, after EXIT_GRACE_MS (it would leak the worker's
    // duplicate descriptors, and land wherever the thread is: inside an ffi-rs call it aborts the
    // process, worker-exit.ts). The grace was 2 s: a thread still starting on a loaded machine
    // could exceed it.
    await askToExit(worker, {
      ask: () => {
        Atomics.store(ctl, Ctl.STOP, 1);
        wake();
      },
    });
    await exited;
    replies.close();
    expects?.port1.close();
  };
  const fail = (err: BlitError): void => {
    if (settled) return;
    settled = true;
    void stop().then(() => rejectDone(err));
  };
  const hold = (): void => {
    if (!target.overHighWater() || Atomics.load(ctl, Ctl.PAUSED) === 1) return;
    Atomics.store(ctl, Ctl.PAUSED, 1);
    void target.drained().then(() => {
      Atomics.store(ctl, Ctl.PAUSED, 0);
      Atomics.notify(ctl, Ctl.PAUSED);
    });
  };

  worker.on('message', (m: FromRecvWorker) => {
    if (settled) return;
    try {
      switch (m.type) {
        case 'events': {
          const arena = m.arena ? Buffer.from(m.arena) : undefined;
          for (const ev of m.events) {
            switch (ev.t) {
              case 's': target.fileStart(ev.i); break;
              case 'd': target.data(ev.i, arena!.subarray(ev.off, ev.off + ev.len)); break;
              case 'e': target.fileEnd(ev.i); break;
              case 'x': target.fileError(ev.i, ev.code, ev.reason); break;
              case 'w': target.written(ev.i, ev.n); break;
              case 'werr': target.writeFailed(ev.i, ev.code, ev.message); break;
              case 'z': target.streamEnd(ev.flags); break;
            }
          }
          if (m.kib > 0) {
            Atomics.sub(ctl, Ctl.UNPROCESSED_KIB, m.kib);
            Atomics.notify(ctl, Ctl.UNPROCESSED_KIB);
          }
          hold();
          return;
        }
        case 'small':
          target.smallResults!(m);
          return;
        case 'fd':
          void target.directFile(m.i).then(
            (file) => file,
            () => null,
          ).then((file) => {
            if (settled) {
              if (file) fs.closeSync(file.fd);
              return;
            }
            replies.postMessage({ file } satisfies FdReply);
            Atomics.store(ctl, Ctl.REPLY, 1);
            Atomics.notify(ctl, Ctl.REPLY);
          });
          return;
        case 'done':
          settled = true;
          void exited.then(() => {
            replies.close();
            expects?.port1.close();
            resolveDone();
          });
          return;
        case 'broken':
          fail(new BlitError({ code: m.code as BlitError['code'], message: m.message }));
          return;
      }
    } catch (err) {
      fail(err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.BadFrame, message: String((err as Error)?.message ?? err) }));
    }
  });
  worker.on('error', (err) => fail(new BlitError({ code: ErrorCodes.Internal, message: `data stream worker: ${err.message}`, cause: err })));
  worker.on('exit', () =>
    fail(stopping ? new BlitError({ code: ErrorCodes.Cancelled, message: 'data stream stopped' }) : new BlitError({ code: ErrorCodes.Internal, message: 'data stream worker exited early' })),
  );
  const expect = (p: SmallExpects): void => {
    if (!settled && !stopping) expects?.port1.postMessage(p);
  };
  return { done, stop, expect };
}
