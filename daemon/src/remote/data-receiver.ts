/**
 * The receiving end of file data, for both data paths: TCP streams (frames, see dataplane.ts) and
 * gRPC FileData messages. Used by the daemon for push and by the client for pull.
 *
 * Nothing the sender says is trusted: a file must be in the need-list (expect()), be open on the
 * stream that sends its data, and never get more bytes than its manifest size; a file that ends
 * short, or any frame that breaks these rules, is a BadFrame: its temp file is aborted, never
 * renamed into place. Writes go to a FileSink (temp file + rename); one writer pump per file keeps
 * writes ordered and batched (writev of everything that arrived while the last write ran).
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as native from '@blit/native';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import type { Entry, Failure } from '../engine/types';
import { displayPath } from '../engine/paths';
import { failureOf } from '../engine/walk';
import { FrameDecoder, readIntoReusedBuffer, STREAM_FLAG_ZERO_COPY } from './dataplane';
import { handoverAvailable, prewarmStreamWorkers, SPARES_MAX, startStreamWorker, takeOverReading, type HandoverTarget, type StreamWorker } from './recv-handover';
import { ExpectPacker, type DirectFile, type SmallExpects, type SmallResults } from './recv-worker';
import type { RecordKind, SmallWorkerInit } from './small-file-batch';
import { baseName } from '../engine/paths';

/** One temp file in the destination directory. */
export interface FileSink {
  /**
   * The temp file's descriptor, when a worker thread may write to it directly (positioned writes,
   * through its own dup). Absent: every byte goes through writev.
   */
  readonly fd?: number;
  writev(chunks: Buffer[], position: number): Promise<void>;
  /** Apply metadata and rename into place. */
  commit(): Promise<void>;
  /** Remove the temp file; never throws. */
  abort(): Promise<void>;
}

export interface ExpectedFile {
  index: number;
  entry: Entry;
  /** Its claim cell, when stream workers may write it (see DataReceiver.expect). */
  slot?: number;
}

/** Where a small file goes when a stream's worker writes it: a small-file batch record's directory. */
export interface SmallTarget {
  /** The directory, relative to the transfer root. */
  rel: Buffer;
  /** The record's directory bytes (absolute, or module-relative for an anchored kind). */
  dir: Buffer;
  kind: RecordKind;
  /** A directory this transfer creates: its mkdir record's base and kind (the path is `rel`). */
  mkdir?: { base: Buffer; kind: RecordKind };
}

/** The destination's side of small files written by stream workers (Destination.streamSmall). */
export interface StreamSmall {
  init: SmallWorkerInit;
  /** Where `f` goes, or undefined: it takes writeSmall on the main thread. */
  target(f: ExpectedFile): SmallTarget | undefined;
  /** A worker's errno-style failure of `f`, as reported. */
  error(f: ExpectedFile, err: NodeJS.ErrnoException): unknown;
}

export interface ReceiverHooks {
  openSink(f: ExpectedFile): Promise<FileSink>;
  /**
   * Small files: write all the bytes and commit once the file is complete (no temp file while it
   * is in flight, no promise per step). The chunks must be consumed (written or copied) before it
   * returns; `done` is called once the file is committed, or with the failure after its temp file
   * was removed. May also throw at once.
   */
  writeSmall?(f: ExpectedFile, chunks: Buffer[], done: (err?: unknown) => void): void;
  committed(f: ExpectedFile): void;
  failed(f: ExpectedFile, failure: Failure): void;
  /** Called for every chunk written (progress). */
  bytes?(n: number): void;
  /**
   * Small files received and written by the stream's worker thread (see receiveStream): asked once,
   * at the first expected file; undefined = every small file takes writeSmall.
   * blitd's push receiver (push-server.ts) and the pull client (pull-client.ts) pass it. Measured:
   * blitd as receiver spends 7-17% less CPU this way (DEVLOG h35/h38; it also drops main's
   * per-file resolution beneath the module root: a worker opens each directory once); the client
   * as receiver user CPU -22%, user+sys -6% on ext4, wall not worse (DEVLOG h52; h35 had seen
   * the ext4 wall +13% on a branch without the density gate, not reproduced). Both paths are
   * tested on real processes.
   */
  streamSmall?(): StreamSmall | undefined;
}

/** Files up to this size take the synchronous writeSmall path. */
const SMALL_FILE = 256 * 1024;

/**
 * Bytes received but not written yet (in flight included), over all streams: pause the sources
 * above HIGH_WATER, resume at LOW_WATER. One write takes at most WRITE_BATCH bytes, so the
 * gap between the marks is several batches: the socket keeps being read while a batch is being
 * written. (Before: one writev took everything queued, up to the high mark, and the next chunk
 * paused the socket until that whole write returned: reading and writing alternated, and a 1 GiB
 * push left the daemon idle ~90% with the sender waiting on a full socket.)
 */
