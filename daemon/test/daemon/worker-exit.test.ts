/**
 * Every worker thread of the engine and the data plane ends by exiting when asked (exit code 0),
 * never by terminate() (code 1): terminate() lands wherever the thread is, and inside an ffi-rs
 * call (a thread still loading @blit/native, or in a syscall wrapper) it makes ffi-rs panic and
 * abort the whole process (reproduced: one process in ~500 when sendfile-worker or
 * dest-lister-worker were terminated at random moments of their start; DEVLOG h45-workers).
 * Real files, real loopback sockets, the real worker scripts; the threads' exit codes are read
 * from the Worker objects the modules create (worker_threads.Worker is wrapped for the test).
 * The moments vary: right after the start (the thread still loading modules and the native
 * library), after it is up, and, for the sender, with the thread stuck on a peer that stopped
 * reading.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
// The module object itself (not an import-star copy with getters): its Worker is replaced below.
import workerThreads = require('node:worker_threads');
import { BlitError, ErrorCodes } from '../../src/engine/errors';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { DestLister } from '../../src/engine/dest-lister';
import type { DirListing } from '../../src/engine/walk';
import { SendQueue, type OutgoingFile } from '../../src/remote/data-sender';
import { sendOnStreamZeroCopy } from '../../src/remote/stream-worker';
import { SmallFileWriter } from '../../src/remote/small-writer';
import { startStreamWorker, takeOverReading, type HandoverTarget } from '../../src/remote/recv-handover';
import { tempDir } from './harness';
import { outgoing } from './transfer-helpers';

const MIB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Records the exit code of every Worker created while it is installed, and counts terminate()
 * calls: a thread terminated before its JS runs also exits with 0, so the code alone would not
 * tell.
 */
function watchWorkers(): { count: () => number; codes: () => Promise<number[]>; restore: () => void } {
  const Original = workerThreads.Worker;
  const exits: Promise<number>[] = [];
  let terminated = 0;
  class Watched extends Original {
    constructor(...args: ConstructorParameters<typeof Original>) {
      super(...args);
      exits.push(new Promise((resolve) => this.once('exit', resolve)));
    }
    override terminate(): Promise<number> {
      terminated++;
      return super.terminate();
    }
  }
  (workerThreads as { Worker: typeof Original }).Worker = Watched;
  return {
    count: () => exits.length,
    codes: async () => {
      const codes = await Promise.all(exits);
      assert.equal(terminated, 0, 'terminate() calls');
      return codes;
    },
    restore: () => ((workerThreads as { Worker: typeof Original }).Worker = Original),
  };
}

/**
 * A receiver that reads nothing for `holdMs`, then counts what comes until `pauseAfter` bytes
 * (then stops reading for good: the sender's socket fills up). `paused` resolves at that point.
 */
async function receiver(holdMs: number, pauseAfter = Infinity): Promise<{ port: number; paused: Promise<void>; got: () => number; close: () => void }> {
  const accepted: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let got = 0;
  let onPaused!: () => void;
  const paused = new Promise<void>((r) => (onPaused = r));
  const server = net.createServer((sock) => {
    accepted.push(sock);
    sock.pause();
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= pauseAfter) {
        sock.pause();
        onPaused();
      }
    });
    timers.push(setTimeout(() => sock.resume(), holdMs));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    paused,
    got: () => got,
    close: () => {
      server.close();
      for (const t of timers) clearTimeout(t);
      for (const s of accepted) s.destroy();
    },
  };
}

