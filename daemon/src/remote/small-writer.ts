/**
 * Writes received small files on worker threads, in batches. Creating, writing and renaming a
 * file of a few KiB is ~60 us of syscalls (open O_EXCL, write, futimens, close, rename); done on
 * the main thread for 100k files that was ~6.4 s of a 10.7 s push, during which the socket was
 * not read (cpu-prof of blitd, 2026-11-21). Here the main thread only copies the bytes into a
 * batch (one ArrayBuffer moved to the worker and back) and the workers do the syscalls, so frame
 * parsing, the manifest diff and the writes overlap and use both cores.
 *
 * Each destination directory belongs to one worker (its lane): two threads creating files in one
 * directory contend on its lock (measured: open(O_CREAT) 20 -> 80 us per file on ext4 with two
 * workers and no affinity). A lane's batch goes out when full, or at the end of the event-loop
 * turn if its worker has less than two batches to do (so it never waits for the round trip);
 * otherwise it keeps filling, and bigger batches mean fewer messages.
 *
 * Workers start once SPAWN_AFTER_FILES records (files or new directories) have come (a no-op
 * mirror or a push of a few saved files never starts them: a thread costs ~30-50 ms of start-up,
 * more than writing 64 small files here). Until then batches run on the main thread; once they
 * are starting (~50-150 ms quiet, over 1 s at load 12: a thread, the engine modules, ffi-rs) a
 * lane's batches wait for its worker, in order (they ran on the main thread: ~0.9 s of mkdirs and
 * writes of a `mixed` pull's main thread, DEVLOG h53-mixed; the receiver's HIGH_WATER bounds the
 * file bytes that wait). Directories count: a push whose small files all go to the stream workers
 * queues only mkdir records here, and those ran on the main thread for the whole transfer.
 * close() waits for every batch in flight, so a worker is never terminated in the middle of a
 * file (no temp file is left behind).
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Entry } from '../engine/types';
import type { MetaOptions } from '../engine/metadata';
import { askToExit } from '../engine/worker-exit';
import { RecordKind, runSmallBatch, SmallBatchBuilder, type Beneath, type SmallBatchReply, type SmallBatchRequest, type SmallWorkerInit } from './small-file-batch';

/** Files / bytes per batch: big enough to share the message cost, small enough to spread. */
const BATCH_FILES = 128;
const BATCH_BYTES = 1024 * 1024;
/** Records (files, mkdirs) written on the calling thread before the workers are started. */
const SPAWN_AFTER_FILES = 64;
/** Batches a worker may have queued before the lane waits for a full batch. */
const PIPELINE = 2;

const NO_META = { mode: 0, uid: 0, gid: 0, mtimeNs: 0n };

export type SmallDone = (err: NodeJS.ErrnoException | undefined) => void;

interface Lane {
  worker: Worker | undefined;
  ready: boolean;
  inFlight: Map<number, SmallDone[]>;
  builder: SmallBatchBuilder | undefined;
  waiting: SmallDone[];
  /** Batches taken while the lane's worker was starting: posted in order once it is ready. */
  held: { req: SmallBatchRequest; dones: SmallDone[] }[];
  /** The worker failed ('error'): the lane runs on the calling thread from then on. */
  crashed: boolean;
}

/** Worker threads for received small files: BLIT_RECEIVE_WORKERS, else min(2, cores). */
export function defaultSmallWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env['BLIT_RECEIVE_WORKERS']);
  if (env['BLIT_RECEIVE_WORKERS'] && Number.isInteger(n) && n >= 0 && n <= 16) return n;
  return Math.min(2, os.availableParallelism());
}

export class SmallFileWriter {
  private readonly lanes: Lane[] = [];
  private flushScheduled = false;
  private nextBatch = 1;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private closed = false;
  private spawned = false;
  private recordsSeen = 0;
  private readonly free: { meta: Float64Array; bytes: ArrayBuffer }[] = [];

