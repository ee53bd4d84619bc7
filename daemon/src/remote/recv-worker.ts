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
import { FrameDecoder, HEADER_BYTES } from './dataplane';
import { reserveTempNames } from '../engine/atomic';
import { makeDir, openDirBeneath, RecordKind, runSmallBatch, SmallBatchBuilder, type SmallWorkerInit } from './small-file-batch';
import { isExitRequest, type ExitRequest } from '../engine/worker-exit';

export const Ctl = { REPLY: 0, STOP: 1, PAUSED: 2, UNPROCESSED_KIB: 3 } as const;

/**
 * Expected small files a stream's worker writes itself (DataReceiver.expect packs them, posted to
 * every such worker before the need-list goes to the sender): EXP Float64 fields per file, its
 * directory, name and (when its directory is new) mkdir base and path in `bytes`. `claims`: the
 * claim cells (Int32, one per slot, 0 = free, 1 = started by a thread) added since the last pack;
 * a file is written by whichever thread claims its slot first, every other start is "sent twice".
 */
export interface SmallExpects {
  count: number;
  meta: Float64Array;
  bytes: Uint8Array;
  claims: { k: number; sab: SharedArrayBuffer }[];
}
/** Fields of one expected file in SmallExpects.meta (MTIME is an int64 of ns). */
export const EXP = 14;
const X = { INDEX: 0, SLOT: 1, SIZE: 2, MODE: 3, UID: 4, GID: 5, MTIME: 6, KIND: 7, MKKIND: 8, OFF: 9, DIRLEN: 10, NAMELEN: 11, MKBASELEN: 12, RELLEN: 13 } as const;
/** Files per pack; claim cells per SharedArrayBuffer. */
export const EXPECT_PACK = 512;
export const CLAIM_CHUNK = 65536;

/** Builds the packs (main thread). */
export class ExpectPacker {
  count = 0;
  private used = 0;
  private meta = new Float64Array(EXPECT_PACK * EXP);
  private m64 = new BigInt64Array(this.meta.buffer);
  private bytes = Buffer.allocUnsafe(64 * 1024);
  private claims: SmallExpects['claims'] = [];
  private readonly chunks: Int32Array[] = [];

  /** The claim cell of `slot` (made on first use; its buffer goes out with the next pack). */
  cell(slot: number): { cells: Int32Array; at: number } {
    const k = Math.floor(slot / CLAIM_CHUNK);
    let c = this.chunks[k];
    if (!c) {
      const sab = new SharedArrayBuffer(CLAIM_CHUNK * 4);
      c = this.chunks[k] = new Int32Array(sab);
      this.claims.push({ k, sab });
    }
    return { cells: c, at: slot % CLAIM_CHUNK };
  }

  add(index: number, slot: number, e: { size: number; mode: number; uid: number; gid: number; mtimeNs: bigint }, dir: Buffer, name: Buffer, kind: RecordKind, mk: { base: Buffer; rel: Buffer; kind: RecordKind } | undefined): void {
    this.cell(slot);
    const need = dir.length + name.length + (mk ? mk.base.length + mk.rel.length : 0);
    if (this.used + need > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + need));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    const m = this.meta;
    const r = this.count * EXP;
    m[r + X.INDEX] = index;
    m[r + X.SLOT] = slot;
    m[r + X.SIZE] = e.size;
    m[r + X.MODE] = e.mode;
    m[r + X.UID] = e.uid;
    m[r + X.GID] = e.gid;
    this.m64[r + X.MTIME] = e.mtimeNs;
    m[r + X.KIND] = kind;
    m[r + X.MKKIND] = mk ? mk.kind : -1;
    m[r + X.OFF] = this.used;
    m[r + X.DIRLEN] = dir.length;
    m[r + X.NAMELEN] = name.length;
    m[r + X.MKBASELEN] = mk ? mk.base.length : 0;
    m[r + X.RELLEN] = mk ? mk.rel.length : 0;
    let o = this.used;
    o += dir.copy(this.bytes, o);
    o += name.copy(this.bytes, o);
    if (mk) {
      o += mk.base.copy(this.bytes, o);
      o += mk.rel.copy(this.bytes, o);
    }
    this.used = o;
    this.count++;
  }

  get full(): boolean {
    return this.count >= EXPECT_PACK;
  }

  /** The pack so far (empty afterwards). */
  take(): SmallExpects {
    // In shared memory: posted to every stream worker, a pack is then shared, not cloned per worker
    // (nobody writes to it after this).
    const meta = new Float64Array(new SharedArrayBuffer(this.count * EXP * 8));
    meta.set(this.meta.subarray(0, this.count * EXP));
    const bytes = new Uint8Array(new SharedArrayBuffer(this.used));
    bytes.set(this.bytes.subarray(0, this.used));
    const p: SmallExpects = { count: this.count, meta, bytes, claims: this.claims };
    this.count = 0;
    this.used = 0;
    this.claims = [];
    return p;
  }
}

