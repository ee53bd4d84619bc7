/**
 * The sending end of file data, for both data paths: frames on TCP streams (dataplane.ts) and gRPC
 * FileData messages. Used by the client for push and by the daemon for pull.
 *
 * Files come from a SendQueue that the control plane fills as needs arrive, so data starts flowing
 * with the first NeedBatch. Each TCP stream takes the next file from the shared queue (many small
 * files ride one stream back to back; several streams share the big ones). A file is checked
 * against its manifest entry before and after it is read: if it changed, the receiver gets
 * FILE_ERROR (SourceChanged) instead of FILE_END and drops its temp file.
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import type { Writable } from 'node:stream';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { Failure } from '../engine/types';
import type { SentFile } from './manifest-pack';
import { displayPath } from '../engine/paths';
import { FrameType, MAX_DATA_PAYLOAD, fileErrorFrame, frameHeader, streamEndFrame } from './dataplane';
import { SourceChanged, checkUnchanged, readAllChecked, readFailure } from './source-check';

export interface OutgoingFile {
  index: number;
  /** Absolute source path. */
  abs: Buffer;
  entry: SentFile;
  /** The directory of entry.rel the source pinned for this file (released with it). */
  dir?: Buffer;
}

/**
 * An async FIFO: producers push() and close(); each stream awaits next(). `take` runs as a sender
 * takes a file (next(), tryNext(), a push() to a waiting sender; again for a file put back): what
 * a file needs to be read is acquired there, not while it waits (the daemon's pull pins the file's
 * directory: a pinned fd per queued file ran into EMFILE). It returns false for a file that cannot
 * be sent (it reported the failure itself): the sender gets the next one instead.
 */
export class SendQueue {
  constructor(private readonly take: (f: OutgoingFile) => boolean = () => true) {}

  private items: OutgoingFile[] = [];
  private head = 0;
  private closed = false;
  private waiters: ((f: OutgoingFile | undefined) => void)[] = [];
  private watchers: { limit: number; resolve: () => void }[] = [];
  totalBytes = 0;
  totalFiles = 0;

  push(f: OutgoingFile): void {
    if (this.closed) throw new BlitError({ code: ErrorCodes.Internal, message: 'send queue already closed' });
    this.totalBytes += f.entry.size;
    this.totalFiles++;
    if (this.waiters.length > 0) {
      if (this.take(f)) this.waiters.shift()!(f);
    } else {
      this.items.push(f);
    }
    if (this.watchers.length > 0) this.notify();
  }

  /** Resolves once the queue is closed or holds more than `limit` bytes in all. */
  closedOrAbove(limit: number): Promise<void> {
    if (this.closed || this.totalBytes > limit) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ limit, resolve }));
  }

  private notify(): void {
    const waiting: typeof this.watchers = [];
    for (const w of this.watchers) {
      if (this.closed || this.totalBytes > w.limit || w.limit === Infinity) w.resolve();
      else waiting.push(w);
    }
    this.watchers = waiting;
  }

  /** Resolves at the next push or close (takes nothing: see tryNext). */
  changed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ limit: Infinity, resolve }));
  }

  /** True once every file this transfer will send has been pushed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Returns the file next() just gave out to the front of the queue (a sender that declined it). */
  putBack(f: OutgoingFile): void {
    if (this.head > 0 && this.items[this.head - 1] === f) this.head--;
    else this.items.splice(this.head, 0, f);
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    if (this.watchers.length > 0) this.notify();
  }

  /** The next file if one is queued right now (never waits). */
  tryNext(): OutgoingFile | undefined {
    while (this.head < this.items.length) {
      const f = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.take(f)) return f;
    }
    return undefined;
  }

  next(): Promise<OutgoingFile | undefined> {
    const f = this.tryNext();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((r) => this.waiters.push(r));
  }
}

