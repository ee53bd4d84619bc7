/**
 * The raw TCP data plane: the listener with one-time tokens, the client's connect, and the frame
 * format. Sending and receiving files on top of it: data-sender.ts and data-receiver.ts.
 *
 * Who listens: always the daemon, one listener per served transfer on ctx.bindHost and an
 * ephemeral port (or, with blitd --data-port, one shared fixed port: PinnedDataPort); the client always connects (to the host it reached the gRPC port on), so it works
 * from behind NAT toward a server. Push: the client sends frames; pull: the daemon sends frames.
 *
 * Negotiation (gRPC DataTransferNegotiation): tcp_port, streams = N, token = N × 32 random bytes
 * (crypto.randomBytes), one token per stream. A token is single-use, valid for token_ttl_ms after it
 * was issued, and bound to the first socket that presents it. A wrong, reused or late token: the
 * socket is destroyed at once (nothing is read past the hello, no file is touched) and logged.
 *
 * Hello, the first bytes on each connection (client → daemon), 41 bytes:
 *   "BLITDATA" (8) | u8 framing version (1) | token (32)
 * The daemon answers with one byte 0x01 once the token is accepted; the client sends nothing else
 * before that byte, and only then tells the control plane it uses TCP. No answer = refused.
 *
 * Frames after the hello (sender → receiver), header 17 bytes, integers big-endian:
 *   u8 type | u64 index (manifest index) | u64 length (payload bytes that follow)
 *   1 FILE_START  length 0: the file with this index starts on this stream
 *   2 DATA        1..MAX_DATA_PAYLOAD bytes: the next bytes of the open file (same index)
 *   3 FILE_END    length 0: the file is complete; the receiver checks bytes == manifest size
 *   4 FILE_ERROR  ≤ MAX_ERROR_PAYLOAD bytes of JSON {code, reason}: the sender could not read the
 *                 file (changed, unreadable); the receiver aborts its temp file and records it
 *   5 STREAM_END  length 1, flags byte (bit 0: the sender used zero-copy); nothing may follow
 * Many small files travel one after the other on one stream (a tar-like shard, no per-file round
 * trip); large transfers open several streams and spread files over them.
 * The receiver trusts nothing: unknown type, oversized length, an index that is not in its
 * need-list or not the open file, more bytes than the manifest size, or anything after STREAM_END
 * is a BadFrame: the temp file is aborted (never renamed) and the transfer stops.
 */
import * as net from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { Logger } from '../daemon/context';
import { lateCheckedTimeout } from './late-timer';
import { DEFAULT_BUSY_TIMEOUT_MS } from './busy-timeout';

export const MAGIC = Buffer.from('BLITDATA', 'latin1');
export const FRAMING_VERSION = 1;
export const TOKEN_BYTES = 32;
/** The most data streams one transfer uses (blitd's data_streams limit; a client opens no more). */
export const MAX_DATA_STREAMS = 16;
export const HELLO_BYTES = MAGIC.length + 1 + TOKEN_BYTES;
export const ACK_ACCEPTED = 0x01;
export const HEADER_BYTES = 17;
export const MAX_DATA_PAYLOAD = 16 * 1024 * 1024;
export const MAX_ERROR_PAYLOAD = 64 * 1024;
/**
 * How long a client waits for the TCP connect of a data stream before falling back to gRPC data:
 * a port that drops packets silently (a firewall's DROP) answers no SYN, and only this deadline
 * ends the wait. Apart from the wait for the accept byte (ANSWER_MARGIN_MS), because the
 * handshake is the kernel's (blitd's listen backlog): a busy or stopped blitd does not delay it
 * until its accept queue is full (Node's backlog, 511 connections not yet accepted on one port:
 * only a pinned --data-port shared by hundreds of streams while blitd is stalled). Then the
 * kernel drops the SYNs and the client falls back to gRPC after this deadline, with the warning
 * "TCP data plane unreachable (not connected within 2000 ms)": slower, nothing lost.
 * 2 s: Linux sends the first SYN again after 1 s (initial RTO, RFC 6298), so one lost SYN still
 * connects; more than that is a path that drops packets, not a busy daemon. Tested with an nft
 * DROP on loopback (dataplane-syn-drop.test.ts: the fallback warning names these 2000 ms).
 */