/** The worker's table of expected small files (every pack so far, looked up by manifest index). */
class Expectations {
  private readonly packs: { meta: Float64Array; m64: BigInt64Array; bytes: Buffer }[] = [];
  /** Manifest index -> pack * EXPECT_PACK + row, -1 when not expected here (a typed table, not a Map: every worker adds every file). */
  private where = new Int32Array(4096).fill(-1);
  readonly cells: Int32Array[] = [];
  /** The same files as blit_recv_small rows (see NativeRows), when the worker scans natively. */
  constructor(readonly rows?: NativeRows) {}

  add(p: SmallExpects): void {
    for (const c of p.claims) this.cells[c.k] = new Int32Array(c.sab);
    const n = this.packs.length;
    const meta = p.meta;
    const m64 = new BigInt64Array(meta.buffer, meta.byteOffset, meta.length);
    const bytes = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length);
    this.packs.push({ meta, m64, bytes });
    for (let r = 0; r < p.count; r++) {
      const index = meta[r * EXP + X.INDEX]!;
      if (index >= this.where.length) {
        const grown = new Int32Array(Math.max(index + 1, this.where.length * 2)).fill(-1);
        grown.set(this.where);
        this.where = grown;
      }
      this.where[index] = n * EXPECT_PACK + r;
    }
    if (this.rows) this.rows.add(p.count, meta, m64, bytes);
  }

  has(index: number): boolean {
    return index >= 0 && index < this.where.length && this.where[index]! >= 0;
  }

  /** Claim file `index` for this thread: its record, or null when another start took it first. */
  claim(index: number): ExpectedSmall | null | undefined {
    const w = index >= 0 && index < this.where.length ? this.where[index]! : -1;
    if (w < 0) return undefined;
    const p = this.packs[Math.floor(w / EXPECT_PACK)]!;
    const r = (w % EXPECT_PACK) * EXP;
    const m = p.meta;
    const slot = m[r + X.SLOT]!;
    const cells = this.cells[Math.floor(slot / CLAIM_CHUNK)]!;
    if (Atomics.compareExchange(cells, slot % CLAIM_CHUNK, 0, 1) !== 0) return null;
    let o = m[r + X.OFF]!;
    const view = (n: number): Buffer => {
      const b = p.bytes.subarray(o, o + n);
      o += n;
      return b;
    };
    const dir = view(m[r + X.DIRLEN]!);
    const name = view(m[r + X.NAMELEN]!);
    const mkKind = m[r + X.MKKIND]!;
    const mkBase = view(m[r + X.MKBASELEN]!);
    const mkRel = view(m[r + X.RELLEN]!);
    return {
      index,
      size: m[r + X.SIZE]!,
      meta: { mode: m[r + X.MODE]!, uid: m[r + X.UID]!, gid: m[r + X.GID]!, mtimeNs: p.m64[r + X.MTIME]! },
      dir,
      name,
      kind: m[r + X.KIND]! as RecordKind,
      mkdir: mkKind >= 0 ? { base: mkBase, rel: mkRel, kind: mkKind as RecordKind } : undefined,
    };
  }
}

/**
 * The expected files as blit_recv_small reads them: rowOf[index] = row, one RECV_ROW-byte row per
 * file (size, ns mtime, mode, uid, gid, claim slot, dir id, name at nameOff), the names, and one
 * directory per distinct (directory, kind), opened on first use (dirFds: -1 = not yet).
 */
class NativeRows {
  rowOf = new Int32Array(4096).fill(-1);
  count = 0;
  private ab = new ArrayBuffer(4096 * native.RECV_ROW);
  rows = new Uint8Array(this.ab);
  private i32 = new Int32Array(this.ab);
  private i64 = new BigInt64Array(this.ab);
  names = Buffer.allocUnsafe(256 * 1024);
  namesLen = 0;
  dirFds = new Int32Array(256).fill(-1);
  readonly dirs: { dir: Buffer; kind: RecordKind; mk?: { base: Buffer; rel: Buffer; kind: RecordKind }; err?: { code: string; message: string } }[] = [];
  private readonly dirIds = new Map<string, number>();
  private lastDir: Buffer | undefined;
  private lastKind = -1;
  private lastId = -1;

