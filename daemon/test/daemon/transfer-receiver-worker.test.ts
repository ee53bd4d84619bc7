/**
 * The receiver hands a stream to a recv-worker thread when a big file starts on it: the worker
 * reads the socket into one buffer and writes the temp file itself. Real DataReceiver, real frames
 * on a real loopback socket, real temp files (sinks with descriptors, committed by rename). The
 * rules must hold on that path too: exact bytes, small files after the big one still land (bytes
 * forwarded to the main thread), more bytes than the manifest size is BadFrame with the temp file
 * removed, a cut connection or a cancel (abortAll) removes the temp file and ends the thread.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Entry } from '../../src/engine/types';
import { BlitError, ErrorCodes } from '../../src/engine/errors';
import { FrameType, frameHeader, streamEndFrame } from '../../src/remote/dataplane';
import { DataReceiver, HANDOVER_MIN, type FileSink } from '../../src/remote/data-receiver';
import * as handover from '../../src/remote/recv-handover';
import { spawnSync } from 'node:child_process';
import { tempDir, waitFor } from './harness';
import { fileFrames } from './transfer-helpers';

const MIB = 1024 * 1024;

/** A temp file next to its final name, with its descriptor exposed (what destination.ts gives). */
function fileSink(dir: string, name: string, log: string[]): FileSink {
  const temp = path.join(dir, `.${name}.tmp`);
  const fd = fs.openSync(temp, 'wx');
  return {
    fd,
    writev: async (chunks, position) => {
      fs.writevSync(fd, chunks, position);
    },
    commit: async () => {
      fs.closeSync(fd);
      fs.renameSync(temp, path.join(dir, name));
      log.push(`commit ${name}`);
    },
    abort: async () => {
      fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      log.push(`abort ${name}`);
    },
  };
}

interface Setup {
  rx: DataReceiver;
  client: net.Socket;
  received: Promise<void>;
  log: string[];
  failures: string[];
  dir: string;
  close(): void;
}

async function setup(files: { name: string; size: number }[], splice: boolean, openDelayMs = 0): Promise<Setup> {
  const tmp = tempDir('blit-rx-worker-');
  const log: string[] = [];
  const failures: string[] = [];
  const rx = new DataReceiver(
    {
      openSink: async (f) => {
        if (openDelayMs > 0) await new Promise((r) => setTimeout(r, openDelayMs));
        return fileSink(tmp.dir, f.entry.rel.toString(), log);
      },
      writeSmall: (f, chunks, done) => {
        fs.writeFileSync(path.join(tmp.dir, f.entry.rel.toString()), Buffer.concat(chunks));
        log.push(`small ${f.entry.rel.toString()}`);
        done();
      },
      committed: () => undefined,
      failed: (f, failure) => failures.push(`${f.entry.rel.toString()}: ${failure.code} ${failure.reason}`),
    },
    { streamWorkers: true, splice },
  );
  files.forEach((f, index) => rx.expect({ index, entry: { rel: Buffer.from(f.name), size: f.size } as unknown as Entry }));
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  const received = rx.receiveStream(socket, 0, Buffer.alloc(0));
  received.catch(() => undefined);
  return {
    rx, client, received, log, failures, dir: tmp.dir,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
      tmp.cleanup();
    },
  };
}

function tempsIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
}

