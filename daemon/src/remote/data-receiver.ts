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
import type * as net from 'node:net';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { Entry, Failure } from '../engine/types';
import { displayPath } from '../engine/paths';
import { FrameDecoder, STREAM_FLAG_ZERO_COPY } from './dataplane';

/** One temp file in the destination directory. */
export interface FileSink {
  writev(chunks: Buffer[], position: number): Promise<void>;
  /** Apply metadata and rename into place. */
  commit(): Promise<void>;
  /** Remove the temp file; never throws. */
  abort(): Promise<void>;
}

export interface ExpectedFile {
  index: number;
  entry: Entry;
}

export interface ReceiverHooks {
  openSink(f: ExpectedFile): Promise<FileSink>;
  /**
   * Small files: write all the bytes and commit in one synchronous call once the file is
   * complete (no temp file while it is in flight, no promise per step). Throws on failure, after
   * removing its temp file.
   */
  writeSmall?(f: ExpectedFile, chunks: Buffer[]): void;
  committed(f: ExpectedFile): void;
  failed(f: ExpectedFile, failure: Failure): void;
  /** Called for every chunk written (progress). */
  bytes?(n: number): void;
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

type Owner = number | 'grpc';

interface FileState {
  f: ExpectedFile;
  owner: Owner | undefined;
  received: number;
  sink: Promise<FileSink> | undefined;
  pending: Buffer[];
  pendingBytes: number;
  written: number;
  writing: boolean;
  /** Set when the write path failed; later data is counted but dropped. */
  failed: boolean;
  ended: boolean;
  done: boolean;
  /** Collected in memory and written at the end by hooks.writeSmall. */
  small: boolean;
  /** Resolves when the file is committed, aborted or failed. */
  settle: Promise<void>;
  resolveSettle: () => void;
  onDrained: (() => void) | undefined;
}

export function badFrame(message: string, rel?: Buffer): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message, ...(rel ? { path: displayPath(rel) } : {}) });
}

export class DataReceiver {
  private readonly files = new Map<number, FileState>();
  private queued = 0;
  private waiters: (() => void)[] = [];
  /** Streams (or the gRPC path) that reported the sender used zero-copy. */
  senderZeroCopy = false;
  tcpUsed = false;
  bytesReceived = 0;

  constructor(private readonly hooks: ReceiverHooks) {}

  expect(f: ExpectedFile): void {
    if (this.files.has(f.index)) return;
    let resolveSettle!: () => void;
    const settle = new Promise<void>((r) => (resolveSettle = r));
    this.files.set(f.index, {
      f, owner: undefined, received: 0, sink: undefined, pending: [], pendingBytes: 0, written: 0,
      writing: false, failed: false, ended: false, done: false, small: false, settle, resolveSettle, onDrained: undefined,
    });
  }