export const HIGH_WATER = 32 * 1024 * 1024;
const LOW_WATER = 20 * 1024 * 1024;
export const WRITE_BATCH = 4 * 1024 * 1024;

/**
 * A stream whose next file is at least this big is handed to a recv-worker thread (reads into
 * one reused buffer, writes straight to the temp file). Below it the thread's start-up (~50-150 ms
 * of CPU) costs more than it saves.
 */
export const HANDOVER_MIN = 32 * 1024 * 1024;

/**
 * A stream is handed to a worker thread that receives and writes small files itself (recv-worker)
 * at a file boundary once this many small files were expected in all: a thread's start-up costs
 * more than writing a few dozen files here. Why a worker: the bytes are written on the core that
 * received them (pwrite of bytes received on the other core costs ~2x, DEVLOG fifth session), and
 * the main thread no longer decodes, copies and posts every small file.
 */
export const SMALL_HANDOVER_FILES = 128;

/**
 * ... and only while they are dense: at least this many expected small files per directory met
 * (a worker opens, and on a new directory makes, each directory itself; `mixed`, 1.45 files per
 * directory, measured worse on the workers: blitd CPU +14%, DEVLOG h38).
 */
export const SMALL_HANDOVER_PER_DIR = 8;

/** Bytes of one socket read on the main thread (one reused buffer per stream). */
const READ_BUFFER = 256 * 1024;

/**
 * Files over SMALL_FILE are collected in pooled buffers of these sizes (the smallest that holds
 * the rest of the file, at most the last) and written one buffer per writev: a file up to 4 MiB
 * is one write once all of it arrived. (Before: the socket's own buffers were queued and written
 * as they came, ~2 async writev per file of `mixed`, each waking a libuv pool thread that
 * preempted the main thread on a busy machine, DEVLOG h21-flush; and every socket read was a
 * fresh buffer.) The copy is what lets the socket read into one reused buffer.
 */
const COLLECT_SIZES = [512 * 1024, 1024 * 1024, 2 * 1024 * 1024, WRITE_BATCH];
/** Free buffers kept per size: about 16 MiB each. */
const COLLECT_KEEP = COLLECT_SIZES.map((n) => Math.max(2, Math.floor((16 * 1024 * 1024) / n)));

export interface ReceiverOptions {
  /**
   * Hand streams carrying big files to worker threads (default: where available, unless
   * BLIT_RECV_WORKER=0, a debug switch for A/B measurements).
   */
  streamWorkers?: boolean;
  /**
   * Workers move payloads with splice(2) (socket -> pipe -> file) instead of read + pwrite
   * (default on, unless BLIT_RECV_SPLICE=0, a debug switch for A/B measurements).
   */
  splice?: boolean;
}

type Owner = number | 'grpc';

/**
 * A file from its first frame (or its failure) until it is committed. Not made for a file that is
 * only expected: the need-list holds the ExpectedFile itself, and a committed file leaves a
 * COMMITTED mark instead of its state. (A state per expected file, all alive from the need-list
 * to the end, was most of what the receiver's main thread kept on its heap for 100k small files:
 * old-generation objects that every major GC marked again.)
 */
class FileState {
  owner: Owner | undefined = undefined;
  received = 0;
  sink: Promise<FileSink> | undefined = undefined;
  /**
   * Bytes received, not written yet: for a small file the received chunks (owned, or copied into
   * the stream's carry buffer at the end of a read), else full collect buffers (pooled).
   */
  pending: Buffer[] = [];
  /** Bytes in pending and in collect. */
  pendingBytes = 0;
  /** A file over SMALL_FILE: the pooled buffer being filled, and how much of it is. */
  collect: Buffer | undefined = undefined;
  collectLen = 0;
  written = 0;
  writing = false;
  /** Set when the write path failed; later data is counted but dropped. */
  failed = false;
  ended = false;
  done = false;
  /** Collected in memory and written at the end by hooks.writeSmall. */
  small = false;
  /** Committed, aborted or failed, and reported (see settled()). */
  settled = false;
  /** The TCP stream that carried it (its end waits for every file it carried). */
  stream: StreamFiles | undefined = undefined;
  onDrained: (() => void) | undefined = undefined;
  constructor(readonly f: ExpectedFile) {}
}

/** The need-list's entry of a file that was committed (its state is gone). */
const COMMITTED = Symbol('committed');
type Slot = ExpectedFile | FileState | typeof COMMITTED;

/**
 * Files a TCP stream carried that are not settled yet. A counter, not a promise per file: a push
 * of 100k small files made 100k promises (and their resolve closures) only to wait for them all
 * at the stream's end (GC was 1.3 s of the receiver's main thread, DEVLOG h8-small).
 */