  add(n: number, meta: Float64Array, m64: BigInt64Array, bytes: Buffer): void {
    const W = native.RECV_ROW / 4;
    for (let r = 0; r < n; r++) {
      const b = r * EXP;
      const index = meta[b + X.INDEX]!;
      if (index >= this.rowOf.length) {
        const grown = new Int32Array(Math.max(index + 1, this.rowOf.length * 2)).fill(-1);
        grown.set(this.rowOf);
        this.rowOf = grown;
      }
      if (this.count * native.RECV_ROW >= this.ab.byteLength) {
        const ab = new ArrayBuffer(this.ab.byteLength * 2);
        new Uint8Array(ab).set(this.rows);
        this.ab = ab;
        this.rows = new Uint8Array(ab);
        this.i32 = new Int32Array(ab);
        this.i64 = new BigInt64Array(ab);
      }
      let o = meta[b + X.OFF]!;
      const dirLen = meta[b + X.DIRLEN]!;
      const nameLen = meta[b + X.NAMELEN]!;
      const dir = bytes.subarray(o, o + dirLen);
      o += dirLen;
      const kind = meta[b + X.KIND]! as RecordKind;
      let id = this.lastId;
      if (kind !== this.lastKind || !this.lastDir || !this.lastDir.equals(dir)) {
        const key = `${kind}:${dir.toString('latin1')}`;
        let found = this.dirIds.get(key);
        if (found === undefined) {
          found = this.dirs.length;
          this.dirIds.set(key, found);
          this.dirs.push({ dir: Buffer.from(dir), kind });
          if (found >= this.dirFds.length) {
            const grown = new Int32Array(this.dirFds.length * 2).fill(-1);
            grown.set(this.dirFds);
            this.dirFds = grown;
          }
        }
        id = this.lastId = found;
        this.lastDir = this.dirs[found]!.dir;
        this.lastKind = kind;
      }
      const mkKind = meta[b + X.MKKIND]!;
      if (mkKind >= 0 && !this.dirs[id]!.mk) {
        const mo = o + nameLen;
        const baseLen = meta[b + X.MKBASELEN]!;
        this.dirs[id]!.mk = { base: Buffer.from(bytes.subarray(mo, mo + baseLen)), rel: Buffer.from(bytes.subarray(mo + baseLen, mo + baseLen + meta[b + X.RELLEN]!)), kind: mkKind as RecordKind };
      }
      if (this.namesLen + nameLen > this.names.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.names.length * 2, this.namesLen + nameLen));
        this.names.copy(grown, 0, 0, this.namesLen);
        this.names = grown;
      }
      const row = this.count++;
      const w = row * W;
      const size = meta[b + X.SIZE]!;
      this.i32[w] = size % 0x100000000;
      this.i32[w + 1] = Math.floor(size / 0x100000000);
      this.i64[w / 2 + 1] = m64[b + X.MTIME]!;
      this.i32[w + 4] = meta[b + X.MODE]!;
      this.i32[w + 5] = meta[b + X.UID]!;
      this.i32[w + 6] = meta[b + X.GID]!;
      this.i32[w + 7] = meta[b + X.SLOT]!;
      this.i32[w + 8] = id;
      this.i32[w + 9] = this.namesLen;
      this.i32[w + 10] = nameLen;
      this.namesLen += bytes.copy(this.names, this.namesLen, o, o + nameLen);
      this.rowOf[index] = row;
    }
  }

  /** The directory of file `index` (its row must exist). */
  dirOf(index: number): NativeRows['dirs'][number] {
    return this.dirs[this.i32[this.rowOf[index]! * (native.RECV_ROW / 4) + 8]!]!;
  }

  nameOf(index: number): Buffer {
    const w = this.rowOf[index]! * (native.RECV_ROW / 4);
    return this.names.subarray(this.i32[w + 9]!, this.i32[w + 9]! + this.i32[w + 10]!);
  }
}

interface ExpectedSmall {
  index: number;
  size: number;
  meta: { mode: number; uid: number; gid: number; mtimeNs: bigint };
  dir: Buffer;
  name: Buffer;
  kind: RecordKind;
  mkdir: { base: Buffer; rel: Buffer; kind: RecordKind } | undefined;
}