export const CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_TOKEN_TTL_MS = 5000;
/**
 * After its hello, a client waits for the daemon's answer until the token has surely expired at
 * the daemon (token_ttl_ms after the negotiation arrived, plus this for the accept byte's way
 * back): a daemon accepts a token only before its expiry, so once that passed without an accept
 * byte, none can come, and giving the stream up cannot leave the daemon holding a stream the
 * client dropped. It was CONNECT_TIMEOUT_MS (2 s) until 2026-11-21: a blitd busy for longer than
 * that (200 clients at once on 2 cores) accepted a stream the client had already dropped, and
 * the push failed with `data stream 0: read ECONNRESET` (DEVLOG hunt-load). Capped at
 * DEFAULT_BUSY_TIMEOUT_MS for a long TTL (dataConnectTiming).
 */
export const ANSWER_MARGIN_MS = 1000;

export const FrameType = {
  FileStart: 1,
  Data: 2,
  FileEnd: 3,
  FileError: 4,
  StreamEnd: 5,
} as const;

export const STREAM_FLAG_ZERO_COPY = 0x01;

export function frameHeader(type: number, index: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h[0] = type;
  // u64 big endian as two u32 halves (indices and lengths stay below 2^53: no BigInt per frame).
  h.writeUInt32BE(Math.floor(index / 0x100000000), 1);
  h.writeUInt32BE(index >>> 0, 5);
  h.writeUInt32BE(Math.floor(length / 0x100000000), 9);
  h.writeUInt32BE(length >>> 0, 13);
  return h;
}

export function helloFrame(token: Buffer): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([FRAMING_VERSION]), token]);
}

function badFrame(message: string): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message: `data plane: ${message}` });
}

// ---------------------------------------------------------------------------------------------
// Listener (daemon side)

export interface DataListenerOptions {
  host: string;
  streams: number;
  tokenTtlMs: number;
  log: Logger;
  /** blitd --data-port: share this fixed port (hellos dispatched by token) instead of listening. */
  pinned?: PinnedDataPort;
  /** Called once per accepted stream, after the accept byte was written. */
  onStream(socket: net.Socket, streamIndex: number, rest: Buffer): void;
}

