/**
 * Worker thread that owns the sending side of one TCP data stream once it is established: frame
 * headers with write(2), file payloads with sendfile(2) straight from the page cache to the socket
 * (zero-copy), small files read and written in one go. Blocking syscalls are fine here: this
 * thread does nothing else. The socket is non-blocking (libuv made it so): on EAGAIN the thread
 * sleeps briefly and retries, which only happens while the receiver is slower than the sender.
 *
 * Messages in:  {type:'files', recs, count, sent?} ... {type:'end'} | {exit: true}: a batch of files as
 *               blit_read_batch's records (small-reader.ts packJobs: index, size, ns mtime, path;
 *               one buffer, copied (not transferred: stream-worker.ts pump), no object per file); `sent`: the main thread
 *               already wrote FILE_START and that many payload bytes of the batch's first file
 *               while this thread was starting; the worker continues from there
 * Messages out: {type:'ready'} first (the main thread sends on the socket until then),
 *               {type:'results', n, bytes, failed} (one per batch in, and before each big file:
 *               the next `n` files of the batches, in order, are done; `failed` lists those of
 *               them that were not sent, [{index, ok: false, code, reason}]; `bytes`: payload
 *               bytes not reported by a progress message yet), {type:'progress', bytes},
 *               {type:'finished', zeroCopy} | {type:'broken', message}
 * Batches keep the cross-thread messages per small file low (one each way per batch, not per file).
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as native from '@blit/native';
import { FrameType, MAX_DATA_PAYLOAD, fileErrorFrame, frameHeader, streamEndFrame } from './dataplane';
import { jobAt, smallReader } from './small-reader';
import { SourceChanged, checkUnchanged, readAllChecked, readFailure } from './source-check';
import { isExitRequest, type ExitRequest } from '../engine/worker-exit';

export interface SendfileWorkerData {
  fd: number;
  /**
   * Int32 cell 0 set to 1: stop (stream-worker.ts finish on an error or cancel). Checked while
   * the socket is full and before each payload chunk, so a stream whose peer stopped reading, or
   * a long file, ends within one poll (100 ms) or one chunk: the main thread closes the socket
   * only after this thread has exited (the descriptor number must not be reused under it).
   */
  stop?: SharedArrayBuffer;
}

export interface FileJob {
  index: number;
  abs: Buffer;
  size: number;
  mtimeNs: bigint;
  /** Payload bytes of this file the main thread already sent (after its FILE_START). */
  sent?: number;
}
export type ToWorker = { type: 'files'; recs: Uint8Array; count: number; sent?: number } | { type: 'end' } | ExitRequest;
/** A file not sent; `framed`: its FILE_START and a FILE_ERROR went on the stream. */
export type FileResult = { index: number; ok: false; code: string; reason: string; framed?: boolean };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'results'; n: number; bytes: number; failed: FileResult[] }
  | { type: 'progress'; bytes: number }
  | { type: 'finished'; zeroCopy: boolean }
  | { type: 'broken'; message: string };

/** Below this a file is read and written with its frames in one write (fewer syscalls). */
const SMALL = 256 * 1024;
const PROGRESS_EVERY = 16 * 1024 * 1024;
/** Small files' frames are written together once this many bytes are gathered. */
const COALESCE = 256 * 1024;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Zeros for padFrame, allocated on the first failure that needs them (1 MiB per thread otherwise). */
let zeros: Buffer | undefined;

class Broken extends Error {}

let stopCell: Int32Array | undefined;
function checkStop(): void {
  if (stopCell && Atomics.load(stopCell, 0) === 1) throw new Broken('data stream stopped');
}

/**
 * The socket is full: wait until it can take more. poll(2) sleeps exactly until the receiver
 * drained some (before: 0.2 ms sleeps, 5000 wake-ups a second while a slow receiver caught up,
 * 90% of this thread's profile); without the native bindings, the short sleep.
 */
function waitWritable(sock: number): void {
  checkStop();
  if (native.nativeAvailable) native.poll(sock, native.POLLOUT, 100);
  else Atomics.wait(sleepCell, 0, 0, 0.2);
}