  /** Files expected but not finished yet. */
  get outstanding(): number {
    let n = 0;
    for (const s of this.files.values()) if (!s.done) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Frame-level operations shared by both paths

  private start(index: number, owner: Owner): FileState {
    const s = this.files.get(index);
    if (!s) throw badFrame(`data for index ${index}, which is not in the need-list`);
    if (s.owner !== undefined || s.done) throw badFrame(`file index ${index} sent twice`, s.f.entry.rel);
    s.owner = owner;
    if (this.hooks.writeSmall && s.f.entry.size <= SMALL_FILE) {
      s.small = true;
      return s;
    }
    s.sink = this.hooks.openSink(s.f);
    s.sink.catch((err) => this.writeFailed(s, err));
    return s;
  }

  private data(s: FileState, chunk: Buffer): void {
    if (s.received + chunk.length > s.f.entry.size) {
      throw badFrame(`more bytes than the manifest size ${s.f.entry.size}`, s.f.entry.rel);
    }
    s.received += chunk.length;
    this.bytesReceived += chunk.length;
    if (s.failed) return;
    s.pending.push(chunk);
    s.pendingBytes += chunk.length;
    this.queued += chunk.length;
    if (!s.writing && !s.small) void this.pump(s);
  }

  private end(s: FileState): void {
    if (s.received !== s.f.entry.size) {
      throw badFrame(`file ended after ${s.received} of ${s.f.entry.size} bytes`, s.f.entry.rel);
    }
    s.ended = true;
    if (s.small) this.finishSmall(s);
    else if (!s.writing) void this.pump(s);
  }

  private finishSmall(s: FileState): void {
    if (s.failed || s.done) return;
    const chunks = s.pending;
    const n = s.pendingBytes;
    this.dropPending(s);
    try {
      this.hooks.writeSmall!(s.f, chunks);
    } catch (err) {
      this.writeFailed(s, err);
      return;
    }
    this.hooks.bytes?.(n);
    s.done = true;
    this.hooks.committed(s.f);
    s.resolveSettle();
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
        await sink.writev(chunks, s.written);
        s.written += n;
        this.release(n);
        this.hooks.bytes?.(n);
      }
      if (s.ended && !s.failed && !s.done) {
        await sink.commit();
        s.done = true;
        this.hooks.committed(s.f);
        s.resolveSettle();
      }
    } catch (err) {
      this.writeFailed(s, err);
    } finally {
      s.writing = false;
    }
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
    const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.IoError, message: String((err as Error)?.message ?? err) });
    void this.finishFailed(s, { path: displayPath(s.f.entry.rel), code: be.code, reason: be.message });
  }

  private dropPending(s: FileState): void {
    this.release(s.pendingBytes);
    s.pending = [];
    s.pendingBytes = 0;
  }

  private async finishFailed(s: FileState, failure: Failure): Promise<void> {
    if (s.done) return;
    s.done = true;
    if (s.sink) await s.sink.then((k) => k.abort(), () => undefined);
    this.hooks.failed(s.f, failure);
    s.resolveSettle();
  }

  /** Abort an open file whose stream broke; its temp file goes away. */
  private async abortFile(s: FileState, reason: BlitError): Promise<void> {
    s.failed = true;
    this.dropPending(s);
    await this.finishFailed(s, { path: displayPath(s.f.entry.rel), code: reason.code, reason: reason.message });
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
    const carried: FileState[] = [];
    let open: FileState | undefined;
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const fail = (err: BlitError): void => {
        if (finished) return;
        finished = true;
        socket.destroy();
        const o = open;
        open = undefined;
        void (o && !o.done ? this.abortFile(o, err) : Promise.resolve()).then(() => reject(err));
      };
      const decoder = new FrameDecoder({
        fileStart: (index) => {
          if (open) throw badFrame(`FILE_START for index ${index} while index ${open.f.index} is open`);
          open = this.start(index, streamId);
          carried.push(open);
        },
        data: (index, chunk) => {
          if (!open || open.f.index !== index) throw badFrame(`DATA for index ${index}, which is not the open file`);
          this.data(open, chunk);
        },
        fileEnd: (index) => {
          if (!open || open.f.index !== index) throw badFrame(`FILE_END for index ${index}, which is not the open file`);
          this.end(open);
          open = undefined;
        },
        fileError: (index, code, reason) => {
          if (!open || open.f.index !== index) throw badFrame(`FILE_ERROR for index ${index}, which is not the open file`);
          this.senderError(open, code, reason);
          open = undefined;
        },
        streamEnd: (flags) => {
          if (open) throw badFrame(`STREAM_END while index ${open.f.index} is open`);
          if (flags & STREAM_FLAG_ZERO_COPY) this.senderZeroCopy = true;
        },
      });
      const onChunk = (chunk: Buffer): void => {
        if (finished) return;
        try {
          decoder.push(chunk);
        } catch (err) {
          fail(err instanceof BlitError ? err : badFrame(String(err)));
          return;
        }
        if (decoder.streamEnded) {
          finished = true;
          socket.off('data', onChunk);
          socket.end();
          void Promise.all(carried.map((s) => s.settle)).then(() => resolve());
          return;
        }
        if (this.queued > HIGH_WATER) {
          socket.pause();
          void this.drained().then(() => {
            if (!finished) socket.resume();
          });
        }
      };
      socket.on('data', onChunk);
      socket.on('error', (err) => fail(new BlitError({ code: ErrorCodes.IoError, message: `data stream ${streamId}: ${err.message}` })));
      socket.on('close', () => fail(new BlitError({ code: ErrorCodes.IoError, message: `data stream ${streamId} closed before its end` })));
      if (rest.length > 0) onChunk(rest);
      socket.resume();
    });
  }

  // -------------------------------------------------------------------------------------------
  // gRPC path

  /**
   * One FileData message. Chunks of a file arrive in order; `last` closes it. Resolve before
   * reading the next message (backpressure). Throws BadFrame like the TCP path.
   */
  async grpcData(m: { index: number; offset: number; data: Buffer; last: boolean }): Promise<void> {
    let s = this.files.get(m.index);
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
    const s = this.files.get(index);
    if (!s || s.done) return;
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
      [...this.files.values()]
        .filter((s) => s.owner === 'grpc' && !s.ended && !s.done)
        .map((s) => this.abortFile(s, new BlitError({ code: ErrorCodes.IoError, message: 'the sender stopped sending this file (unreadable or changed at the source)' }))),
    );
    await Promise.all([...this.files.values()].filter((s) => s.owner !== undefined).map((s) => s.settle));
    for (const s of this.files.values()) {
      if (!s.done) {
        s.done = true;
        this.hooks.failed(s.f, { path: displayPath(s.f.entry.rel), code: ErrorCodes.IoError, reason: 'the sender never sent this file' });
        s.resolveSettle();
      }
    }
  }

  /** Abort every temp file (transfer failed or cancelled). */
  async abortAll(reason: BlitError): Promise<void> {
    const open = [...this.files.values()].filter((s) => !s.done);
    await Promise.all(open.map((s) => this.abortFile(s, reason)));
  }
}