  /** `workers` 0 = write on the calling thread (at the end of each event-loop turn). */
  /** `beneath`: the daemon's module root, for anchored records (daemon/beneath.ts). */
  constructor(private readonly meta: MetaOptions, workers = defaultSmallWorkers(), private readonly beneath?: Beneath) {
    for (let i = 0; i < Math.max(1, workers); i++) this.lanes.push({ worker: undefined, ready: false, inFlight: new Map(), builder: undefined, waiting: [], held: [], crashed: false });
    this.inlineOnly = workers === 0;
  }

  private readonly inlineOnly: boolean;

  /**
   * Queue one complete file for writing into `dirAbs/name` (atomically). `dirLane` is any number
   * that is the same for every file of one directory. The chunks are copied before this returns.
   * `done` is called once, with the errno-style error if it failed.
   */
  write(dirLane: number, dirAbs: Buffer, name: Buffer, chunks: Buffer[], size: number, e: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, done: SmallDone, kind: RecordKind = RecordKind.File): void {
    this.queue(dirLane, dirAbs, name, chunks, size, e, done, kind);
  }

  /**
   * Queue the creation of directory `rel` below `base` (mode 0700, missing parents too, an
   * existing directory is fine) on lane `dirLane`: before any file later queued on that lane.
   * `anchored`: `base` is module-relative, the mkdir goes through the parent opened beneath the
   * module root. Directories of one lane are created in order; across lanes a parent may come
   * later than its child (the child's mkdir then creates it: see small-file-batch makeDir).
   */
  mkdir(dirLane: number, base: Buffer, rel: Buffer, anchored: boolean, done: SmallDone): void {
    this.queue(dirLane, base, rel, [], 0, NO_META, done, anchored ? RecordKind.AnchoredMkdir : RecordKind.Mkdir);
  }