describe('worker threads exit when asked (code 0), never terminated', function () {
  this.timeout(120_000);
  let t: { dir: string; cleanup: () => void };
  let watch: ReturnType<typeof watchWorkers>;
  beforeEach(() => {
    t = tempDir('blit-worker-exit-');
    watch = watchWorkers();
  });
  afterEach(() => {
    watch.restore();
    t.cleanup();
  });

  async function send(files: OutgoingFile[], holdMs = 0, pauseAfter?: number, abortWhen?: (rx: Awaited<ReturnType<typeof receiver>>) => Promise<void>): Promise<boolean | BlitError> {
    const rx = await receiver(holdMs, pauseAfter);
    try {
      const queue = new SendQueue();
      for (const f of files) queue.push(f);
      queue.close();
      const sock = net.connect(rx.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const ac = new AbortController();
      if (abortWhen) void abortWhen(rx).then(() => ac.abort());
      const hooks = { sent: () => undefined, failed: (f: OutgoingFile) => assert.fail(`${f.index} failed`) };
      const out = await sendOnStreamZeroCopy(sock, queue, hooks, ac.signal).catch((err: unknown) => err as BlitError);
      if (out instanceof BlitError) assert.equal(sock.destroyed, true, 'the socket is closed once the thread is gone');
      return out;
    } finally {
      rx.close();
    }
  }

  it('sendfile-worker: after its stream ends (the worker said finished)', async () => {
    const out = await send([outgoing(t.dir, 0, 'big', crypto.randomBytes(6 * MIB))]);
    assert.equal(out, true, 'sent with sendfile by the worker');
    assert.equal(watch.count(), 1);
    assert.deepEqual(await watch.codes(), [0]);
  });

  it('sendfile-worker: a stream the main thread ended while the worker was still starting', async () => {
    // Above SMALL_TOTAL in all, so the worker is started; small files only, so the main thread
    // may send them all before it is ready (the pull that dropped blitd's connection in CI).
    for (let round = 0; round < 5; round++) {
      const files = Array.from({ length: 6 }, (_, i) => outgoing(t.dir, i, `r${round}f${i}`, crypto.randomBytes(50_000 + i)));
      const out = await send(files);
      assert.equal(typeof out, 'boolean', String(out));
    }
    assert.equal(watch.count(), 5);
    assert.deepEqual(await watch.codes(), [0, 0, 0, 0, 0]);
  });

  it('sendfile-worker: a cancel while the worker is stuck on a peer that stopped reading', async () => {
    // The receiver reads from 1 s on (the worker is up by then and takes the file over) and
    // stops after 24 MiB: the worker waits for a full socket, with ~40 MiB still to send.
    const big = outgoing(t.dir, 0, 'big', crypto.randomBytes(64 * MIB));
    const out = await send([big], 1000, 24 * MIB, async (rx) => {
      await rx.paused;
      await sleep(300);
    });
    assert.ok(out instanceof BlitError && out.code === ErrorCodes.Cancelled, String(out));
    assert.equal(watch.count(), 1);
    assert.deepEqual(await watch.codes(), [0]);
  });

  it('sendfile-worker: a cancel right after the start (the thread still loading)', async () => {
    for (const delayMs of [0, 20, 100]) {
      const out = await send([outgoing(t.dir, 0, `big${delayMs}`, crypto.randomBytes(8 * MIB))], 60_000, undefined, () => sleep(delayMs));
      assert.ok(out instanceof BlitError && out.code === ErrorCodes.Cancelled, String(out));
    }
    assert.equal(watch.count(), 3);
    assert.deepEqual(await watch.codes(), [0, 0, 0]);
  });

  it('dest-lister-worker: closed at any moment of its start, and after listing', async () => {
    const dst = path.join(t.dir, 'dst');
    fs.mkdirSync(dst);
    fs.writeFileSync(path.join(dst, 'a'), 'x');
    for (const delayMs of [0, 5, 20, 50, 100, 300]) {
      const lister = new DestLister(Buffer.from(dst), 'default');
      await sleep(delayMs);
      assert.equal(await lister.close(), 0, `close after ${delayMs} ms`);
    }
    const lister = new DestLister(Buffer.from(dst), 'default');
    const listing = { dir: Buffer.alloc(0), entries: [{ rel: Buffer.from('a'), kind: 'file', size: 1, mtimeNs: 0n, mode: 0o100644, uid: 0, gid: 0 }] } as unknown as DirListing;
    try {
      while (!lister.usable) await sleep(10);
      const dir = await lister.list(listing);
      assert.ok('exists' in dir && dir.exists, 'error' in dir ? dir.error.message : 'listed');
    } finally {
      assert.equal(await lister.close(), 0);
    }
    assert.deepEqual(await watch.codes(), [0, 0, 0, 0, 0, 0, 0]);
  });

  it('small-file-worker: closed right after the threads were started, and after writing', async () => {
    const dir = Buffer.from(path.join(t.dir, 'd'));
    fs.mkdirSync(dir);
    const meta = { mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n };
    for (const files of [65, 400]) {
      // 65 files: the threads start at the 65th and the batches run on this thread meanwhile.
      const w = new SmallFileWriter(defaultMetaOptions(), 2);
      const errs: unknown[] = [];
      for (let i = 0; i < files; i++) w.write(i % 2, dir, Buffer.from(`f${files}-${i}`), [Buffer.from(`data ${i}`)], `data ${i}`.length, meta, (err) => err && errs.push(err));
      if (files === 400) await w.started();
      assert.deepEqual(await w.close(), [0, 0], `${files} files`);
      assert.deepEqual(errs, []);
    }
    assert.equal(watch.count(), 4);
    assert.deepEqual(await watch.codes(), [0, 0, 0, 0]);
    assert.equal(fs.readdirSync(dir).length, 465);
  });

  it('recv-worker: stopped right after its start and while it waits for data', async () => {
    // The handover's stop() sets the worker's STOP cell: it returns from its loop and ends by
    // itself (code 0). (Already so before the shared helper; the grace before terminate() went
    // from 2 s to 5 s: a thread still starting on a loaded machine could take longer than 2 s.)
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const sockets: net.Socket[] = [];
    try {
      for (const delayMs of [0, 20, 300]) {
        const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
        const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
        client.on('error', () => undefined);
        const sock = await accepted;
        sockets.push(client, sock);
        const taken = takeOverReading(sock);
        assert.ok(taken, 'a plain TCP socket has a descriptor');
        const unexpected = (what: string) => (): never => assert.fail(`no ${what} on an idle stream`);
        const target: HandoverTarget = {
          fileStart: unexpected('fileStart'), data: unexpected('data'), fileEnd: unexpected('fileEnd'), fileError: unexpected('fileError'),
          streamEnd: unexpected('streamEnd'), written: unexpected('written'), writeFailed: unexpected('writeFailed'),
          directFile: async () => null, overHighWater: () => false, drained: async () => undefined,
        };
        const w = startStreamWorker(taken.fd, Buffer.alloc(0), undefined, target, false);
        await sleep(delayMs);
        await w.stop();
        await assert.rejects(w.done, (e: unknown) => e instanceof BlitError && e.code === ErrorCodes.Cancelled);
      }
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
    assert.equal(watch.count(), 3);
    assert.deepEqual(await watch.codes(), [0, 0, 0]);
  });
});