interface StreamFiles {
  left: number;
  wake: (() => void) | undefined;
}

export function badFrame(message: string, rel?: Buffer): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message, ...(rel ? { path: displayPath(rel) } : {}) });
}

export class DataReceiver {
  /** The need-list: expected (not started), in flight or failed (FileState), or COMMITTED. */
  private readonly files = new Map<number, Slot>();
  private queued = 0;
  private waiters: (() => void)[] = [];
  private readonly workers = new Set<StreamWorker>();
  private readonly useWorkers: boolean;
  private readonly splice: boolean;
  /** Streams (or the gRPC path) that reported the sender used zero-copy. */
  senderZeroCopy = false;
  tcpUsed = false;
  bytesReceived = 0;
  /** Streams handed to a worker thread so far (tests, diagnostics). */
  streamsHandedOver = 0;
  /** Streams read into one reused buffer (readIntoReusedBuffer) so far (tests, diagnostics). */
  streamsReadReused = 0;
  /** Small files committed by stream workers so far (tests, diagnostics). */
  smallOnStreamWorkers = 0;
  /** Stream workers' small-file side: null = not asked yet. */
  private streamSmall: StreamSmall | undefined | null = null;
  private packer: ExpectPacker | undefined;
  /** Every pack of expected small files posted so far (a worker started later gets them all). */
  private readonly packs: SmallExpects[] = [];
  private nextSlot = 0;
  /** Directories met by expected small files (a change of target counts one). */
  private smallDirsMet = 0;
  /** Small files too sparse for the stream workers (SMALL_HANDOVER_PER_DIR): none is packed any more. */
  private smallSparse = false;
  private lastTarget: SmallTarget | undefined;
  private packScheduled = false;
  private readonly smallWorkers = new Set<StreamWorker>();
  /** Expected files of HANDOVER_MIN or more (counted up to SPARES_MAX: the stream workers prewarmed). */
  private bigExpected = 0;

  constructor(private readonly hooks: ReceiverHooks, options: ReceiverOptions = {}) {
    this.useWorkers = (options.streamWorkers ?? process.env['BLIT_RECV_WORKER'] !== '0') && handoverAvailable();
    this.splice = options.splice ?? process.env['BLIT_RECV_SPLICE'] !== '0';
  }

  expect(f: ExpectedFile): void {
    if (this.files.has(f.index)) return;
    this.files.set(f.index, f);
    // A big file will be handed to a stream worker: boot it now, while the need list travels.
    if (this.useWorkers && f.entry.size >= HANDOVER_MIN && this.bigExpected < SPARES_MAX) prewarmStreamWorkers(++this.bigExpected);
    if (f.entry.size <= SMALL_FILE && this.smallMode()) this.expectSmall(f, this.streamSmall!);
  }

  private smallMode(): boolean {
    if (this.streamSmall === null) {
      const ok = this.useWorkers && this.hooks.writeSmall !== undefined && native.loadNativeBatch() !== null;
      this.streamSmall = ok ? this.hooks.streamSmall?.() : undefined;
      if (this.streamSmall) this.packer = new ExpectPacker();
    }
    return this.streamSmall !== undefined && !this.smallSparse;
  }

  /**
   * A small file a stream's worker may write: packed for the workers. The pack is posted before
   * this turn of the event loop ends, so before the need-list that names the file reaches the
   * sender (postMessage enqueues at once); a worker that still meets an index it does not know
   * forwards that file here, where the need-list decides.
   */
  private expectSmall(f: ExpectedFile, ss: StreamSmall): void {
    const t = ss.target(f);
    if (!t) return;
    if (t !== this.lastTarget) {
      this.lastTarget = t;
      this.smallDirsMet++;
      if (this.smallWorkers.size === 0 && this.nextSlot >= SMALL_HANDOVER_FILES && this.nextSlot < SMALL_HANDOVER_PER_DIR * this.smallDirsMet) {
        // Sparse and no worker took a stream yet: main's path for the rest (no more packing).
        this.smallSparse = true;
        return;
      }
    }
    const slot = this.nextSlot++;
    f.slot = slot;
    this.packer!.add(f.index, slot, f.entry, t.dir, baseName(f.entry.rel), t.kind, t.mkdir ? { base: t.mkdir.base, rel: t.rel, kind: t.mkdir.kind } : undefined);
    if (this.packer!.full) this.postExpects();
    else if (!this.packScheduled) {
      this.packScheduled = true;
      queueMicrotask(() => this.postExpects());
    }
  }

  private postExpects(): void {
    this.packScheduled = false;
    if (!this.packer || this.packer.count === 0) return;
    const p = this.packer.take();
    this.packs.push(p);
    for (const w of this.smallWorkers) w.expect(p);
  }

