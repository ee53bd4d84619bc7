/**
 * A sendfile worker takes 50-300 ms to start: until it is ready the main thread sends the stream's
 * files itself, and a big file it has begun is continued by the worker from the byte reached. Real
 * files, real frames on a loopback socket, the real worker thread. Whatever the interleaving, the
 * receiver must see each file once and exact; a big file keeps its tail for sendfile (zeroCopy);
 * a stream of files the worker would only write(2) may end on the main thread (zeroCopy false, as
 * the worker would say); a cancel while the main thread sends ends the stream and the thread.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BlitError, ErrorCodes } from '../../src/engine/errors';
import { Worker } from 'node:worker_threads';
import { FrameDecoder, FrameType, STREAM_FLAG_ZERO_COPY, frameHeader } from '../../src/remote/dataplane';
import type { FromWorker, ToWorker } from '../../src/remote/sendfile-worker';
import { packJobs } from '../../src/remote/small-reader';
import { SendQueue } from '../../src/remote/data-sender';
import { sendOnStreamZeroCopy } from '../../src/remote/stream-worker';
import { tempDir } from './harness';
import { outgoing } from './transfer-helpers';

const MIB = 1024 * 1024;

function threads(): number {
  return fs.readdirSync('/proc/self/task').length;
}

async function threadsBackTo(n: number): Promise<number> {
  for (let i = 0; i < 100 && threads() > n; i++) await new Promise((r) => setTimeout(r, 50));
  return threads();
}

interface Received {
  files: Map<number, Buffer[]>;
  starts: number[];
  ends: number[];
  flags: number | undefined;
}

interface Receiver {
  port: number;
  got: Promise<Received>;
  /** Stop listening, drop the hold timer and destroy every accepted socket. */
  close(): void;
}

/**
 * A receiver that reads nothing for `holdMs` (the sender's socket fills up), then decodes all.
 * close() must end every test that starts one: a socket it accepted and still holds (paused, the
 * sender gone) and its hold timer would keep the test process alive until the hold is over.
 */
function receiver(holdMs: number): Promise<Receiver> {
  const r: Received = { files: new Map(), starts: [], ends: [], flags: undefined };
  let resolveGot!: (v: Received) => void;
  const got = new Promise<Received>((res) => (resolveGot = res));
  const accepted: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const server = net.createServer((sock) => {
    accepted.push(sock);
    sock.pause();
    const dec = new FrameDecoder({
      fileStart: (i) => {
        r.starts.push(i);
        r.files.set(i, []);
      },
      data: (i, chunk) => r.files.get(i)!.push(Buffer.from(chunk)),
      fileEnd: (i) => r.ends.push(i),
      fileError: (i, code) => r.ends.push(-i - 1000 * code.length),
      streamEnd: (flags) => (r.flags = flags),
    });
    sock.on('data', (c) => dec.push(c));
    sock.on('end', () => resolveGot(r));
    sock.on('close', () => resolveGot(r));
    timers.push(setTimeout(() => sock.resume(), holdMs));
  });
  const close = (): void => {
    server.close();
    for (const tm of timers) clearTimeout(tm);
    for (const sock of accepted) sock.destroy();
  };
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ port: (server.address() as net.AddressInfo).port, got, close })));
}

function pattern(size: number, seed: number): Buffer {
  const block = crypto.createHash('sha256').update(String(seed)).digest();
  const b = Buffer.alloc(size);
  for (let off = 0; off < size; off += block.length) block.copy(b, off);
  for (let off = 0; off + 4 <= size; off += 4096) b.writeUInt32LE(off / 4096, off); // no two pages alike
  return b;
}