  private queue(dirLane: number, dirAbs: Buffer, name: Buffer, chunks: Buffer[], size: number, e: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, done: SmallDone, kind: RecordKind): void {
    if (this.closed) throw new Error('small-file writer closed');
    if (!this.spawned && !this.inlineOnly && ++this.recordsSeen > SPAWN_AFTER_FILES) this.spawn();
    const lane = this.lanes[dirLane % this.lanes.length]!;
    const need = dirAbs.length + name.length + size;
    if (lane.builder && !lane.builder.fits(need)) this.flushLane(lane);
    if (!lane.builder) {
      const reuse = this.free.pop();
      lane.builder = new SmallBatchBuilder(BATCH_FILES, BATCH_BYTES, reuse);
    }
    lane.builder.add(dirAbs, name, chunks, size, e, kind);
    lane.waiting.push(done);
    if (lane.builder.full) this.flushLane(lane);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        // A lane whose worker is starting keeps filling its batch (sent when full or when ready).
        for (const l of this.lanes) if (l.ready ? l.inFlight.size < PIPELINE : !this.starting(l)) this.flushLane(l);
      });
    }
  }

  private flushLane(lane: Lane): void {
    const b = lane.builder;
    if (!b || b.count === 0) return;
    lane.builder = undefined;
    const dones = lane.waiting;
    lane.waiting = [];
    const req = b.take(this.nextBatch++);
    this.inFlight++;
    // Its worker still starting: the batch waits for it. None wanted, none started yet, or it
    // failed: write on this thread now. Never on another lane's worker: a lane's batches run in
    // order (a directory before its files).
    if (this.starting(lane)) {
      lane.held.push({ req, dones });
      return;
    }
    if (!lane.ready) {
      this.settle(dones, runSmallBatch(req, this.meta, this.beneath));
      return;
    }
    this.post(lane, req, dones);
  }

  private starting(lane: Lane): boolean {
    return !lane.ready && lane.worker !== undefined && !lane.crashed;
  }

  private post(lane: Lane, req: SmallBatchRequest, dones: SmallDone[]): void {
    lane.inFlight.set(req.batch, dones);
    lane.worker!.postMessage(req, [req.bytes, req.meta.buffer as ArrayBuffer]);
  }

  /** Batches written by worker threads so far (the rest ran on the calling thread). */
  batchesOnWorkers = 0;

  /** Whether worker threads were started (tests: a handful of files never starts them). */
  get threadsStarted(): boolean {
    return this.spawned;
  }
  private readyWaiters: (() => void)[] = [];

  /** Start the workers now and resolve once each is up (tests; the first write starts them anyway). */
  started(): Promise<void> {
    if (this.inlineOnly) return Promise.resolve();
    if (!this.spawned) this.spawn();
    if (this.lanes.every((l) => l.ready)) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  private spawn(): void {
    this.spawned = true;
    const init: SmallWorkerInit = { meta: this.meta, beneath: this.beneath };
    for (const lane of this.lanes) {
      // trackUnmanagedFds off: the thread closes the directory fds the native library opened for
      // it (openat2) with fs.closeSync, which Node's tracking warned about once per directory
      // ("closed but not opened in unmanaged mode", thousands per push, a stack trace each). The
      // tracking only closes fds still open when a thread exits; this one closes every fd it
      // opens itself (finally blocks) and is asked to exit only once idle (close()).
      const worker = new Worker(path.join(__dirname, 'small-file-worker.js'), { workerData: init, trackUnmanagedFds: false });
      lane.worker = worker;
      worker.on('message', (msg: SmallBatchReply | { ready: true }) => {
        if (!('batch' in msg)) {
          lane.ready = true;
          for (const h of lane.held.splice(0)) this.post(lane, h.req, h.dones);
          this.flushLane(lane);
          if (this.lanes.every((l) => l.ready)) for (const r of this.readyWaiters.splice(0)) r();
          return;
        }
        this.batchesOnWorkers++;
        const dones = lane.inFlight.get(msg.batch);
        lane.inFlight.delete(msg.batch);
        if (dones) this.settle(dones, msg);
        // The lane's next batch filled meanwhile: send it now that the worker has room.
        if (lane.builder && lane.inFlight.size < PIPELINE) this.flushLane(lane);
      });
      worker.on('error', (err) => this.laneLost(lane, worker, `writer thread failed: ${err.message}`));
      // An exit nobody asked for (close() clears lane.worker first) ends the lane the same way:
      // batches posted to it or held for its start would otherwise wait forever, and close() with them.
      worker.on('exit', (code) => this.laneLost(lane, worker, `writer thread exited (code ${code})`));
    }
  }

  /**
   * The lane's worker crashed (out of memory, a bug) or exited unasked: its batches in flight fail
   * (their files named), the batches held for its start and every later one run on this thread.
   */
  private laneLost(lane: Lane, worker: Worker, reason: string): void {
    if (lane.worker !== worker || lane.crashed) return; // closed on purpose, or already handled ('error' then 'exit')
    lane.ready = false;
    lane.crashed = true;
    const lost = [...lane.inFlight.values()];
    lane.inFlight.clear();
    for (const dones of lost) this.settle(dones, { batch: 0, failed: dones.map((_, i) => ({ i, code: 'EIO', message: reason })) });
    // Batches that waited for it (it was lost while starting) run here, in order.
    for (const h of lane.held.splice(0)) this.settle(h.dones, runSmallBatch(h.req, this.meta, this.beneath));
  }

  private settle(dones: SmallDone[], reply: SmallBatchReply): void {
    this.inFlight--;
    if (reply.bytes && reply.meta && reply.bytes.byteLength === BATCH_BYTES) this.free.push({ meta: reply.meta, bytes: reply.bytes });
    let k = 0;
    const failed = reply.failed;
    for (let i = 0; i < dones.length; i++) {
      if (k < failed.length && failed[k]!.i === i) {
        const f = failed[k++]!;
        dones[i]!(Object.assign(new Error(f.message), { code: f.code }));
      } else {
        dones[i]!(undefined);
      }
    }
    if (this.inFlight === 0) {
      const w = this.idle;
      this.idle = [];
      for (const fn of w) fn();
    }
  }

  /**
   * Flush, wait for every batch in flight, ask the workers to exit (never terminate(): see
   * worker-exit.ts). Safe to call twice. Resolves with the exit codes (0: exited when asked).
   */
  async close(): Promise<number[]> {
    for (const l of this.lanes) this.flushLane(l);
    while (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
    const workers = this.lanes.map((l) => l.worker).filter((w): w is Worker => w !== undefined);
    for (const l of this.lanes) {
      l.worker = undefined;
      l.ready = false;
    }
    return Promise.all(workers.map((w) => askToExit(w)));
  }
}