  /** This thread starts expected small file `slot`: false when a stream worker took it first. */
  private claim(slot: number): boolean {
    const c = this.packer!.cell(slot);
    return Atomics.compareExchange(c.cells, c.at, 0, 1) === 0;
  }

  /** A stream worker's batch: committed and failed files, reported as the main thread's are. */
  private smallResults(r: SmallResults): void {
    if (r.bytes > 0) {
      this.bytesReceived += r.bytes;
      this.hooks.bytes?.(r.bytes);
    }
    for (const i of r.done) {
      const x = this.files.get(i);
      if (x === undefined || x === COMMITTED) continue; // not possible: the worker claimed it
      this.smallOnStreamWorkers++;
      if (x instanceof FileState) {
        if (!x.done) this.committed(x); // (a state made by abortAll: the file is in place all the same)
        continue;
      }
      this.files.set(i, COMMITTED);
      this.hooks.committed(x);
    }
    for (const f of r.failed) {
      this.workerFailed(f.i, (s) => {
        return failureOf(this.streamSmall!.error(s.f, Object.assign(new Error(f.message), { code: f.code })), s.f.entry.rel, 'cannot write');
      });
    }
    for (const f of r.sender) this.workerFailed(f.i, (s) => ({ path: displayPath(s.f.entry.rel), code: f.code, reason: `sender: ${f.reason}` }));
  }

  private workerFailed(index: number, failure: (s: FileState) => Failure): void {
    const s = this.stateOf(index);
    if (!s || s === COMMITTED || s.done) return;
    s.failed = true;
    void this.finishFailed(s, failure(s)); // no sink (the worker wrote it): reported at once
  }

  /** The state of an expected file, made on first use (a start, or a failure before any data). */
  private stateOf(index: number): FileState | typeof COMMITTED | undefined {
    const x = this.files.get(index);
    if (x === undefined || x === COMMITTED || x instanceof FileState) return x;
    const s = new FileState(x);
    this.files.set(index, s);
    return s;
  }

  /** A committed file: its state goes, the need-list remembers it was done. */
  private committed(s: FileState): void {
    s.done = true;
    this.files.set(s.f.index, COMMITTED);
    this.hooks.committed(s.f);
    this.settled(s);
  }

  /** Started files (an owner was set) not settled yet, over all paths; finish() waits for 0. */
  private startedLeft = 0;
  private startedWake: (() => void)[] = [];

  /** The file is committed or its failure reported: count it off its stream and the total. */
  private settled(s: FileState): void {
    if (s.settled) return;
    s.settled = true;
    if (s.owner === undefined) return;
    if (--this.startedLeft === 0) for (const w of this.startedWake.splice(0)) w();
    const t = s.stream;
    if (t && --t.left === 0) t.wake?.();
  }