/** Reads the 41-byte hello of a fresh connection; resolves with it (and what followed) or null. */
function readHello(socket: net.Socket, timeoutMs: number): Promise<{ hello: Buffer; rest: Buffer } | null> {
  return new Promise((resolve) => {
    let got: Buffer = Buffer.alloc(0);
    const done = (v: { hello: Buffer; rest: Buffer } | null): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    const onClose = (): void => done(null);
    const onData = (chunk: Buffer): void => {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      if (got.length >= HELLO_BYTES) done({ hello: got.subarray(0, HELLO_BYTES), rest: got.subarray(HELLO_BYTES) });
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** Magic and framing version of a hello; undefined when fine. */
function helloHeaderProblem(hello: Buffer): string | undefined {
  if (!hello.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a blit data connection (bad magic)';
  if (hello[MAGIC.length] !== FRAMING_VERSION) return `framing version ${hello[MAGIC.length]} not supported`;
  return undefined;
}

export class DataListener {
  readonly port: number;
  /** N × TOKEN_BYTES: what goes into DataTransferNegotiation.token. */
  readonly tokens: Buffer;
  readonly tokenTtlMs: number;
  private readonly used: boolean[];
  readonly expiresAt: number;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly server: net.Server | undefined,
    port: number,
    tokens: Buffer,
    private readonly opts: DataListenerOptions,
  ) {
    this.port = port;
    this.tokens = tokens;
    this.tokenTtlMs = opts.tokenTtlMs;
    this.used = new Array<boolean>(opts.streams).fill(false);
    this.expiresAt = Date.now() + opts.tokenTtlMs;
  }

  static open(opts: DataListenerOptions): Promise<DataListener> {
    const tokens = randomBytes(TOKEN_BYTES * opts.streams);
    if (opts.pinned) {
      const l = new DataListener(undefined, opts.pinned.port, tokens, opts);
      opts.pinned.register(l);
      return Promise.resolve(l);
    }
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true });
      let listener: DataListener | undefined;
      server.on('connection', (s) => void listener?.onConnection(s));
      server.once('error', (err) => {
        if (!listener) reject(new BlitError({ code: ErrorCodes.DataPlaneUnavailable, message: `data plane listen on ${opts.host}: ${err.message}`, cause: err }));
        else opts.log.warn('data plane listener error', { error: err.message });
      });
      server.listen({ host: opts.host, port: 0 }, () => {
        const addr = server.address() as net.AddressInfo;
        listener = new DataListener(server, addr.port, tokens, opts);
        resolve(listener);
      });
    });
  }

  /** Number of streams whose token was accepted so far. */
  get acceptedStreams(): number {
    return this.used.filter((u) => u).length;
  }

  private async onConnection(socket: net.Socket): Promise<void> {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => undefined);
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.track(socket);
    const remaining = this.expiresAt - Date.now();
    if (remaining <= 0) {
      this.opts.log.warn('data plane: connection after the token expired, closed', { peer });
      socket.destroy();
      return;
    }
    const h = await readHello(socket, remaining);
    if (!h) {
      this.opts.log.warn('data plane: no valid hello before the token expired, closed', { peer });
      socket.destroy();
      return;
    }
    const verdict = helloHeaderProblem(h.hello) ?? this.claim(h.hello.subarray(MAGIC.length + 1)) ?? 'wrong token';
    if (typeof verdict === 'string') {
      this.opts.log.warn(`data plane: ${verdict}, connection closed`, { peer });
      socket.destroy();
      return;
    }
    this.accept(socket, verdict, h.rest);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * A presented token: its stream index, why it is refused (expired, used), or undefined when it
   * is not one of this transfer's tokens.
   */
  claim(presented: Buffer): number | string | undefined {
    if (this.closed) return undefined;
    for (let i = 0; i < this.used.length; i++) {
      const t = this.tokens.subarray(i * TOKEN_BYTES, (i + 1) * TOKEN_BYTES);
      if (timingSafeEqual(t, presented)) {
        if (Date.now() > this.expiresAt) return 'token expired';
        if (this.used[i]) return 'token already used';
        this.used[i] = true;
        return i;
      }
    }
    return undefined;
  }

  /** The token was valid: answer the accept byte and hand the stream over. */
  accept(socket: net.Socket, index: number, rest: Buffer): void {
    if (!this.sockets.has(socket)) this.track(socket);
    socket.write(Buffer.from([ACK_ACCEPTED]));
    this.opts.onStream(socket, index, rest);
  }

  /** Stop accepting and destroy every connection (accepted streams included). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.server) this.server.close();
    else this.opts.pinned?.unregister(this);
    for (const s of this.sockets) s.destroy();
  }
}

/**
 * blitd --data-port: one listener on a fixed port for every transfer (firewalls). Each transfer
 * registers its DataListener; a connection's hello is matched against the registered tokens and
 * handed to the transfer that issued it. A hello no transfer claims is closed, as on a private
 * port.
 */
export class PinnedDataPort {
  private readonly listeners = new Set<DataListener>();
  private readonly pending = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number, private readonly log: Logger) {}

  static listen(host: string, port: number, log: Logger): Promise<PinnedDataPort> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true });
      let pinned: PinnedDataPort | undefined;
      server.on('connection', (s) => void pinned?.onConnection(s));
      server.once('error', (err) => {
        if (!pinned) reject(new BlitError({ code: ErrorCodes.DataPlaneUnavailable, message: `data plane listen on ${host}:${port}: ${err.message}`, cause: err }));
        else log.warn('data plane listener error', { error: err.message });
      });
      server.listen({ host, port }, () => {
        pinned = new PinnedDataPort(server, (server.address() as net.AddressInfo).port, log);
        resolve(pinned);
      });
    });
  }

  register(l: DataListener): void {
    this.listeners.add(l);
  }

  unregister(l: DataListener): void {
    this.listeners.delete(l);
  }

  private async onConnection(socket: net.Socket): Promise<void> {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => undefined);
    // A hello must come within the longest lifetime any waiting transfer's tokens still have.
    const remaining = Math.max(0, ...[...this.listeners].map((l) => l.expiresAt - Date.now()));
    if (remaining <= 0) {
      this.log.warn('data plane: connection with no transfer waiting, closed', { peer });
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    const h = await readHello(socket, remaining);
    this.pending.delete(socket);
    if (!h) {
      this.log.warn('data plane: no valid hello before the tokens expired, closed', { peer });
      socket.destroy();
      return;
    }
    let verdict: number | string | undefined = helloHeaderProblem(h.hello);
    let owner: DataListener | undefined;
    if (verdict === undefined) {
      const presented = h.hello.subarray(MAGIC.length + 1);
      for (const l of this.listeners) {
        verdict = l.claim(presented);
        if (verdict !== undefined) {
          owner = l;
          break;
        }
      }
    }
    if (typeof verdict !== 'number' || !owner) {
      this.log.warn(`data plane: ${verdict ?? 'wrong token'}, connection closed`, { peer });
      socket.destroy();
      return;
    }
    owner.accept(socket, verdict, h.rest);
  }

  close(): void {
    this.server.close();
    for (const s of this.pending) s.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Connect (client side)

export interface DataConnectTiming {
  /** The TCP connect must complete within this (a port that drops packets). */
  connectMs: number;
  /** The accept byte (or the daemon's close) must come within this, counted from the start. */
  answerMs: number;
}

/**
 * How long to wait for a stream offered with tokens valid for `tokenTtlMs` (0: not said): the
 * token's life and ANSWER_MARGIN_MS, but never more than DEFAULT_BUSY_TIMEOUT_MS (the wait for a
 * busy blitd's gRPC answer): with a configured TTL of up to 600 s, a middlebox that drops the data
 * port's packets after the connect held the gRPC fallback back for up to 10 min. The cap is safe:
 * on a push blitd drops an accepted stream the client closed before its first byte
 * (data-receiver.ts droppedUnused); on a pull the client names the streams it kept in its first
 * need (proto StreamsKept) and blitd sends on those only.
 */
export function dataConnectTiming(tokenTtlMs: number): DataConnectTiming {
  const ttl = tokenTtlMs > 0 ? Math.min(tokenTtlMs, 600_000) : DEFAULT_TOKEN_TTL_MS;
  return { connectMs: CONNECT_TIMEOUT_MS, answerMs: Math.max(CONNECT_TIMEOUT_MS, Math.min(ttl + ANSWER_MARGIN_MS, DEFAULT_BUSY_TIMEOUT_MS)) };
}

/**
 * Connect, present the token, wait for the accept byte. DataPlaneUnavailable on any failure: a
 * connect not done within timing.connectMs, a close (the daemon refused the token), no answer
 * within timing.answerMs (see ANSWER_MARGIN_MS).
 */
export function connectDataStream(host: string, port: number, token: Buffer, timing: DataConnectTiming = dataConnectTiming(0)): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    let done = false;
    let connected = false;
    const fail = (why: string, cause?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      clearTimeout(answerTimer);
      socket.destroy();
      reject(new BlitError({ code: ErrorCodes.DataPlaneUnavailable, message: `data plane ${host}:${port}: ${why}`, cause }));
    };
    const connectTimer = lateCheckedTimeout(timing.connectMs, () => done || connected, () => fail(`not connected within ${timing.connectMs} ms`));
    const answerTimer = lateCheckedTimeout(timing.answerMs, () => done, () => fail(`no answer to the hello within ${timing.answerMs} ms`));
    socket.once('error', (err) => fail(err.message, err));
    socket.once('close', () => fail('connection closed by the daemon (token refused?)'));
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      socket.write(helloFrame(token));
    });
    socket.once('data', (b: Buffer) => {
      if (done) return;
      if (b[0] !== ACK_ACCEPTED || b.length !== 1) return fail('unexpected answer to the hello');
      done = true;
      clearTimeout(answerTimer);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.pause();
      resolve(socket);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Reading into one reused buffer (receiver side)

/**
 * From now on, deliver what this socket reads to `onRead` as a view of one reused buffer
 * (`buffer`), valid only until `onRead` returns: the caller copies what it keeps. Node's own
 * reads allocate a fresh buffer per read (64 KiB, or a copy of its used part), so a 100k-file
 * pull faulted in ~0.5 GB of fresh pages on the receiving main thread and fed the GC's external
 * memory pressure. This is Node's `onread` option of net.connect, which an accepted socket (push:
 * blitd receives) cannot be given; both sides set it here the way Node sets it for that option
 * (the socket's kBuffer/kBufferCb slots and the handle's useUserBuffer), so pause()/resume()
 * stop and start reading as before, and EOF/errors still end the socket ('end', 'close').
 * Returns the chunks Node had already read but not delivered (owned buffers, deliver them
 * first), or undefined when this Node does not have those slots: then nothing changed and the
 * caller reads with 'data' events.
 */
export function readIntoReusedBuffer(socket: net.Socket, buffer: Buffer, onRead: (chunk: Buffer) => void): Buffer[] | undefined {
  const sock = socket as unknown as Record<symbol, unknown>;
  const slot = (name: string): symbol | undefined => Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
  const kBuffer = slot('kBuffer');
  const kBufferCb = slot('kBufferCb');
  const kBufferGen = slot('kBufferGen');
  const h = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } | null })._handle;
  if (!kBuffer || !kBufferCb || !kBufferGen || sock[kBuffer] !== null || sock[kBufferGen] !== null || typeof h?.useUserBuffer !== 'function') return undefined;
  if (socket.listenerCount('data') > 0) return undefined;
  const buffered: Buffer[] = [];
  for (let b = socket.read() as Buffer | null; b !== null; b = socket.read() as Buffer | null) buffered.push(b);
  sock[kBuffer] = buffer;
  sock[kBufferCb] = (nread: number): boolean => {
    onRead(buffer.subarray(0, nread));
    return true;
  };
  h.useUserBuffer(buffer);
  return buffered;
}