describe('data receiver: big files handed to a worker thread', function () {
  this.timeout(60_000);

  it('a sink without a descriptor keeps the stream on the main thread, bytes exact', async () => {
    const big = crypto.randomBytes(HANDOVER_MIN + MIB);
    const tmp = tempDir('blit-rx-nofd-');
    const server = net.createServer();
    try {
      const target = path.join(tmp.dir, 'big');
      const fd = fs.openSync(target, 'w');
      const rx = new DataReceiver(
        {
          openSink: async () => ({
            writev: async (chunks, position) => void fs.writevSync(fd, chunks, position),
            commit: async () => fs.closeSync(fd),
            abort: async () => undefined,
          }),
          committed: () => undefined,
          failed: (_f, failure) => assert.fail(failure.reason),
        },
        { streamWorkers: true },
      );
      rx.expect({ index: 0, entry: { rel: Buffer.from('big'), size: big.length } as unknown as Entry });
      server.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      const socket = await accepted;
      const received = rx.receiveStream(socket, 0, Buffer.alloc(0));
      for (const b of fileFrames(0, big, 4 * MIB)) client.write(b);
      client.end(streamEndFrame(false));
      await received;
      socket.destroy();
      assert.equal(rx.streamsHandedOver, 0);
      assert.ok(fs.readFileSync(target).equals(big));
    } finally {
      server.close();
      tmp.cleanup();
    }
  });

  it('bytes Node read ahead while the temp file was being opened go to the worker first, in order', async () => {
    // The sink opens slowly: meanwhile Node keeps reading the (paused) socket into its buffer;
    // the handover must collect those bytes and put them before what the worker reads itself.
    const big = crypto.randomBytes(HANDOVER_MIN + 2 * MIB + 5);
    const t = await setup([{ name: 'big', size: big.length }], true, 300);
    try {
      for (const b of fileFrames(0, big, 64 * 1024 + 3)) t.client.write(b);
      t.client.end(streamEndFrame(false));
      await t.received;
      assert.deepEqual(t.failures, []);
      assert.equal(t.rx.streamsHandedOver, 1);
      assert.ok(fs.readFileSync(path.join(t.dir, 'big')).equals(big), 'exact');
    } finally {
      t.close();
    }
  });

  it('the worker for an expected big file is booted at expect() and takes the stream at FILE_START', async () => {
    const big = crypto.randomBytes(HANDOVER_MIN + MIB + 3);
    const before = handover.sparesUsed;
    const t = await setup([{ name: 'big', size: big.length }], true);
    try {
      for (const b of fileFrames(0, big, 2 * MIB)) t.client.write(b);
      t.client.end(streamEndFrame(false));
      await t.received;
      assert.deepEqual(t.failures, []);
      assert.equal(t.rx.streamsHandedOver, 1);
      assert.equal(handover.sparesUsed, before + 1, 'the prewarmed worker took the stream');
      assert.ok(fs.readFileSync(path.join(t.dir, 'big')).equals(big), 'exact');
      assert.deepEqual(tempsIn(t.dir), []);
    } finally {
      t.close();
    }
  });

  it('an unused prewarmed worker does not keep the process alive, and exits when asked, not stopped by the exit', () => {
    const mod = path.join(__dirname, '../../src/remote/recv-handover.js');
    // Worker wrapped before the module loads: each spare's exit code is printed when it exits, and
    // a terminate() call is printed too. Node's own exit stops a still-running thread without
    // either (the thread may be inside an ffi-rs call then: worker-exit.ts).
    const script = `
      const wt = require('node:worker_threads');
      const fs = require('node:fs');
      const Original = wt.Worker;
      wt.Worker = class extends Original {
        constructor(...a) { super(...a); this.once('exit', (c) => fs.writeSync(1, 'spare exit ' + c + '\\n')); }
        terminate() { fs.writeSync(1, 'terminate\\n'); return super.terminate(); }
      };
      const h = require(${JSON.stringify(mod)});
      h.prewarmStreamWorkers(2);
      setTimeout(() => fs.writeSync(1, 'end of main\\n'), 50);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.error, undefined, 'exited by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['end of main', 'spare exit 0', 'spare exit 0']);
  });

  for (const splice of [true, false]) {
    const mode = splice ? 'splice' : 'read + pwrite';
    it(`${mode}: writes a big file, small files and a second big one on the same stream exactly (one handover)`, async () => {
      const big1 = crypto.randomBytes(HANDOVER_MIN + 3 * MIB + 17);
      const smalls = [crypto.randomBytes(100), crypto.randomBytes(200 * 1024), Buffer.alloc(0)];
      const mid = crypto.randomBytes(5 * MIB + 1); // forwarded at first, then written by the worker
      const files = [
        { name: 'big1', size: big1.length },
        ...smalls.map((b, i) => ({ name: `s${i}`, size: b.length })),
        { name: 'mid', size: mid.length },
      ];
      const t = await setup(files, splice);
      try {
        // Odd frame sizes: frames and reads never line up.
        for (const b of fileFrames(0, big1, 3 * MIB + 5)) t.client.write(b);
        smalls.forEach((b, i) => fileFrames(1 + i, b, 4 * MIB).forEach((x) => t.client.write(x)));
        for (const b of fileFrames(4, mid, 777_777)) t.client.write(b);
        t.client.end(streamEndFrame(true));
        await t.received;
        assert.deepEqual(t.failures, []);
        assert.equal(t.rx.streamsHandedOver, 1);
        assert.ok(t.rx.senderZeroCopy, 'STREAM_END flags seen through the worker');
        assert.equal(t.rx.bytesReceived, files.reduce((n, f) => n + f.size, 0));
        assert.ok(fs.readFileSync(path.join(t.dir, 'big1')).equals(big1), 'big1 exact');
        smalls.forEach((b, i) => assert.ok(fs.readFileSync(path.join(t.dir, `s${i}`)).equals(b), `s${i} exact`));
        assert.ok(fs.readFileSync(path.join(t.dir, 'mid')).equals(mid), 'mid exact');
        // Commits are asynchronous, small files synchronous: compare without order.
        assert.deepEqual([...t.log].sort(), ['commit big1', 'commit mid', 'small s0', 'small s1', 'small s2']);
        assert.deepEqual(tempsIn(t.dir), []);
      } finally {
        t.close();
      }
    });

    it(`${mode}: more bytes than the manifest size on the worker path: BadFrame, temp file removed, never committed`, async () => {
      const size = HANDOVER_MIN + MIB;
      const t = await setup([{ name: 'big', size }], splice);
      try {
        t.client.write(frameHeader(FrameType.FileStart, 0, 0));
        const chunk = Buffer.alloc(4 * MIB, 7);
        for (let sent = 0; sent < size + 8 * MIB; sent += chunk.length) {
          t.client.write(frameHeader(FrameType.Data, 0, chunk.length));
          t.client.write(chunk);
        }
        t.client.on('error', () => undefined);
        await assert.rejects(t.received, (err: unknown) => err instanceof BlitError && err.code === ErrorCodes.BadFrame && /manifest size/.test(err.message));
        assert.equal(t.rx.streamsHandedOver, 1);
        assert.deepEqual(t.log, ['abort big']);
        assert.ok(!fs.existsSync(path.join(t.dir, 'big')), 'nothing under the real name');
        assert.deepEqual(tempsIn(t.dir), []);
      } finally {
        t.close();
      }
    });

    it(`${mode}: a connection cut in the middle of a big file: IoError, temp file removed`, async () => {
      const size = HANDOVER_MIN + 16 * MIB;
      const t = await setup([{ name: 'big', size }], splice);
      try {
        t.client.write(frameHeader(FrameType.FileStart, 0, 0));
        t.client.write(frameHeader(FrameType.Data, 0, 16 * MIB));
        t.client.write(Buffer.alloc(16 * MIB, 1));
        t.client.write(frameHeader(FrameType.Data, 0, 16 * MIB));
        t.client.end(Buffer.alloc(MIB, 2)); // ends mid-frame
        await assert.rejects(t.received, (err: unknown) => err instanceof BlitError && err.code === ErrorCodes.IoError && /closed before its end/.test(err.message));
        assert.equal(t.rx.streamsHandedOver, 1);
        assert.deepEqual(t.log, ['abort big']);
        assert.deepEqual(tempsIn(t.dir), []);
        assert.deepEqual(fs.readdirSync(t.dir), []);
      } finally {
        t.close();
      }
    });

    it(`${mode}: abortAll while the worker waits for more data: the thread stops, the temp file is removed`, async () => {
      const size = HANDOVER_MIN + 16 * MIB;
      const t = await setup([{ name: 'big', size }], splice);
      try {
        t.client.write(frameHeader(FrameType.FileStart, 0, 0));
        t.client.write(frameHeader(FrameType.Data, 0, 8 * MIB));
        t.client.write(Buffer.alloc(8 * MIB, 3));
        await waitFor(() => t.rx.bytesReceived >= 8 * MIB, 10_000, 'the worker to write the first 8 MiB');
        assert.equal(t.rx.bytesReceived, 8 * MIB, 'the worker wrote what came');
        assert.equal(t.rx.streamsHandedOver, 1);
        await t.rx.abortAll(new BlitError({ code: ErrorCodes.Cancelled, message: 'transfer cancelled' }));
        assert.deepEqual(t.log, ['abort big']);
        assert.deepEqual(fs.readdirSync(t.dir), []);
        // The stream settles too (its socket is closed once the worker stopped).
        t.client.destroy();
        await assert.rejects(t.received);
      } finally {
        t.close();
      }
    });
  }
});