  /** Files expected but not finished yet. */
  get outstanding(): number {
    let n = 0;
    for (const s of this.files.values()) if (s !== COMMITTED && !(s instanceof FileState && s.done)) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Frame-level operations shared by both paths

  private start(index: number, owner: Owner): FileState {
    const s = this.stateOf(index);
    if (!s) throw badFrame(`data for index ${index}, which is not in the need-list`);
    if (s === COMMITTED) throw badFrame(`file index ${index} sent twice`);
    if (s.owner !== undefined || s.done) throw badFrame(`file index ${index} sent twice`, s.f.entry.rel);
    if (s.f.slot !== undefined && !this.claim(s.f.slot)) throw badFrame(`file index ${index} sent twice`, s.f.entry.rel);
    s.owner = owner;
    this.startedLeft++;
    if (this.hooks.writeSmall && s.f.entry.size <= SMALL_FILE) {
      s.small = true;
      return s;
    }
    s.sink = this.hooks.openSink(s.f);
    s.sink.catch((err) => this.writeFailed(s, err));
    return s;
  }

  /** `chunk` is only valid during this call for files over SMALL_FILE (it is copied). */
  private data(s: FileState, chunk: Buffer): void {
    if (s.received + chunk.length > s.f.entry.size) {
      throw badFrame(`more bytes than the manifest size ${s.f.entry.size}`, s.f.entry.rel);
    }
    s.received += chunk.length;
    this.bytesReceived += chunk.length;
    if (s.failed) return;
    s.pendingBytes += chunk.length;
    this.queued += chunk.length;
    if (s.small) {
      s.pending.push(chunk);
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      if (!s.collect) {
        s.collect = this.takeCollect(s.f.entry.size - (s.received - chunk.length + off));
        s.collectLen = 0;
      }
      const n = Math.min(chunk.length - off, s.collect.length - s.collectLen);
      chunk.copy(s.collect, s.collectLen, off, off + n);
      s.collectLen += n;
      off += n;
      if (s.collectLen === s.collect.length) this.seal(s);
    }
    if (!s.writing && s.pending.length > 0) void this.pump(s);
  }

  /** The collect buffer (full, or the file's last bytes) joins the writes. */
  private seal(s: FileState): void {
    if (!s.collect) return;
    if (s.collectLen > 0) s.pending.push(s.collect.subarray(0, s.collectLen));
    else this.giveCollect(s.collect);
    s.collect = undefined;
    s.collectLen = 0;
  }

  private readonly collectFree: ArrayBuffer[][] = COLLECT_SIZES.map(() => []);

  /** A pooled buffer for the next `want` bytes of a file (the smallest size that holds them). */
  private takeCollect(want: number): Buffer {
    let k = 0;
    while (k < COLLECT_SIZES.length - 1 && COLLECT_SIZES[k]! < want) k++;
    const ab = this.collectFree[k]!.pop() ?? new ArrayBuffer(COLLECT_SIZES[k]!);
    return Buffer.from(ab);
  }

  /** A collect buffer (or a view of one) whose bytes were written or dropped. */
  private giveCollect(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    const k = COLLECT_SIZES.indexOf(ab.byteLength);
    if (k >= 0 && b.byteOffset === 0 && this.collectFree[k]!.length < COLLECT_KEEP[k]!) this.collectFree[k]!.push(ab);
  }

  private end(s: FileState): void {
    if (s.received !== s.f.entry.size) {
      throw badFrame(`file ended after ${s.received} of ${s.f.entry.size} bytes`, s.f.entry.rel);
    }
    s.ended = true;
    if (s.small) this.finishSmall(s);
    else {
      this.seal(s);
      if (!s.writing) void this.pump(s);
    }
  }

  private finishSmall(s: FileState): void {
    if (s.failed || s.done) return;
    const chunks = s.pending;
    const n = s.pendingBytes;
    // The bytes stay counted as queued until the file is written (bounds the writer's backlog).
    s.pending = [];
    s.pendingBytes = 0;
    const done = (err?: unknown): void => {
      this.release(n);
      if (err !== undefined) return this.writeFailed(s, err);
      if (s.done) return; // aborted meanwhile (its complete file is in place all the same)
      this.hooks.bytes?.(n);
      this.committed(s);
    };
    try {
      this.hooks.writeSmall!(s.f, chunks, done);
    } catch (err) {
      done(err);
    }
  }

  private senderError(s: FileState, code: string, reason: string): void {
    s.ended = true;
    s.failed = true;
    this.dropPending(s);
    void this.finishFailed(s, { path: displayPath(s.f.entry.rel), code, reason: `sender: ${reason}` });
  }

  private async pump(s: FileState): Promise<void> {
    s.writing = true;
    try {
      const sink = await s.sink!;
      while (s.pending.length > 0 && !s.failed) {
        const chunks = this.takeBatch(s);
        const n = chunks.reduce((t, c) => t + c.length, 0);
        try {
          await sink.writev(chunks, s.written);
        } finally {
          if (!s.small) for (const c of chunks) this.giveCollect(c);
        }
        s.written += n;
        this.release(n);
        this.hooks.bytes?.(n);
      }
      if (s.ended && !s.failed && !s.done) {
        await sink.commit();
        this.committed(s);
      }
    } catch (err) {
      this.writeFailed(s, err);
    } finally {
      s.writing = false;
      const d = s.onDrained;
      s.onDrained = undefined;
      d?.();
    }
  }

  /** Resolves once nothing of this file is queued or being written by the main thread. */
  private idle(s: FileState): Promise<void> {
    if (s.collectLen > 0) {
      // Bytes still being collected are written now (the caller waits for them).
      this.seal(s);
      if (!s.writing) void this.pump(s);
    }
    if (!s.writing && s.pending.length === 0) return Promise.resolve();
    return new Promise((r) => {
      const prev = s.onDrained;
      s.onDrained = () => {
        prev?.();
        if (!s.writing && s.pending.length === 0) r();
        else void this.idle(s).then(r);
      };
    });
  }

  /** The oldest pending chunks, up to WRITE_BATCH bytes (at least one chunk). */
  private takeBatch(s: FileState): Buffer[] {
    let k = 0;
    let bytes = 0;
    while (k < s.pending.length && (k === 0 || bytes + s.pending[k]!.length <= WRITE_BATCH)) bytes += s.pending[k++]!.length;
    const batch = k === s.pending.length ? s.pending : s.pending.slice(0, k);
    s.pending = k === s.pending.length ? [] : s.pending.slice(k);
    s.pendingBytes -= bytes;
    return batch;
  }

  private writeFailed(s: FileState, err: unknown): void {
    if (s.failed && s.done) return;
    s.failed = true;
    this.dropPending(s);
    void this.finishFailed(s, failureOf(err, s.f.entry.rel, 'cannot write', 'destination'));
  }

  private dropPending(s: FileState): void {
    this.release(s.pendingBytes);
    if (!s.small) {
      for (const c of s.pending) this.giveCollect(c);
      if (s.collect) this.giveCollect(s.collect);
    }
    s.collect = undefined;
    s.collectLen = 0;
    s.pending = [];
    s.pendingBytes = 0;
  }

  private async finishFailed(s: FileState, failure: Failure): Promise<void> {
    if (s.done) return;
    s.done = true;
    if (s.sink) await s.sink.then((k) => k.abort(), () => undefined);
    this.hooks.failed(s.f, failure);
    this.settled(s);
  }

  /** Abort an open file whose stream broke; its temp file goes away. */
  private async abortFile(s: FileState, reason: BlitError): Promise<void> {
    s.failed = true;
    this.dropPending(s);
    await this.finishFailed(s, failureOf(reason, s.f.entry.rel, 'cannot write'));
  }

  private release(n: number): void {
    this.queued -= n;
    if (this.queued <= LOW_WATER && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  /** Resolves once queued writes are below the low-water mark. */
  private drained(): Promise<void> {
    if (this.queued <= HIGH_WATER) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  // -------------------------------------------------------------------------------------------
  // TCP path

  /**
   * Read frames from one accepted data stream until STREAM_END and until every file it carried is
   * settled. Rejects (after aborting that stream's open file) on a bad frame or a lost connection.
   */
  receiveStream(socket: net.Socket, streamId: number, rest: Buffer): Promise<void> {
    this.tcpUsed = true;
    const carried: StreamFiles = { left: 0, wake: undefined };
    let open: FileState | undefined;
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      /** A byte arrived on this stream (the hello's rest counts). */
      let heard = rest.length > 0;
      /** False while the stream is being (or was) handed to a worker: never resume the socket then. */
      let reading = true;
      let worker: StreamWorker | undefined;
      const fail = (err: BlitError): void => {
        if (finished) return;
        finished = true;
        // A worker may still be writing the open file: it stops (closing its descriptors) before
        // that file is aborted and the socket closed.
        const stopped = worker ? worker.stop() : Promise.resolve();
        void stopped
          .then(() => {
            socket.destroy();
            const o = open;
            open = undefined;
            return o && !o.done ? this.abortFile(o, err) : undefined;
          })
          .then(() => reject(err));
      };
      const ended = (): void => {
        finished = true;
        socket.end();
        if (carried.left === 0) resolve();
        else carried.wake = resolve;
      };
      const openFile = (index: number, what: string): FileState => {
        if (!open || open.f.index !== index) throw badFrame(`${what} for index ${index}, which is not the open file`);
        return open;
      };
      // Frame-level rules, shared by this thread's decoder and a worker's forwarded events.
      const frames = {
        fileStart: (index: number): void => {
          if (open) throw badFrame(`FILE_START for index ${index} while index ${open.f.index} is open`);
          open = this.start(index, streamId);
          open.stream = carried;
          carried.left++;
        },
        data: (index: number, chunk: Buffer): void => this.data(openFile(index, 'DATA'), chunk),
        fileEnd: (index: number): void => {
          this.end(openFile(index, 'FILE_END'));
          open = undefined;
        },
        fileError: (index: number, code: string, reason: string): void => {
          this.senderError(openFile(index, 'FILE_ERROR'), code, reason);
          open = undefined;
        },
        streamEnd: (flags: number): void => {
          if (open) throw badFrame(`STREAM_END while index ${open.f.index} is open`);
          if (flags & STREAM_FLAG_ZERO_COPY) this.senderZeroCopy = true;
        },
      };
      /** The stream goes to a worker at the next file boundary that allows it (handOver). */
      let smallHandover = true;
      const decoder: FrameDecoder = new FrameDecoder({
        ...frames,
        fileStart: (index) => {
          frames.fileStart(index);
          // A big file: the rest of this stream goes to a worker thread (handOver).
          if (this.useWorkers && !open!.small && open!.f.entry.size >= HANDOVER_MIN) decoder.detach();
        },
        fileEnd: (index) => {
          frames.fileEnd(index);
          // Many small files expected: a worker receives and writes them (handOver, between files).
          if (smallHandover && this.streamSmall && !this.smallSparse && this.nextSlot >= SMALL_HANDOVER_FILES && this.nextSlot >= SMALL_HANDOVER_PER_DIR * this.smallDirsMet) decoder.detach();
        },
      });
      const target: HandoverTarget = {
        ...frames,
        written: (index, n) => {
          const o = openFile(index, 'DATA');
          if (o.received + n > o.f.entry.size) throw badFrame(`more bytes than the manifest size ${o.f.entry.size}`, o.f.entry.rel);
          o.received += n;
          this.bytesReceived += n;
          if (o.failed) return;
          o.written += n;
          this.hooks.bytes?.(n);
        },
        writeFailed: (index, code, message) => {
          const o = openFile(index, 'DATA');
          this.writeFailed(o, fromErrno(Object.assign(new Error(message), { code }), displayPath(o.f.entry.rel), 'cannot write', 'destination'));
        },
        directFile: async (index) => {
          const o = open;
          if (!o || o.f.index !== index || o.small || !o.sink) return null;
          const sink = await o.sink.catch(() => undefined);
          if (sink?.fd === undefined) return null;
          await this.idle(o);
          if (o.failed || o.done || open !== o) return null;
          return { index, fd: native.dup(sink.fd), pos: o.written, size: o.f.entry.size } satisfies DirectFile;
        },
        overHighWater: () => this.queued > HIGH_WATER,
        drained: () => this.drained(),
        smallResults: (r) => this.smallResults(r),
      };

      /**
       * The rest of the stream is read in a worker (or stays here if it cannot): from a big file
       * that just started (open), or between files when many small files are expected (none open:
       * the worker writes them itself, see SMALL_HANDOVER_FILES).
       */
      const handOver = async (view: Buffer): Promise<void> => {
        reading = false;
        listen(false);
        socket.pause();
        const left = reused ? Buffer.from(view) : view;
        const o = open;
        const sink = o ? await o.sink!.catch(() => undefined) : undefined;
        if (finished) return;
        const taken = o ? (sink?.fd !== undefined && !o.failed ? takeOverReading(socket) : undefined) : takeOverReading(socket);
        if (!taken) {
          smallHandover = false;
          reading = true;
          listen(true);
          socket.resume(); // flows from the next tick: `left` goes first
          if (left.length > 0) onChunk(left);
          return;
        }
        let first: DirectFile | undefined;
        if (o) {
          try {
            first = { index: o.f.index, fd: native.dup(sink!.fd!), pos: o.written, size: o.f.entry.size };
          } catch (err) {
            fs.closeSync(taken.fd);
            fail(new BlitError({ code: ErrorCodes.Internal, message: `data stream ${streamId}: dup: ${(err as Error).message}` }));
            return;
          }
        }
        const restAll = taken.buffered.length > 0 ? Buffer.concat([left, ...taken.buffered]) : left;
        const small = this.streamSmall ? { init: this.streamSmall.init, packs: (this.postExpects(), this.packs) } : undefined;
        try {
          worker = startStreamWorker(taken.fd, restAll, first, target, this.splice, small);
        } catch (err) {
          fail(err as BlitError);
          return;
        }
        this.streamsHandedOver++;
        const w = worker;
        this.workers.add(w);
        if (small) this.smallWorkers.add(w);
        const gone = (): void => {
          this.workers.delete(w);
          this.smallWorkers.delete(w);
        };
        w.done.then(
          () => {
            gone();
            if (!finished) ended();
          },
          (err: BlitError) => {
            gone();
            fail(err);
          },
        );
      };

      const onChunk = (chunk: Buffer): void => {
        if (finished) return;
        heard = true;
        let left: Buffer | undefined;
        try {
          left = decoder.push(chunk);
        } catch (err) {
          fail(err instanceof BlitError ? err : badFrame(String(err)));
          return;
        }
        if (left !== undefined) {
          void handOver(left);
          return;
        }
        if (decoder.streamEnded) {
          listen(false);
          ended();
          return;
        }
        if (this.queued > HIGH_WATER) {
          socket.pause();
          void this.drained().then(() => {
            if (!finished && reading) socket.resume();
          });
        }
      };
      // Reads go into one buffer per stream when Node allows it (readIntoReusedBuffer): what must
      // outlive a read is copied (files over SMALL_FILE by data(), the open small file's bytes
      // into `carry` at the end of each read, a hand-over's rest, the decoder's small payloads).
      let listening = true;
      let carry: Buffer | undefined;
      const keepOpenSmall = (): void => {
        const o = open;
        if (!o || !o.small || o.pending.length === 0 || o.failed) return;
        carry ??= Buffer.allocUnsafeSlow(SMALL_FILE);
        let at = 0;
        let from = 0;
        const first = o.pending[0]!;
        if (first.buffer === carry.buffer && first.byteOffset === 0) {
          at = first.length; // already here, from the reads before
          from = 1;
        }
        for (let i = from; i < o.pending.length; i++) at += o.pending[i]!.copy(carry, at);
        o.pending = [carry.subarray(0, at)];
      };
      const buffered = readIntoReusedBuffer(socket, Buffer.allocUnsafeSlow(READ_BUFFER), (view) => {
        if (!listening) return;
        onChunk(view);
        keepOpenSmall();
      });
      const reused = buffered !== undefined;
      if (reused) this.streamsReadReused++;
      const listen = (on: boolean): void => {
        if (reused) listening = on;
        else if (on) socket.on('data', onChunk);
        else socket.off('data', onChunk);
      };
      if (!reused) socket.on('data', onChunk);
      // A stream that ends before its first byte carried nothing: the peer dropped it after the
      // daemon accepted it (its wait for the accept byte ran out, DEVLOG hunt-load) and sends
      // on the streams it kept. Dropped, not a failure: a file the client meant for it and never
      // sent is still failed at the end (finish: never started), and a client that is gone ends
      // the gRPC call too (busy-admin).
      const droppedUnused = (): boolean => {
        if (heard || finished) return false;
        finished = true;
        socket.destroy();
        resolve();
        return true;
      };
      socket.on('error', (err) => droppedUnused() || fail(new BlitError({ code: ErrorCodes.IoError, message: `data stream ${streamId}: ${err.message}` })));
      socket.on('close', () => droppedUnused() || fail(new BlitError({ code: ErrorCodes.IoError, message: `data stream ${streamId} closed before its end` })));
      // What Node read before the switch goes first, in one piece (a hand-over takes all of it).
      const first = buffered && buffered.length > 0 ? Buffer.concat([rest, ...buffered]) : rest;
      if (first.length > 0) onChunk(first);
      if (reading && !finished) socket.resume();
    });
  }

  // -------------------------------------------------------------------------------------------
  // gRPC path

  /**
   * One FileData message. Chunks of a file arrive in order; `last` closes it. Resolve before
   * reading the next message (backpressure). Throws BadFrame like the TCP path.
   */
  async grpcData(m: { index: number; offset: number; data: Buffer; last: boolean }): Promise<void> {
    let s = this.stateOf(m.index);
    if (s === COMMITTED) throw badFrame(`FileData for index ${m.index}, which is not open on the gRPC path`);
    if (s && s.owner === undefined) s = this.start(m.index, 'grpc');
    else if (!s) throw badFrame(`data for index ${m.index}, which is not in the need-list`);
    if (s.owner !== 'grpc' || s.ended) throw badFrame(`FileData for index ${m.index}, which is not open on the gRPC path`, s.f.entry.rel);
    if (m.offset !== s.received) throw badFrame(`FileData offset ${m.offset}, expected ${s.received}`, s.f.entry.rel);
    if (m.data.length > 0) this.data(s, m.data);
    if (m.last) this.end(s);
    await this.drained();
  }

  /** A gRPC-path file the sender could not read (Failure message with the manifest index). */
  grpcFileError(index: number, code: string, reason: string): void {
    const s = this.stateOf(index);
    if (!s || s === COMMITTED || s.done) return;
    this.senderError(s, code, reason);
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Call once every stream ended and the sender said it is done. A gRPC-path file that never got
   * its `last` message is how the sender gives up on a file it could not read: aborted and failed.
   * Files never started are reported as failures.
   */
  async finish(): Promise<void> {
    await Promise.all(
      this.states()
        .filter((s) => s.owner === 'grpc' && !s.ended && !s.done)
        .map((s) => this.abortFile(s, new BlitError({ code: ErrorCodes.IoError, message: 'the sender stopped sending this file (unreadable or changed at the source)' }))),
    );
    if (this.startedLeft > 0) await new Promise<void>((r) => this.startedWake.push(r));
    for (const index of [...this.files.keys()]) {
      const s = this.stateOf(index)!;
      if (s !== COMMITTED && !s.done) {
        s.done = true;
        this.hooks.failed(s.f, { path: displayPath(s.f.entry.rel), code: ErrorCodes.IoError, reason: 'the sender never sent this file' });
        this.settled(s);
      }
    }
  }

  /** Abort every temp file (transfer failed or cancelled). */
  async abortAll(reason: BlitError): Promise<void> {
    // Workers first: they may hold duplicates of the temp files' descriptors.
    await Promise.all([...this.workers].map((w) => w.stop()));
    const open: FileState[] = [];
    for (const index of [...this.files.keys()]) {
      const s = this.stateOf(index)!;
      if (s !== COMMITTED && !s.done) open.push(s);
    }
    await Promise.all(open.map((s) => this.abortFile(s, reason)));
  }

  /** Files started or failed, not committed (a snapshot). */
  private states(): FileState[] {
    const out: FileState[] = [];
    for (const s of this.files.values()) if (s instanceof FileState) out.push(s);
    return out;
  }
}