function isAgain(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
      // A short write: the socket is full, the next write would fail with EAGAIN (an exception
      // built with its message and stack each time): wait until it drains first.
      if (off < buf.length) waitWritable(fd);
    } catch (err) {
      if (isAgain(err)) waitWritable(fd);
      else throw new Broken(`data stream write failed: ${(err as Error).message}`);
    }
  }
}

function run(data: SendfileWorkerData): void {
  const port = parentPort!;
  if (data.stop) stopCell = new Int32Array(data.stop);
  const sock = data.fd;
  let usedSendfile = false;
  let sendfileWorks = native.platformSupportsZeroCopy();
  let unreported = 0;
  const readSmall = smallReader();

  /** Zeros to the socket: the rest of a DATA frame its file could not supply. */
  const padFrame = (left: number): void => {
    zeros ??= Buffer.alloc(1 << 20);
    while (left > 0) {
      const k = Math.min(zeros.length, left);
      writeAll(sock, zeros.subarray(0, k));
      left -= k;
    }
  };

  const sendPayload = (file: number, size: number, from: number): void => {
    let pos = from;
    while (pos < size) {
      checkStop();
      const n = Math.min(MAX_DATA_PAYLOAD, size - pos);
      writeAll(sock, frameHeader(FrameType.Data, currentIndex, n));
      let sent = 0;
      try {
        while (sent < n) {
          if (sendfileWorks) {
            try {
              const k = native.sendfile(sock, file, pos + sent, n - sent);
              if (k === 0) throw new SourceChanged();
              sent += k;
              usedSendfile = true;
              continue;
            } catch (err) {
              if (err instanceof SourceChanged) throw err;
              if (isAgain(err)) {
                waitWritable(sock);
                continue;
              }
              if (native.isUnsupported(err)) {
                sendfileWorks = false;
                continue;
              }
              const code = (err as NodeJS.ErrnoException).code;
              if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'ENOTCONN') throw new Broken(`data stream closed: ${code}`);
              throw err;
            }
          }
          const buf = Buffer.allocUnsafe(Math.min(4 << 20, n - sent));
          const k = fs.readSync(file, buf, 0, buf.length, pos + sent);
          if (k === 0) throw new SourceChanged();
          writeAll(sock, buf.subarray(0, k));
          sent += k;
        }
      } catch (err) {
        // The DATA header promised n bytes: a source that shrank (sendfile or read at EOF) or
        // failed mid-frame must still fill the frame, or the receiver takes the FILE_ERROR and
        // every later frame as payload and the whole stream fails ("data stream closed before
        // its end"). The zeros land in the receiver's temp file, which the FILE_ERROR aborts.
        if (!(err instanceof Broken)) padFrame(n - sent);
        throw err;
      }
      pos += n;
      unreported += n;
      if (unreported >= PROGRESS_EVERY) {
        port.postMessage({ type: 'progress', bytes: unreported } satisfies FromWorker);
        unreported = 0;
      }
    }
  };

  let currentIndex = 0;
  let outgoing: Buffer[] = [];
  let outgoingBytes = 0;
  const flushOutgoing = (): void => {
    if (outgoing.length === 0) return;
    const buf = outgoing.length === 1 ? outgoing[0]! : Buffer.concat(outgoing);
    outgoing = [];
    outgoingBytes = 0;
    writeAll(sock, buf);
  };
  let doneFiles = 0;
  let doneBytes = 0;
  let failed: FileResult[] = [];
  const flushResults = (): void => {
    // A file is reported sent only once its bytes were written.
    flushOutgoing();
    if (doneFiles === 0) return;
    port.postMessage({ type: 'results', n: doneFiles, bytes: doneBytes, failed } satisfies FromWorker);
    doneFiles = 0;
    doneBytes = 0;
    failed = [];
  };

  const sendFile = (m: FileJob): void => {
    currentIndex = m.index;
    // The receiver has this file open once FILE_START went out (for a file the main thread began,
    // m.sent set, before this thread even opened it): from then on a failure needs a FILE_ERROR.
    let started = m.sent !== undefined;
    let file: number;
    try {
      file = fs.openSync(m.abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      return fail(m.index, err, started);
    }
    try {
      const check = (): void => checkUnchanged(file, m.size, m.mtimeNs);
      check();
      if (m.size <= SMALL && m.sent === undefined) {
        const body = readAllChecked(file, m.size, m.mtimeNs);
        // Small files are gathered and written together (one write(2) per ~COALESCE bytes, not
        // one per file); nothing of this file is on the wire yet, so a failure above needs no
        // FILE_ERROR.
        outgoing.push(frameHeader(FrameType.FileStart, m.index, 0));
        if (m.size > 0) outgoing.push(frameHeader(FrameType.Data, m.index, m.size), body);
        outgoing.push(frameHeader(FrameType.FileEnd, m.index, 0));
        outgoingBytes += m.size > 0 ? m.size + 3 * 17 : 2 * 17;
        if (outgoingBytes >= COALESCE) flushOutgoing();
        unreported += m.size;
      } else {
        flushOutgoing();
        started = true;
        if (m.sent === undefined) writeAll(sock, frameHeader(FrameType.FileStart, m.index, 0));
        sendPayload(file, m.size, m.sent ?? 0);
        check();
        writeAll(sock, frameHeader(FrameType.FileEnd, m.index, 0));
      }
      doneFiles++;
      doneBytes += unreported;
      unreported = 0;
    } catch (err) {
      if (err instanceof Broken) throw err;
      // FILE_ERROR closes the file the receiver has open.
      fail(m.index, err, started);
    } finally {
      fs.closeSync(file);
    }
  };

  /** A file not sent; `framed`: its FILE_START is out, so a FILE_ERROR closes it at the receiver. */
  const fail = (index: number, err: unknown, framed: boolean): void => {
    const r = readFailure(err);
    if (framed) writeAll(sock, fileErrorFrame(index, r.code, r.reason));
    doneFiles++;
    failed.push({ index, ok: false, ...r, ...(framed ? { framed } : {}) });
  };

  port.on('message', (m: ToWorker) => {
    // Asked to exit (stream-worker.ts finish): from JS between messages, never inside a native call.
    if (isExitRequest(m)) process.exit(0);
    try {
      if (m.type === 'files') {
        const recs = m.recs;
        for (let i = 0, off = 0; i < m.count; ) {
          // A run of small files: read and framed in one native call (small-reader.ts). Not a
          // file the main thread began (its FILE_START is out): sendFile continues that one.
          let j = i;
          let end = off;
          if (readSmall) {
            while (j < m.count && !(j === 0 && m.sent !== undefined) && native.readRecordSize(recs, end) <= SMALL) {
              end += native.readRecordLength(recs, end);
              j++;
            }
          }
          if (j > i) {
            const run = recs.subarray(off, end);
            const got = readSmall!(run, j - i, (k) => {
              let o = 0;
              for (let n = 0; n < k; n++) o += native.readRecordLength(run, o);
              return jobAt(run, o);
            });
            flushOutgoing();
            writeAll(sock, got.frames);
            doneFiles += j - i;
            doneBytes += got.bytes;
            if (got.failed.length > 0) failed.push(...got.failed);
            i = j;
            off = end;
            continue;
          }
          const f = jobAt(recs, off);
          if (i === 0 && m.sent !== undefined) f.sent = m.sent;
          if (f.size > SMALL) flushResults(); // a big file takes a while: report the ones before it
          sendFile(f);
          off += native.readRecordLength(recs, off);
          i++;
        }
        flushResults();
      } else {
        flushOutgoing();
        writeAll(sock, streamEndFrame(usedSendfile));
        port.postMessage({ type: 'finished', zeroCopy: usedSendfile } satisfies FromWorker);
        port.close();
      }
    } catch (err) {
      port.postMessage({ type: 'broken', message: (err as Error).message } satisfies FromWorker);
      port.close();
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (parentPort && workerData && typeof (workerData as SendfileWorkerData).fd === 'number') run(workerData as SendfileWorkerData);
