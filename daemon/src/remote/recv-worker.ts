/**
 * Worker thread that owns the receiving side of one TCP data stream once a big file starts on it
 * (recv-handover.ts decides and starts it). Why: on the main thread every socket read is a fresh
 * 64 KiB Buffer (page faults, GC) and every file write a thread-pool round trip; here one reused
 * 1 MiB buffer takes read(2) and goes straight to pwrite(2) on the temp file (measured ≈40% less
 * CPU per GiB), and the main thread stays free for the control plane and the other streams.
 *
 * The worker owns a dup(2) of the socket (closing Node's socket never hands its descriptor number
 * to this thread's reads) and a dup of each temp file it writes directly, which it closes before
 * it reports the file's end: the main thread never closes a descriptor this thread still uses.
 *
 * It trusts nothing either: its own FrameDecoder refuses malformed frames, direct writes never go
 * past the manifest size the main thread gave (BadFrame), and every file start, end and error is
 * forwarded to the main thread, which keeps the need-list and the commit/abort decisions. Small
 * files' bytes are copied into a shared arena and forwarded (the main thread's synchronous small
 * path writes them); a file that grows past DIRECT_AFTER asks the main thread for its temp fd.
 *
 * Control (SharedArrayBuffer Int32 cells, see Ctl): STOP ends the loop within POLL_MS; PAUSED (the
 * receiver's queue is above its high-water mark) and UNPROCESSED (KiB posted but not handled yet)
 * hold reading, so forwarded data stays bounded.
 */
import * as fs from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import * as native from '@blit/native';
import { BlitError, ErrorCodes } from '../engine/errors';
import { FrameDecoder } from './dataplane';

export const Ctl = { REPLY: 0, STOP: 1, PAUSED: 2, UNPROCESSED_KIB: 3 } as const;
export const CTL_CELLS = 4;

/** The file the stream has open when the worker takes over: written directly from byte 0. */
export interface DirectFile {
  index: number;
  /** dup of the temp file's descriptor; the worker closes it. */
  fd: number;
  /** Next write position (bytes already written by the main thread). */
  pos: number;
  /** Manifest size: never write beyond it. */
  size: number;
}

export interface RecvWorkerData {
  /** dup of the socket's descriptor (non-blocking); the worker closes it. */
  socketFd: number;
  /** Bytes already read from the socket after the frame that opened `first`. */
  rest: Buffer;
  first: DirectFile;
  ctl: SharedArrayBuffer;
  /** The main thread answers fd requests here (read synchronously). */
  replies: MessagePort;
  /** Move direct files' payloads with splice(2) instead of read + pwrite. */
  splice: boolean;
}

/** Main thread's answer to {type:'fd'}: a direct file, or null = keep forwarding this file. */
export type FdReply = { file: DirectFile | null };

export type RecvEvent =
  | { t: 's'; i: number }
  /** Forwarded bytes of file i: `len` bytes at `off` in the message's arena. */
  | { t: 'd'; i: number; off: number; len: number }
  | { t: 'e'; i: number }
  | { t: 'x'; i: number; code: string; reason: string }
  /** n more bytes of the direct file i were received (and written, unless 'werr' came first). */
  | { t: 'w'; i: number; n: number }
  | { t: 'werr'; i: number; code: string; message: string }
  | { t: 'z'; flags: number };

export type FromRecvWorker =
  | { type: 'events'; events: RecvEvent[]; arena: ArrayBuffer | null; kib: number }
  | { type: 'fd'; i: number }
  | { type: 'done' }
  | { type: 'broken'; code: string; message: string; index?: number };

const READ_BUF = 1024 * 1024;
const ARENA = READ_BUF;
/** A forwarded file that grows past this asks for direct writes (small files never do). */
export const DIRECT_AFTER = 1024 * 1024;
/** Post events at least this often (bytes forwarded or written): progress and bounded memory. */
const FLUSH_BYTES = 4 * 1024 * 1024;
const MAX_UNPROCESSED_KIB = 16 * 1024;
const POLL_MS = 50;

class Stopped extends Error {}