// ---------------------------------------------------------------------------------------------
// Decoding (receiver side)

export interface FrameHandler {
  fileStart(index: number): void;
  /** A piece of a DATA payload (a frame may arrive in several pieces). */
  data(index: number, chunk: Buffer): void;
  fileEnd(index: number): void;
  fileError(index: number, code: string, reason: string): void;
  streamEnd(flags: number): void;
}

const EMPTY = Buffer.alloc(0);

/** Incremental frame parser. push() throws BadFrame on anything the format does not allow. */
export class FrameDecoder {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** Current frame while its payload is being read. */
  private type = 0;
  private index = 0;
  private remaining = 0;
  private small: Buffer[] = [];
  private ended = false;
  private detached = false;

  constructor(private readonly handler: FrameHandler) {}

  get streamEnded(): boolean {
    return this.ended;
  }

  /**
   * Called from a handler: stop decoding after the current frame. push() then returns the bytes
   * of its chunk it did not decode (they start at a frame boundary). Used to hand the rest of a
   * stream to a worker thread with its own decoder; when that cannot be done, pushing the rest
   * back into this decoder continues where it stopped.
   */
  detach(): void {
    this.detached = true;
  }

  /** Bytes of the current DATA payload not decoded yet (0 outside a DATA payload). */
  get dataLeft(): number {
    return this.type === FrameType.Data && this.headerFill === HEADER_BYTES ? this.remaining : 0;
  }