/** A stream worker that writes expected small files itself. */
export interface SmallOnWorker {
  init: SmallWorkerInit;
  /** Every pack so far; later ones come on `port`. */
  packs: SmallExpects[];
  port: MessagePort;
}

/** One batch of small files written by the worker: indices committed, failed, or failed at the sender. */
export interface SmallResults {
  type: 'small';
  done: number[];
  bytes: number;
  failed: { i: number; code: string; message: string }[];
  sender: { i: number; code: string; reason: string }[];
}
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
  /** The big file open on the stream when it was handed over (none: handed over between files). */
  first: DirectFile | undefined;
  ctl: SharedArrayBuffer;
  /** The main thread answers fd requests here (read synchronously). */
  replies: MessagePort;
  /** Move direct files' payloads with splice(2) instead of read + pwrite. */
  splice: boolean;
  /** Write expected small files here (see SmallExpects). */
  small?: SmallOnWorker;
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
  | SmallResults
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
/** A batch of small files written here: as the main thread's writer lanes (small-writer.ts). */
const SMALL_FILES = 128;
const SMALL_BYTES = 1024 * 1024;
const NO_META = { mode: 0, uid: 0, gid: 0, mtimeNs: 0n };

class Stopped extends Error {}

const SLASH = Buffer.from('/');
const STEP_OPEN = 3;