describe('sendfile worker start: the main thread sends until it is ready', function () {
  this.timeout(60_000);
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir('blit-bridge-')));
  // libuv's thread pool starts with the first fs.promises call: start it before counting threads.
  before(async () => {
    await fs.promises.stat(__filename);
  });
  afterEach(() => t.cleanup());

  async function run(files: Buffer[], holdMs: number): Promise<{ r: Received; zeroCopy: boolean; sent: number[]; bytes: number }> {
    const rx = await receiver(holdMs);
    try {
      const queue = new SendQueue();
      const outs = files.map((d, i) => outgoing(t.dir, i, `f${i}`, d));
      for (const o of outs) queue.push(o);
      queue.close();
      const sock = net.connect(rx.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const sent: number[] = [];
      let bytes = 0;
      const zeroCopy = await sendOnStreamZeroCopy(sock, queue, {
        sent: (f) => sent.push(f.index),
        failed: (f, failure) => assert.fail(`${f.index}: ${failure.reason}`),
        bytes: (n) => (bytes += n),
      });
      return { r: await rx.got, zeroCopy, sent, bytes };
    } finally {
      rx.close();
    }
  }

  function exact(r: Received, files: Buffer[]): void {
    assert.deepEqual([...r.starts].sort((a, b) => a - b), files.map((_, i) => i), 'one FILE_START per file');
    assert.deepEqual([...r.ends].sort((a, b) => a - b), files.map((_, i) => i), 'one FILE_END per file');
    files.forEach((d, i) => assert.ok(Buffer.concat(r.files.get(i)!).equals(d), `file ${i} exact`));
  }

  it('a big file begun by the main thread is finished by the worker, exact and zero-copy', async () => {
    const before = threads();
    // The receiver holds: the main thread fills the socket and waits, the worker gets ready,
    // the big file is handed over mid-way (or, on a very slow start, at its last MiB).
    const files = [pattern(10_000, 1), pattern(48 * MIB + 123, 2), pattern(5000, 3)];
    const { r, zeroCopy, sent, bytes } = await run(files, 1500);
    exact(r, files);
    assert.deepEqual(sent, [0, 1, 2]);
    assert.equal(bytes, files.reduce((a, d) => a + d.length, 0));
    assert.equal(zeroCopy, true);
    assert.equal((r.flags ?? 0) & STREAM_FLAG_ZERO_COPY, STREAM_FLAG_ZERO_COPY);
    assert.ok((await threadsBackTo(before)) <= before, 'the worker thread ended');
  });

  it('a file just above 256 KiB keeps its tail for the worker (zeroCopy true, as before)', async () => {
    const files = [pattern(300 * 1024, 4)];
    const { r, zeroCopy } = await run(files, 0);
    exact(r, files);
    assert.equal(zeroCopy, true);
  });

  it('small files only: the stream may end before the worker is ready; exact, zeroCopy false', async () => {
    const before = threads();
    const files = Array.from({ length: 12 }, (_, i) => pattern(40 * 1024 + i, 10 + i));
    const { r, zeroCopy, sent } = await run(files, 0);
    exact(r, files);
    assert.deepEqual(sent.sort((a, b) => a - b), files.map((_, i) => i));
    assert.equal(zeroCopy, false);
    assert.equal((r.flags ?? 0) & STREAM_FLAG_ZERO_COPY, 0);
    assert.ok((await threadsBackTo(before)) <= before, 'the worker thread ended');
  });

  it('small files sent while the worker starts: read in native runs, a changed or missing file named and not begun', async () => {
    // The main thread sends the first run of the queue before the worker can be ready (its start
    // takes 30 ms and more): it reads, checks and frames small files in one native call, as the
    // worker does. A file that no longer matches its listing or is gone is reported failed
    // (SourceChanged / the errno) and nothing of it goes out: no FILE_START, no FILE_ERROR.
    const rx = await receiver(0);
    try {
      const datas = Array.from({ length: 10 }, (_, i) => pattern(30 * 1024 + i, 20 + i));
      const outs = datas.map((d, i) => outgoing(t.dir, i, `s${i}`, d));
      fs.appendFileSync(outs[1]!.abs, 'grown since the listing');
      fs.unlinkSync(outs[2]!.abs);
      const queue = new SendQueue();
      for (const o of outs) queue.push(o);
      queue.close();
      const sock = net.connect(rx.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const sent: number[] = [];
      const failed = new Map<number, { code: string; reason: string }>();
      let bytes = 0;
      await sendOnStreamZeroCopy(sock, queue, {
        sent: (f) => sent.push(f.index),
        failed: (f, failure) => failed.set(f.index, { code: failure.code, reason: failure.reason }),
        bytes: (n) => (bytes += n),
      });
      const r = await rx.got;
      const ok = [0, 3, 4, 5, 6, 7, 8, 9];
      assert.deepEqual([...r.starts].sort((a, b) => a - b), ok, 'no FILE_START for the failed files');
      assert.deepEqual([...r.ends].sort((a, b) => a - b), ok, 'no FILE_ERROR either');
      for (const i of ok) assert.ok(Buffer.concat(r.files.get(i)!).equals(datas[i]!), `file ${i} exact`);
      assert.deepEqual(sent.sort((a, b) => a - b), ok);
      assert.equal(bytes, ok.reduce((a, i) => a + datas[i]!.length, 0));
      assert.equal(failed.get(1)?.code, ErrorCodes.SourceChanged);
      assert.match(failed.get(1)!.reason, /changed while it was being sent/);
      // As on every sender path since hunt-remote (source-check readFailure): SourceNotFound.
      assert.equal(failed.get(2)?.code, ErrorCodes.SourceNotFound);
      assert.equal(failed.get(2)!.reason, 'cannot read: no such file or directory (ENOENT)');
    } finally {
      rx.close();
    }
  });

  it('the worker continues a small file the main thread began (no second FILE_START)', async () => {
    // The main thread may hand a file over right after its FILE_START (the worker got ready
    // while that write waited): the worker's batch path for small files must not frame it anew.
    const rx = await receiver(0);
    try {
      const data = pattern(1000, 7);
      const f = outgoing(t.dir, 3, 'small', data);
      const sock = net.connect(rx.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      await new Promise<void>((r) => sock.write(frameHeader(FrameType.FileStart, 3, 0), () => r()));
      const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
      const w = new Worker(path.join(__dirname, '../../src/remote/sendfile-worker.js'), { workerData: { fd } });
      const finished = new Promise<void>((resolve) =>
        w.on('message', (m: FromWorker) => {
          if (m.type === 'finished') resolve();
        }),
      );
      const files = [
        { index: 3, abs: f.abs, size: data.length, mtimeNs: f.entry.mtimeNs },
        { index: 4, abs: outgoing(t.dir, 4, 'next', pattern(2000, 8)).abs, size: 2000, mtimeNs: fs.statSync(path.join(t.dir, 'next'), { bigint: true }).mtimeNs },
      ];
      w.postMessage({ type: 'files', ...packJobs(files), sent: 0 } satisfies ToWorker);
      w.postMessage({ type: 'end' } satisfies ToWorker);
      await finished;
      await w.terminate();
      sock.end();
      const r = await rx.got;
      assert.deepEqual(r.starts, [3, 4]);
      assert.deepEqual(r.ends, [3, 4]);
      assert.ok(Buffer.concat(r.files.get(3)!).equals(data));
      assert.ok(Buffer.concat(r.files.get(4)!).equals(pattern(2000, 8)));
    } finally {
      rx.close();
    }
  });

  it('a cancel while the main thread sends ends the stream and the thread', async () => {
    const before = threads();
    const rx = await receiver(60_000); // never reads: the main thread blocks on a full socket
    try {
      const queue = new SendQueue();
      queue.push(outgoing(t.dir, 0, 'big', pattern(64 * MIB, 5)));
      queue.close();
      const sock = net.connect(rx.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      await assert.rejects(
        sendOnStreamZeroCopy(sock, queue, { sent: () => undefined, failed: () => undefined }, ac.signal),
        (e: unknown) => e instanceof BlitError && e.code === ErrorCodes.Cancelled,
      );
      assert.equal(sock.destroyed, true);
    } finally {
      rx.close();
    }
    assert.ok((await threadsBackTo(before)) <= before, 'the worker thread ended');
  });
});