  /** Bytes missing to complete the next frame header (0 inside a payload). */
  get headerLeft(): number {
    return this.remaining === 0 ? HEADER_BYTES - this.headerFill : 0;
  }

  /**
   * n bytes of the current DATA payload were moved by the caller without passing through push()
   * (splice from the socket straight to the file); at most dataLeft.
   */
  skipData(n: number): void {
    if (n <= 0 || n > this.dataLeft) throw badFrame(`internal: skipped ${n} of ${this.dataLeft} payload bytes`);
    this.remaining -= n;
    if (this.remaining === 0) this.finishFrame();
  }

  /** Decode a chunk; returns the undecoded rest when a handler called detach(). */
  push(chunk: Buffer): Buffer | undefined {
    let off = 0;
    while (off < chunk.length) {
      if (this.detached) {
        this.detached = false;
        return chunk.subarray(off);
      }
      if (this.ended) throw badFrame('bytes after STREAM_END');
      if (this.remaining === 0 && this.headerFill < HEADER_BYTES) {
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill === HEADER_BYTES) this.startFrame();
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - off);
      const piece = chunk.subarray(off, off + n);
      off += n;
      this.remaining -= n;
      if (this.type === FrameType.Data) this.handler.data(this.index, piece);
      // A copy: the chunk may be a reused read buffer (readIntoReusedBuffer) overwritten by the
      // next read, and a FILE_ERROR payload can span reads (rare, at most MAX_ERROR_PAYLOAD).
      else this.small.push(Buffer.from(piece));
      if (this.remaining === 0) this.finishFrame();
    }
    if (!this.detached) return undefined;
    this.detached = false;
    return Buffer.alloc(0);
  }

  private startFrame(): void {
    // Three frames per small file: the u64 fields are read as two u32 halves (no BigInt; the
    // BigInt reads were a visible part of a 100k-file receive), BigInt only for an error's text.
    const h = this.header;
    const type = h[0]!;
    const indexHi = h.readUInt32BE(1);
    const lengthHi = h.readUInt32BE(9);
    const lengthLo = h.readUInt32BE(13);
    if (indexHi > 0x1fffff) throw badFrame(`index ${h.readBigUInt64BE(1)} out of range`);
    this.type = type;
    this.index = indexHi * 0x100000000 + h.readUInt32BE(5);
    const limit = type === FrameType.Data ? MAX_DATA_PAYLOAD : type === FrameType.FileError ? MAX_ERROR_PAYLOAD : type === FrameType.StreamEnd ? 1 : 0;
    if (type < FrameType.FileStart || type > FrameType.StreamEnd) throw badFrame(`unknown frame type ${type}`);
    if (lengthHi !== 0 || lengthLo > limit) throw badFrame(`frame of type ${type} with length ${h.readBigUInt64BE(9)} (limit ${limit})`);
    if (type === FrameType.Data && lengthLo === 0) throw badFrame('empty DATA frame');
    if (type === FrameType.StreamEnd && lengthLo !== 1) throw badFrame('STREAM_END without its flags byte');
    this.remaining = lengthLo;
    if (this.small.length > 0) this.small = [];
    if (this.remaining === 0) this.finishFrame();
  }

  private finishFrame(): void {
    this.headerFill = 0;
    // Only FILE_ERROR and STREAM_END have a payload here (DATA goes to the handler as it comes).
    const payload = this.small.length === 0 ? EMPTY : this.small.length === 1 ? this.small[0]! : Buffer.concat(this.small);
    if (this.small.length > 0) this.small = [];
    switch (this.type) {
      case FrameType.FileStart:
        this.handler.fileStart(this.index);
        break;
      case FrameType.Data:
        break;
      case FrameType.FileEnd:
        this.handler.fileEnd(this.index);
        break;
      case FrameType.FileError: {
        let code: string = ErrorCodes.IoError;
        let reason = 'the sender could not read the file';
        try {
          const j = JSON.parse(payload.toString('utf8')) as { code?: unknown; reason?: unknown };
          if (typeof j.code === 'string') code = j.code;
          if (typeof j.reason === 'string') reason = j.reason;
        } catch {
          throw badFrame('FILE_ERROR payload is not JSON');
        }
        this.handler.fileError(this.index, code, reason);
        break;
      }
      case FrameType.StreamEnd:
        this.ended = true;
        this.handler.streamEnd(payload[0]!);
        break;
    }
  }
}

export function fileErrorFrame(index: number, code: string, reason: string): Buffer {
  // Reason capped well below MAX_ERROR_PAYLOAD even after UTF-8 and JSON escaping.
  const payload = Buffer.from(JSON.stringify({ code: code.slice(0, 64), reason: reason.slice(0, 4096) }), 'utf8');
  return Buffer.concat([frameHeader(FrameType.FileError, index, payload.length), payload]);
}

export function streamEndFrame(zeroCopy: boolean): Buffer {
  return Buffer.concat([frameHeader(FrameType.StreamEnd, 0, 1), Buffer.from([zeroCopy ? STREAM_FLAG_ZERO_COPY : 0])]);
}