export interface SenderHooks {
  /** The file was fully handed to the transport. */
  sent(f: OutgoingFile): void;
  /**
   * The file could not be read or changed. `framed`: the receiver was told on the TCP stream (a
   * FILE_ERROR after its FILE_START); false: nothing of it went on a stream (not opened, or
   * failed before its frames were written), so only the control stream can tell it why.
   */
  failed(f: OutgoingFile, failure: Failure, framed: boolean): void;
  bytes?(n: number): void;
}

/** Read chunk for buffered sends: big enough to keep syscalls few, small enough to stay in cache. */
const CHUNK = 1024 * 1024;

/** The transport broke (not the file): stops the stream instead of becoming a FILE_ERROR. */
class StreamBroken extends BlitError {
  constructor() {
    super({ code: ErrorCodes.IoError, message: 'data stream closed by the receiver' });
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'transfer cancelled' });
}

/** Read a file in order, checked against its manifest entry; yields chunks. */
async function* readChecked(f: OutgoingFile, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (f.entry.size <= SYNC_READ_MAX) {
    yield readSmallChecked(f);
    return;
  }
  const fh = await fs.promises.open(f.abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const check = async (): Promise<void> => {
      const st = await fh.stat({ bigint: true });
      if (Number(st.size) !== f.entry.size || st.mtimeNs !== f.entry.mtimeNs) throw new SourceChanged();
    };
    await check();
    let pos = 0;
    while (pos < f.entry.size) {
      aborted(signal);
      const want = Math.min(CHUNK, f.entry.size - pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) throw new SourceChanged();
      pos += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
    await check();
  } finally {
    await fh.close();
  }
}

/**
 * Files up to this size are read synchronously (from the page cache, microseconds): five
 * thread-pool round trips per file (open, stat, read, stat, close) each waited for a turn of a
 * main thread that is busy walking or diffing, which put ~300 ms under load before the first
 * byte of a push.
 */
const SYNC_READ_MAX = 64 * 1024;

function readSmallChecked(f: OutgoingFile): Buffer {
  const fd = fs.openSync(f.abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    checkUnchanged(fd, f.entry.size, f.entry.mtimeNs);
    return readAllChecked(fd, f.entry.size, f.entry.mtimeNs);
  } finally {
    fs.closeSync(fd);
  }
}

export function failureFor(f: OutgoingFile, err: unknown): Failure {
  const shown = displayPath(f.entry.rel);
  if (!(err instanceof BlitError)) return { path: shown, ...readFailure(err) };
  return { path: shown, code: err.code, reason: err.reasonAt(shown) };
}

/** Write whole frames; resolves once Node takes more (drain), rejects when the stream broke. */
export function write(socket: net.Socket, bufs: Buffer[]): Promise<void> {
  if (socket.destroyed) return Promise.reject(new StreamBroken());
  socket.cork();
  let ok = true;
  for (const b of bufs) ok = socket.write(b) && ok;
  socket.uncork();
  if (ok) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { cleanup(); resolve(); };
    const onClose = (): void => { cleanup(); reject(new StreamBroken()); };
    const cleanup = (): void => { socket.off('drain', onDrain); socket.off('close', onClose); };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/**
 * Send one file on a TCP stream with buffered reads: FILE_START, DATA frames, FILE_END (or
 * FILE_ERROR when it cannot be read or changed). `yieldTo()` is asked between chunks: when it says
 * so, the send stops after whole frames and the result says how many payload bytes went out (the
 * file stays open on the stream; a sendfile worker continues it from there, see stream-worker.ts).
 * Throws only when the stream broke or the transfer was cancelled.
 */
export async function sendFileOnStream(
  socket: net.Socket,
  f: OutgoingFile,
  hooks: SenderHooks,
  signal?: AbortSignal,
  yieldTo?: (pos: number) => boolean,
): Promise<{ handedOver: number } | undefined> {
  await write(socket, [frameHeader(FrameType.FileStart, f.index, 0)]);
  let pos = 0;
  const chunks = readChecked(f, signal);
  try {
    for (;;) {
      // Asked before each chunk is read: a file handed over is not read here any further.
      if (pos < f.entry.size && yieldTo?.(pos)) return { handedOver: pos };
      const next = await chunks.next();
      if (next.done) break;
      const chunk = next.value;
      for (let off = 0; off < chunk.length; off += MAX_DATA_PAYLOAD) {
        const piece = chunk.subarray(off, Math.min(chunk.length, off + MAX_DATA_PAYLOAD));
        await write(socket, [frameHeader(FrameType.Data, f.index, piece.length), piece]);
        pos += piece.length;
        hooks.bytes?.(piece.length);
      }
    }
  } catch (err) {
    if (err instanceof StreamBroken || (err instanceof BlitError && err.code === ErrorCodes.Cancelled)) throw err;
    const failure = failureFor(f, err);
    await write(socket, [fileErrorFrame(f.index, failure.code, failure.reason)]);
    hooks.failed(f, failure, true);
    return undefined;
  } finally {
    await chunks.return(undefined); // closes the file when the loop left early
  }
  await write(socket, [frameHeader(FrameType.FileEnd, f.index, 0)]);
  hooks.sent(f);
  return undefined;
}

/** Resolves once Node has handed every byte written so far to the kernel (a socket, or blitd's stderr). */
export function writesFlushed(socket: Writable): Promise<void> {
  if (socket.destroyed) return Promise.reject(new StreamBroken());
  if (socket.writableLength === 0) return Promise.resolve();
  // Write callbacks run in order: this one runs after every earlier write reached the kernel.
  return new Promise((resolve, reject) => socket.write(Buffer.alloc(0), (err) => (err ? reject(new StreamBroken()) : resolve())));
}

/**
 * Send files from the queue on one TCP stream until the queue is closed and empty, then
 * STREAM_END. Rejects when the stream breaks; the files already handed over stay reported.
 */
export async function sendOnStream(socket: net.Socket, queue: SendQueue, hooks: SenderHooks, signal?: AbortSignal): Promise<void> {
  socket.on('error', () => undefined);
  for (;;) {
    aborted(signal);
    const f = await queue.next();
    if (!f) break;
    await sendFileOnStream(socket, f, hooks, signal);
  }
  await write(socket, [streamEndFrame(false)]);
  await new Promise<void>((resolve) => {
    socket.end(() => resolve());
  });
}

export interface GrpcFileData {
  index: number;
  offset: number;
  data: Buffer;
  last: boolean;
}

/** gRPC messages stay well below grpc-js's 4 MiB default limit. */
const GRPC_CHUNK = 1024 * 1024;

/**
 * Send files from the queue as FileData messages. `send` resolves when the call can take more
 * (backpressure). A file that cannot be read simply gets no `last` message; hooks.failed() lets
 * the caller tell the peer where the protocol has a message for it (pull: file_failure).
 */
export async function sendOverGrpc(
  queue: SendQueue,
  send: (m: GrpcFileData) => Promise<void>,
  hooks: SenderHooks,
  signal?: AbortSignal,
): Promise<void> {
  for (;;) {
    aborted(signal);
    const f = await queue.next();
    if (!f) return;
    let offset = 0;
    try {
      for await (const chunk of readChecked(f, signal)) {
        for (let off = 0; off < chunk.length; off += GRPC_CHUNK) {
          const piece = chunk.subarray(off, Math.min(chunk.length, off + GRPC_CHUNK));
          await send({ index: f.index, offset, data: piece, last: false });
          offset += piece.length;
          hooks.bytes?.(piece.length);
        }
      }
    } catch (err) {
      if (err instanceof BlitError && err.code === ErrorCodes.Cancelled) throw err;
      hooks.failed(f, failureFor(f, err), false);
      continue;
    }
    await send({ index: f.index, offset, data: Buffer.alloc(0), last: true });
    hooks.sent(f);
  }
}