function run(d: RecvWorkerData): void {
  const port = parentPort!;
  const ctl = new Int32Array(d.ctl);
  const sock = d.socketFd;
  const buf = Buffer.allocUnsafe(READ_BUF);
  let events: RecvEvent[] = [];
  let arena: Buffer | null = null;
  let arenaUsed = 0;
  let eventBytes = 0;

  /** The open file: direct (fd >= 0) or forwarded (fd -1, `forwarded` bytes so far). */
  let open: { index: number; fd: number; pos: number; size: number; forwarded: number; unreported: number; mayDirect: boolean; failed: boolean } | undefined = {
    ...d.first, forwarded: 0, unreported: 0, mayDirect: false, failed: false,
  };

  const stopped = (): boolean => Atomics.load(ctl, Ctl.STOP) === 1;

  const flush = (): void => {
    if (open && open.unreported > 0) {
      events.push({ t: 'w', i: open.index, n: open.unreported });
      open.unreported = 0;
    }
    if (events.length === 0) return;
    const kib = Math.ceil(arenaUsed / 1024);
    const ab = arena ? (arena.buffer as ArrayBuffer) : null;
    if (kib > 0) Atomics.add(ctl, Ctl.UNPROCESSED_KIB, kib);
    port.postMessage({ type: 'events', events, arena: ab, kib } satisfies FromRecvWorker, ab ? [ab] : []);
    events = [];
    arena = null;
    arenaUsed = 0;
    eventBytes = 0;
  };

  /** Wait while the main thread is behind (forwarded data bounded) or asked to pause. */
  const holdWhileBusy = (): void => {
    for (;;) {
      if (stopped()) throw new Stopped();
      if (Atomics.load(ctl, Ctl.PAUSED) === 1) {
        Atomics.wait(ctl, Ctl.PAUSED, 1, POLL_MS);
        continue;
      }
      const backlog = Atomics.load(ctl, Ctl.UNPROCESSED_KIB);
      if (backlog >= MAX_UNPROCESSED_KIB) {
        Atomics.wait(ctl, Ctl.UNPROCESSED_KIB, backlog, POLL_MS);
        continue;
      }
      return;
    }
  };

  const closeOpenFd = (): void => {
    if (open && open.fd >= 0) {
      fs.closeSync(open.fd);
      open.fd = -1;
    }
  };

  const askDirect = (index: number): void => {
    flush();
    Atomics.store(ctl, Ctl.REPLY, 0);
    port.postMessage({ type: 'fd', i: index } satisfies FromRecvWorker);
    for (;;) {
      const m = receiveMessageOnPort(d.replies);
      if (m) {
        const f = (m.message as FdReply).file;
        if (!f) {
          open!.mayDirect = false;
          return;
        }
        if (f.pos !== open!.forwarded) {
          fs.closeSync(f.fd);
          throw new BlitError({ code: ErrorCodes.Internal, message: `data stream worker: write position ${f.pos}, expected ${open!.forwarded}` });
        }
        open!.fd = f.fd;
        open!.pos = f.pos;
        open!.size = f.size;
        return;
      }
      if (stopped()) throw new Stopped();
      Atomics.wait(ctl, Ctl.REPLY, 0, POLL_MS);
    }
  };

  /** The file fails (ENOSPC, EIO...); the stream goes on, its later bytes are counted and dropped. */
  const failWrite = (o: NonNullable<typeof open>, err: unknown): void => {
    o.failed = true;
    const e = err as NodeJS.ErrnoException;
    closeOpenFd();
    events.push({ t: 'w', i: o.index, n: o.unreported });
    o.unreported = 0;
    events.push({ t: 'werr', i: o.index, code: e.code ?? 'EIO', message: e.message });
  };

  const writeDirect = (o: NonNullable<typeof open>, piece: Buffer): void => {
    if (o.pos + piece.length > o.size) {
      throw new BlitError({ code: ErrorCodes.BadFrame, message: `more bytes than the manifest size ${o.size}` });
    }
    if (!o.failed) {
      try {
        let off = 0;
        while (off < piece.length) off += fs.writeSync(o.fd, piece, off, piece.length - off, o.pos + off);
      } catch (err) {
        failWrite(o, err);
      }
    }
    o.pos += piece.length;
    o.unreported += piece.length;
    eventBytes += piece.length;
  };

  const forward = (index: number, piece: Buffer): void => {
    if (!arena || arenaUsed + piece.length > ARENA) {
      if (arena) flush();
      arena = Buffer.allocUnsafeSlow(ARENA);
    }
    piece.copy(arena, arenaUsed);
    events.push({ t: 'd', i: index, off: arenaUsed, len: piece.length });
    arenaUsed += piece.length;
    eventBytes += piece.length;
  };

  const decoder = new FrameDecoder({
    fileStart: (index) => {
      events.push({ t: 's', i: index });
      open = { index, fd: -1, pos: 0, size: 0, forwarded: 0, unreported: 0, mayDirect: true, failed: false };
    },
    data: (index, piece) => {
      const o = open;
      if (!o || o.index !== index) {
        // The main thread names the rule that was broken; nothing more is read.
        throw new BlitError({ code: ErrorCodes.BadFrame, message: `DATA for index ${index}, which is not the open file` });
      }
      if (o.fd < 0 && !o.failed && o.mayDirect && o.forwarded + piece.length > DIRECT_AFTER) askDirect(index);
      if (o.fd >= 0 || o.failed) writeDirect(o, piece);
      else {
        forward(index, piece);
        o.forwarded += piece.length;
      }
    },
    fileEnd: (index) => {
      closeOpenFd();
      if (open && open.unreported > 0) events.push({ t: 'w', i: open.index, n: open.unreported });
      events.push({ t: 'e', i: index });
      open = undefined;
    },
    fileError: (index, code, reason) => {
      closeOpenFd();
      if (open && open.unreported > 0) events.push({ t: 'w', i: open.index, n: open.unreported });
      events.push({ t: 'x', i: index, code, reason });
      open = undefined;
    },
    streamEnd: (flags) => {
      events.push({ t: 'z', flags });
    },
  });

  /**
   * Splice mode (default; BLIT_RECV_SPLICE=0 turns it off): a direct file's payload goes socket ->
   * pipe -> file in the kernel, no copy through this thread's buffer (measured, 1 GiB alternated:
   * receiver CPU -10-25%, wall -10-15%); headers are read exactly, 17 bytes at a time. Without a
   * pipe (no native bindings) the read + pwrite path.
   */
  let pipe: [number, number] | undefined;
  let pipeSize = 64 * 1024;
  if (d.splice) {
    try {
      pipe = native.pipe2(native.O_CLOEXEC | native.O_NONBLOCK);
      try {
        pipeSize = native.fcntlSetPipeSize(pipe[1], READ_BUF);
      } catch {
        // the default 64 KiB pipe still works, with more calls
      }
    } catch {
      pipe = undefined;
    }
  }
  /** Move up to dataLeft payload bytes of the direct file from the socket to the file; false on EAGAIN. */
  const spliceData = (o: NonNullable<typeof open>): boolean => {
    const want = Math.min(decoder.dataLeft, pipeSize);
    let n: number;
    try {
      n = native.splice(sock, null, pipe![1], null, want, native.SPLICE_F_MOVE | native.SPLICE_F_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return false;
      throw new BlitError({ code: ErrorCodes.IoError, message: `data stream splice failed: ${(err as Error).message}` });
    }
    if (n === 0) throw new BlitError({ code: ErrorCodes.IoError, message: 'data stream closed before its end' });
    if (o.pos + n > o.size) throw new BlitError({ code: ErrorCodes.BadFrame, message: `more bytes than the manifest size ${o.size}` });
    let left = n;
    try {
      while (left > 0) left -= native.splice(pipe![0], null, o.fd, o.pos + (n - left), left, native.SPLICE_F_MOVE);
    } catch (err) {
      // The rest of these bytes is still in the pipe: read it out (written, or dropped when the
      // file failed). A filesystem that cannot splice (EINVAL) ends splice mode for this stream.
      const unsupported = native.isUnsupported(err);
      if (!unsupported) failWrite(o, err);
      while (left > 0) {
        const k = fs.readSync(pipe![0], buf, 0, Math.min(left, buf.length), null);
        if (unsupported) {
          let off = 0;
          try {
            while (off < k) off += fs.writeSync(o.fd, buf, off, k - off, o.pos + (n - left) + off);
          } catch (e) {
            if (!o.failed) failWrite(o, e);
          }
        }
        left -= k;
      }
      if (unsupported) {
        for (const fd of pipe!) fs.closeSync(fd);
        pipe = undefined;
      }
    }
    o.pos += n;
    o.unreported += n;
    eventBytes += n;
    decoder.skipData(n);
    return true;
  };

  try {
    // workerData arrives as a plain Uint8Array (structured clone): view it as a Buffer again.
    if (d.rest.length > 0) decoder.push(Buffer.from(d.rest.buffer, d.rest.byteOffset, d.rest.length));
    while (!decoder.streamEnded) {
      if (eventBytes >= FLUSH_BYTES) flush();
      holdWhileBusy();
      const direct = pipe !== undefined && open !== undefined && open.fd >= 0 && !open.failed ? open : undefined;
      if (direct && decoder.dataLeft > 0) {
        if (!spliceData(direct)) {
          flush();
          native.poll(sock, native.POLLIN, POLL_MS);
        }
        continue;
      }
      // With a direct file open in splice mode, read only the next header: its payload is spliced.
      const want = direct ? decoder.headerLeft || buf.length : buf.length;
      let n: number;
      try {
        n = fs.readSync(sock, buf, 0, want, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          flush(); // nothing to read now: let the main thread see what came so far
          native.poll(sock, native.POLLIN, POLL_MS);
          continue;
        }
        throw new BlitError({ code: ErrorCodes.IoError, message: `data stream read failed: ${(err as Error).message}` });
      }
      if (n === 0) throw new BlitError({ code: ErrorCodes.IoError, message: 'data stream closed before its end' });
      decoder.push(buf.subarray(0, n));
    }
    flush();
    port.postMessage({ type: 'done' } satisfies FromRecvWorker);
  } catch (err) {
    closeOpenFd();
    if (!(err instanceof Stopped)) {
      flush();
      const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: String((err as Error)?.message ?? err) });
      port.postMessage({ type: 'broken', code: be.code, message: be.message, ...(open ? { index: open.index } : {}) } satisfies FromRecvWorker);
    }
  } finally {
    closeOpenFd();
    if (pipe) for (const fd of pipe) fs.closeSync(fd);
    fs.closeSync(sock);
    d.replies.close();
  }
}

if (parentPort && workerData && typeof (workerData as RecvWorkerData).socketFd === 'number') run(workerData as RecvWorkerData);