/** The index of the frame at buf[pos] (-1 when its header is not all there). */
function decoderIndexAt(buf: Buffer, pos: number, have: number): number {
  if (have - pos < HEADER_BYTES) return -1;
  return buf.readUInt32BE(pos + 1) * 0x100000000 + buf.readUInt32BE(pos + 5);
}

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
  let open: { index: number; fd: number; pos: number; size: number; forwarded: number; unreported: number; mayDirect: boolean; failed: boolean } | undefined = d.first
    ? { ...d.first, forwarded: 0, unreported: 0, mayDirect: false, failed: false }
    : undefined;

  const stopped = (): boolean => Atomics.load(ctl, Ctl.STOP) === 1;

  const flush = (): void => {
    postNative(); // the native scan's results first (defined below, called only once running)
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

  // Expected small files: received and written here, one native batch per SMALL_FILES files.
  const small = d.small;
  // One foreign call per read buffer scans it and writes its complete expected small files
  // (blit_recv_small); the decoder below takes only what that call stops at.
  const recv = small ? native.loadRecvSmall() : undefined;
  const nrows = recv ? new NativeRows() : undefined;
  const expects = small ? new Expectations(nrows) : undefined;
  if (small) for (const p of small.packs) expects!.add(p);
  let builder: SmallBatchBuilder | undefined;
  /** Per record of the builder: the file's index, -1 for a mkdir record. */
  let recs: number[] = [];
  let recBytes = 0;
  let batchNo = 0;
  let freeBufs: { meta: Float64Array; bytes: ArrayBuffer } | undefined;
  let senderFailed: SmallResults['sender'] = [];
  /** The expected small file open on the stream: its data goes to `at` in the builder's buffer. */
  let openSmall: { x: ExpectedSmall; at: number; received: number } | undefined;
  /** New directories this thread made (or queued a mkdir for): the last one, and all. */
  let lastMade: Buffer | undefined;
  const made = new Set<string>();

  const bad = (message: string): BlitError => new BlitError({ code: ErrorCodes.BadFrame, message });

  /** Files written by blit_recv_small not reported yet. */
  let nDone: number[] = [];
  let nFailed: SmallResults['failed'] = [];
  let nBytes = 0;
  const postNative = (): void => {
    if (nDone.length === 0 && nFailed.length === 0) return;
    port.postMessage({ type: 'small', done: nDone, bytes: nBytes, failed: nFailed, sender: [] } satisfies FromRecvWorker);
    nDone = [];
    nFailed = [];
    nBytes = 0;
  };

  /** Write the batch (one native call) and report it: one message per batch. */
  const writeSmall = (): void => {
    postNative();
    const b = builder;
    if ((!b || b.count === 0) && senderFailed.length === 0) return;
    const res: SmallResults = { type: 'small', done: [], bytes: 0, failed: [], sender: senderFailed };
    senderFailed = [];
    if (b && b.count > 0) {
      builder = undefined;
      const req = b.take(++batchNo);
      const reply = runSmallBatch(req, small!.init.meta, small!.init.beneath);
      let k = 0;
      for (let r = 0; r < req.count; r++) {
        const f = reply.failed[k];
        const index = recs[r]!;
        if (f && f.i === r) {
          k++;
          if (index >= 0) res.failed.push({ i: index, code: f.code, message: f.message });
        } else if (index >= 0) res.done.push(index);
      }
      res.bytes = recBytes;
      if (reply.bytes && reply.meta && reply.bytes.byteLength === SMALL_BYTES) freeBufs = { meta: reply.meta, bytes: reply.bytes };
    }
    recs = [];
    recBytes = 0;
    port.postMessage(res satisfies FromRecvWorker);
  };

  const startSmall = (x: ExpectedSmall): void => {
    const need = x.dir.length + x.name.length + x.size + (x.mkdir ? x.mkdir.base.length + x.mkdir.rel.length : 0);
    if (builder && (!builder.fits(need) || builder.count + 2 > SMALL_FILES)) writeSmall();
    if (!builder) {
      builder = new SmallBatchBuilder(SMALL_FILES, SMALL_BYTES, freeBufs);
      freeBufs = undefined;
    }
    if (x.mkdir && !(lastMade && lastMade.equals(x.mkdir.rel))) {
      const k = x.mkdir.rel.toString('latin1');
      lastMade = x.mkdir.rel;
      if (!made.has(k)) {
        // Its mkdir may still wait on a writer lane of the main thread: made here first (an
        // existing directory is fine; a failure fails its files, each named).
        made.add(k);
        builder.add(x.mkdir.base, x.mkdir.rel, [], 0, NO_META, x.mkdir.kind);
        recs.push(-1);
      }
    }
    openSmall = { x, at: builder.open(x.dir, x.name, x.size, x.meta, x.kind), received: 0 };
  };

  const decoder = new FrameDecoder({
    fileStart: (index) => {
      if (openSmall || open) throw bad(`FILE_START for index ${index} while index ${(openSmall?.x.index ?? open!.index)} is open`);
      if (expects) {
        if (!expects.has(index)) for (let m = receiveMessageOnPort(small!.port); m; m = receiveMessageOnPort(small!.port)) expects.add(m.message as SmallExpects);
        const x = expects.claim(index);
        if (x === null) throw bad(`file index ${index} sent twice`);
        if (x) return startSmall(x);
        // Not expected here: the main thread decides (a medium or big file, or a broken rule).
      }
      events.push({ t: 's', i: index });
      open = { index, fd: -1, pos: 0, size: 0, forwarded: 0, unreported: 0, mayDirect: true, failed: false };
    },
    data: (index, piece) => {
      const so = openSmall;
      if (so) {
        if (so.x.index !== index) throw bad(`DATA for index ${index}, which is not the open file`);
        if (so.received + piece.length > so.x.size) throw bad(`more bytes than the manifest size ${so.x.size}`);
        builder!.buffer.set(piece, so.at + so.received);
        so.received += piece.length;
        return;
      }
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
      const so = openSmall;
      if (so) {
        if (so.x.index !== index) throw bad(`FILE_END for index ${index}, which is not the open file`);
        if (so.received !== so.x.size) throw bad(`file ended after ${so.received} of ${so.x.size} bytes`);
        builder!.confirm();
        recs.push(index);
        recBytes += so.x.size;
        openSmall = undefined;
        if (builder!.full) writeSmall();
        if (recv) decoder.detach();
        return;
      }
      closeOpenFd();
      if (open && open.unreported > 0) events.push({ t: 'w', i: open.index, n: open.unreported });
      events.push({ t: 'e', i: index });
      open = undefined;
      if (recv) decoder.detach();
    },
    fileError: (index, code, reason) => {
      const so = openSmall;
      if (so) {
        if (so.x.index !== index) throw bad(`FILE_ERROR for index ${index}, which is not the open file`);
        // Its record was never confirmed: nothing of it is written.
        senderFailed.push({ i: index, code, reason });
        openSmall = undefined;
        if (recv) decoder.detach();
        return;
      }
      closeOpenFd();
      if (open && open.unreported > 0) events.push({ t: 'w', i: open.index, n: open.unreported });
      events.push({ t: 'x', i: index, code, reason });
      open = undefined;
      if (recv) decoder.detach();
    },
    streamEnd: (flags) => {
      if (openSmall) throw bad(`STREAM_END while index ${openSmall.x.index} is open`);
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

  /** Bytes of `buf` not decoded yet: [pos, have), at a frame boundary while nothing is open. */
  let pos = 0;
  let have = 0;
  /** The native scan needs more bytes before it can go on (a file's frames end past `have`). */
  let needMore = false;
  let chunk = 0;
  let opened = 0;
  const OUT_FILES = 256;
  const out = recv ? new Uint8Array(native.RECV_OUT.HEADER + OUT_FILES * native.RECV_OUT.FILE) : undefined;
  const out32 = out ? new Int32Array(out.buffer) : undefined;
  const outF64 = out ? new Float64Array(out.buffer) : undefined;
  const NO_CLAIMS = new Int32Array(1);

  /** Close every directory this thread keeps open (reopened on use). */
  const closeDirs = (): void => {
    const rows = nrows!;
    for (let k = 0; k < rows.dirs.length; k++) if (rows.dirFds[k]! >= 0) { fs.closeSync(rows.dirFds[k]!); rows.dirFds[k] = -1; }
    opened = 0;
  };

  const openDir = (id: number, retry = true): void => {
    const rows = nrows!;
    const x = rows.dirs[id]!;
    if (opened >= 256) closeDirs(); // bounded
    try {
      const beneath = x.kind & RecordKind.AnchoredFile ? small!.init.beneath : undefined;
      const open = (): number => {
        if (!(x.kind & RecordKind.AnchoredFile)) return fs.openSync(x.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | (x.mk ? fs.constants.O_NOFOLLOW : 0));
        if (!beneath) throw Object.assign(new Error('anchored record without the module root'), { code: 'EIO' });
        return openDirBeneath(beneath, x.dir);
      };
      let fd = -1;
      if (x.mk) {
        // A new directory: every stream's worker meets it, one makes it. Open it first (the other
        // worker, or a second pass, finds it made: no failed mkdir + lstat per worker); make it
        // when it is not there yet (ENOENT). Any other failure of the open is the answer: a
        // non-directory in its place (ENOTDIR), or a symlink (PathEscape beneath the module
        // root, ELOOP on the client), e.g. a directory swapped after another thread made it.
        try {
          fd = open();
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code !== 'ENOENT' && e.errno !== 2 && e.errno !== -2) throw err;
          makeDir(x.mk.base, x.mk.rel, x.mk.kind & RecordKind.AnchoredFile ? small!.init.beneath : undefined);
        }
      }
      if (fd < 0) fd = open();
      x.mk = undefined; // made (or there already): once
      rows.dirFds[id] = fd;
      opened++;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (retry && opened > 0 && (e.code === 'EMFILE' || e.code === 'ENFILE')) {
        // Out of descriptors (blitd's limit is shared by every transfer): give back ours, once.
        closeDirs();
        return openDir(id, false);
      }
      x.err = { code: e.code ?? 'EIO', message: e.message };
      rows.dirFds[id] = -1000 - Math.abs(typeof e.errno === 'number' ? e.errno : 5);
    }
  };

  /**
   * blit_recv_small over buf[pos, have) until it stops where JS must act: 'more' (the next file's
   * frames end past `have`: read more), or 'decoder' (the decoder takes the next file).
   */
  const scanNative = (): 'more' | 'decoder' => {
    const rows = nrows!;
    for (;;) {
      const claims = expects!.cells[chunk] ?? NO_CLAIMS;
      recv!(buf.subarray(pos, have), rows.rowOf, rows.rows, rows.count, rows.names, rows.namesLen, rows.dirFds, claims, chunk * CLAIM_CHUNK, out!, {
        preserveOwner: small!.init.meta.preserveOwner,
        umask: small!.init.meta.umask,
        temp: reserveTempNames(OUT_FILES),
      });
      const files = out32![native.RECV_OUT.FILES]!;
      pos += out32![native.RECV_OUT.CONSUMED]!;
      nBytes += outF64![2]!;
      for (let k = 0; k < files; k++) {
        const at = (native.RECV_OUT.HEADER + k * native.RECV_OUT.FILE) / 4;
        const index = outF64![at / 2]!;
        const errno = out32![at + 2]!;
        if (errno === 0) nDone.push(index);
        else {
          const dir = rows.dirOf(index);
          const e = dir.err && out32![at + 3] === STEP_OPEN ? dir.err : new native.NativeError(errno, native.BATCH_STEPS[out32![at + 3]!] || 'write', Buffer.concat([dir.dir, SLASH, rows.nameOf(index)]));
          nFailed.push({ i: index, code: e.code ?? 'EIO', message: e.message });
        }
      }
      if (nDone.length >= 1024) postNative();
      const reason = out32![native.RECV_OUT.REASON]!;
      const aux = out32![native.RECV_OUT.AUX]! >>> 0;
      if (reason === native.RecvStop.Dir) openDir(aux);
      else if (reason === native.RecvStop.Chunk && expects!.cells[Math.floor(aux / CLAIM_CHUNK)] && Math.floor(aux / CLAIM_CHUNK) !== chunk) chunk = Math.floor(aux / CLAIM_CHUNK);
      else if (reason === native.RecvStop.Full) continue;
      else if (reason === native.RecvStop.Partial) return pos === 0 && have === buf.length ? 'decoder' : 'more'; // decoder: one file larger than the buffer
      else {
        // Not for this scan (a medium file, an unknown index, a broken rule, STREAM_END, a
        // packet of expectations not here yet): the decoder takes it and names what is wrong.
        if (!expects!.has(decoderIndexAt(buf, pos, have))) for (let m = receiveMessageOnPort(small!.port); m; m = receiveMessageOnPort(small!.port)) expects!.add(m.message as SmallExpects);
        return 'decoder';
      }
    }
  };

  try {
    // workerData arrives as a plain Uint8Array (structured clone): view it as a Buffer again.
    if (d.rest.length > 0) {
      if (recv && !d.first && d.rest.length <= buf.length) {
        buf.set(d.rest);
        have = d.rest.length;
      } else decoder.push(Buffer.from(d.rest.buffer, d.rest.byteOffset, d.rest.length));
    }
    while (!decoder.streamEnded) {
      if (eventBytes >= FLUSH_BYTES) flush();
      holdWhileBusy();
      if (pos < have && !needMore) {
        const boundary = !open && !openSmall && decoder.headerLeft === HEADER_BYTES;
        if (!(recv && boundary && scanNative() === 'more')) {
          const rest = decoder.push(buf.subarray(pos, have));
          pos = rest ? have - rest.length : have;
          if (pos === have) pos = have = 0;
          continue;
        }
        // The scan stopped for want of bytes: its tail goes to the buffer's start, then a read.
        buf.copyWithin(0, pos, have);
        have -= pos;
        pos = 0;
        needMore = true;
      }
      const direct = pipe !== undefined && open !== undefined && open.fd >= 0 && !open.failed ? open : undefined;
      if (direct && decoder.dataLeft > 0 && have === 0) {
        if (!spliceData(direct)) {
          flush();
          native.poll(sock, native.POLLIN, POLL_MS);
        }
        continue;
      }
      // With a direct file open in splice mode, read only the next header: its payload is spliced.
      const want = direct && have === 0 ? decoder.headerLeft || buf.length : buf.length - have;
      let n: number;
      try {
        n = fs.readSync(sock, buf, have, want, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          if (!openSmall) writeSmall(); // nothing to read now: write what is complete
          flush(); // and let the main thread see what came so far
          native.poll(sock, native.POLLIN, POLL_MS);
          continue;
        }
        throw new BlitError({ code: ErrorCodes.IoError, message: `data stream read failed: ${(err as Error).message}` });
      }
      if (n === 0) throw new BlitError({ code: ErrorCodes.IoError, message: 'data stream closed before its end' });
      have += n;
      needMore = false;
    }
    writeSmall();
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
    if (nrows) for (const fd of nrows.dirFds) if (fd >= 0) fs.closeSync(fd);
    if (pipe) for (const fd of pipe) fs.closeSync(fd);
    fs.closeSync(sock);
    d.replies.close();
    small?.port.close();
  }
}

if (parentPort && workerData) {
  // A spare (recv-handover.ts prewarmStreamWorkers) boots ahead of its stream and gets it later,
  // in its first message; otherwise the stream comes with the thread.
  // A spare never used is asked to exit (recv-handover.ts releaseSpares) when its process ends.
  if ((workerData as { spare?: boolean }).spare === true) {
    parentPort.once('message', (m: RecvWorkerData | ExitRequest) => (isExitRequest(m) ? process.exit(0) : run(m)));
  } else if (typeof (workerData as RecvWorkerData).socketFd === 'number') run(workerData as RecvWorkerData);
}
