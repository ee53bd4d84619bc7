/**
 * Small files received and written by the stream's worker thread (recv-worker, DataReceiver's
 * SMALL_HANDOVER_FILES): once enough small files are expected, a stream is handed to a worker at a
 * file boundary; the worker decodes the frames, packs expected small files into native batches and
 * writes them itself, and reports each batch to the main thread. Real DataReceiver, real frames on
 * real loopback sockets, real files and worker threads (the in-process part: the frames a sender
 * must never send); then real blitd processes and the real CLI (push and pull of many small files).
 * The rules of the main thread hold on the worker: an index it was not told to expect, a second
 * start of a file (also across two streams), more bytes than the manifest size, a short file and a
 * malformed frame end the transfer (BadFrame) with no temp file and nothing under a real name.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Entry } from '../../src/engine/types';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { BlitError, ErrorCodes } from '../../src/engine/errors';
import { FrameType, frameHeader, streamEndFrame } from '../../src/remote/dataplane';
import { DataReceiver, SMALL_HANDOVER_FILES } from '../../src/remote/data-receiver';
import { RecordKind } from '../../src/remote/small-file-batch';
import { runBlit, startDaemon, tempDir, waitFor } from './harness';
import { fileFrames } from './transfer-helpers';

/** DATA frame size of these tests: several frames per small file. */
const FRAME = 3000;

interface Rx {
  rx: DataReceiver;
  dir: string;
  contents: Buffer[];
  committed: number[];
  failures: string[];
  connect(): Promise<{ client: net.Socket; received: Promise<void> }>;
  close(): void;
}

/** A receiver expecting `n` small files f<i> of 1-6 KiB, written into one directory. */
async function receiver(n: number): Promise<Rx> {
  const tmp = tempDir('blit-rx-small-');
  const dir = path.join(tmp.dir, 'd');
  fs.mkdirSync(dir);
  const committed: number[] = [];
  const failures: string[] = [];
  // One target object for the one directory (as Destination.smallTarget gives per directory).
  const target = { rel: Buffer.from('d'), dir: Buffer.from(dir), kind: RecordKind.File };
  const contents = Array.from({ length: n }, (_, i) => crypto.randomBytes(1000 + ((i * 977) % 5000)));
  const rx = new DataReceiver(
    {
      openSink: async () => assert.fail('no file here is big enough for a sink'),
      writeSmall: (f, chunks, done) => {
        fs.writeFileSync(path.join(dir, f.entry.rel.toString()), Buffer.concat(chunks));
        done();
      },
      committed: (f) => committed.push(f.index),
      failed: (f, failure) => failures.push(`${f.entry.rel.toString()}: ${failure.code} ${failure.reason}`),
      streamSmall: () => ({
        init: { meta: defaultMetaOptions() },
        target: () => target,
        error: (_f, err) => err,
      }),
    },
    { streamWorkers: true },
  );
  contents.forEach((c, index) =>
    rx.expect({ index, entry: { rel: Buffer.from(`f${index}`), size: c.length, mode: 0o100644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_123_456_789n } as unknown as Entry }),
  );
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const sockets: net.Socket[] = [];
  let id = 0;
  return {
    rx, dir, contents, committed, failures,
    connect: async () => {
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      client.on('error', () => undefined);
      const socket = await accepted;
      sockets.push(client, socket);
      const received = rx.receiveStream(socket, id++, Buffer.alloc(0));
      received.catch(() => undefined);
      return { client, received };
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
      tmp.cleanup();
    },
  };
}

/** Send files `from..to-1` (whole) on the client. */
function sendFiles(client: net.Socket, t: Rx, from: number, to: number): void {
  for (let i = from; i < to; i++) for (const b of fileFrames(i, t.contents[i]!, FRAME)) client.write(b);
}

/** Two streams: files 0..half-1 sent on the first, half..end-1 on the second (not ended). */
async function twoStreams(t: Rx, half: number, end: number): Promise<{ a: Awaited<ReturnType<Rx['connect']>>; b: Awaited<ReturnType<Rx['connect']>> }> {
  const a = await t.connect();
  const b = await t.connect();
  sendFiles(a.client, t, 0, half);
  sendFiles(b.client, t, half, end);
  return { a, b };
}

const isBad = (re: RegExp) => (err: unknown) => err instanceof BlitError && err.code === ErrorCodes.BadFrame && re.test(err.message);

/** Names in the directory: real names and temp files. */
function names(dir: string): { real: Set<string>; temps: string[] } {
  const all = fs.readdirSync(dir);
  return { real: new Set(all.filter((n) => !n.endsWith('.tmp'))), temps: all.filter((n) => n.endsWith('.tmp')) };
}

describe('data receiver: small files received and written by the stream worker', function () {
  this.timeout(60_000);
  const N = SMALL_HANDOVER_FILES + 400;

  it('two streams: every file exact with its mtime, written by the workers, no temp left', async () => {
    const t = await receiver(N);
    try {
      // Odd and even halves, interleaved in runs, frames of odd sizes.
      const { a, b } = await twoStreams(t, N / 2, N);
      a.client.end(streamEndFrame(false));
      b.client.end(streamEndFrame(false));
      await Promise.all([a.received, b.received]);
      await t.rx.finish();
      assert.deepEqual(t.failures, []);
      assert.equal(t.committed.length, N);
      assert.equal(t.rx.streamsHandedOver, 2);
      assert.ok(t.rx.smallOnStreamWorkers > N / 2, `written by the workers: ${t.rx.smallOnStreamWorkers}`);
      assert.equal(t.rx.bytesReceived, t.contents.reduce((s, c) => s + c.length, 0));
      t.contents.forEach((c, i) => assert.ok(fs.readFileSync(path.join(t.dir, `f${i}`)).equals(c), `f${i} exact`));
      assert.equal(fs.statSync(path.join(t.dir, `f${N - 1}`), { bigint: true }).mtimeNs, 1_700_000_000_123_456_789n);
      assert.deepEqual(names(t.dir).temps, []);
    } finally {
      t.close();
    }
  });

  // Each bad sequence comes after enough good files that the stream is on its worker.
  const cases: { what: string; frames: (t: Rx) => Buffer[]; err: RegExp; bad: number }[] = [
    {
      what: 'an index it was not told to expect',
      frames: () => [frameHeader(FrameType.FileStart, 9_999_999, 0), frameHeader(FrameType.Data, 9_999_999, 3), Buffer.from('abc'), frameHeader(FrameType.FileEnd, 9_999_999, 0)],
      err: /not in the need-list/,
      bad: -1,
    },
    {
      what: 'more bytes than the manifest size',
      frames: (t) => {
        const i = N - 1;
        const c = t.contents[i]!;
        return [frameHeader(FrameType.FileStart, i, 0), frameHeader(FrameType.Data, i, c.length + 1), Buffer.concat([c, Buffer.from('x')]), frameHeader(FrameType.FileEnd, i, 0)];
      },
      err: /more bytes than the manifest size/,
      bad: N - 1,
    },
    {
      what: 'a short file',
      frames: (t) => {
        const i = N - 1;
        const c = t.contents[i]!;
        return [frameHeader(FrameType.FileStart, i, 0), frameHeader(FrameType.Data, i, c.length - 1), c.subarray(1), frameHeader(FrameType.FileEnd, i, 0)];
      },
      err: /file ended after/,
      bad: N - 1,
    },
    {
      what: 'a second start of a file already written',
      frames: (t) => fileFrames(3, t.contents[3]!.map((x) => x ^ 0xff) as Buffer, FRAME),
      err: /sent twice/,
      bad: -1,
    },
    {
      what: 'a FILE_START while a file is open',
      frames: (t) => [frameHeader(FrameType.FileStart, N - 1, 0), frameHeader(FrameType.Data, N - 1, 10), t.contents[N - 1]!.subarray(0, 10), frameHeader(FrameType.FileStart, N - 2, 0)],
      err: /while index/,
      bad: N - 1,
    },
    {
      what: 'a malformed frame',
      frames: (t) => [frameHeader(FrameType.FileStart, N - 1, 0), frameHeader(FrameType.Data, N - 1, 10), t.contents[N - 1]!.subarray(0, 10), Buffer.from([99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
      err: /unknown frame type/,
      bad: N - 1,
    },
  ];
  for (const c of cases) {
    it(`${c.what} on a stream the worker owns: BadFrame, nothing partial, no temp file`, async () => {
      const t = await receiver(N);
      try {
        const a = await t.connect();
        sendFiles(a.client, t, 0, N - 2);
        for (const b of c.frames(t)) a.client.write(b);
        await assert.rejects(a.received, isBad(c.err));
        await t.rx.abortAll(new BlitError({ code: ErrorCodes.Cancelled, message: 'test' }));
        assert.equal(t.rx.streamsHandedOver, 1, 'the worker had the stream');
        const { real, temps } = names(t.dir);
        assert.deepEqual(temps, []);
        // Whatever is under a real name is the exact file; the bad one is not there.
        for (const n of real) assert.ok(fs.readFileSync(path.join(t.dir, n)).equals(t.contents[Number(n.slice(1))]!), `${n} exact`);
        if (c.bad >= 0) assert.ok(!real.has(`f${c.bad}`), `f${c.bad} not under its name`);
        assert.ok(fs.readFileSync(path.join(t.dir, 'f3')).equals(t.contents[3]!), 'f3 keeps its first contents');
      } finally {
        t.close();
      }
    });
  }

  it('one file started on two streams: written once, the second start is BadFrame', async () => {
    const t = await receiver(N);
    try {
      const { a, b } = await twoStreams(t, N / 2, N - 1);
      // Both streams are on their workers by now (each carried more than the threshold).
      await waitFor(() => t.committed.length >= N - 1, 20_000, `${N - 1} files committed`);
      assert.equal(t.rx.streamsHandedOver, 2);
      const last = N - 1;
      const other = t.contents[last]!.map((x) => x ^ 0x55) as Buffer;
      for (const x of fileFrames(last, t.contents[last]!, FRAME)) a.client.write(x);
      a.client.end(streamEndFrame(false));
      await a.received;
      for (const x of fileFrames(last, other, FRAME)) b.client.write(x);
      await assert.rejects(b.received, isBad(/sent twice/));
      assert.ok(fs.readFileSync(path.join(t.dir, `f${last}`)).equals(t.contents[last]!), 'the first copy stays');
      assert.deepEqual(names(t.dir).temps, []);
    } finally {
      t.close();
    }
  });
});

describe('remote push and pull of many small files through the stream workers (real blitd)', function () {
  this.timeout(120_000);

  for (const nativeBatch of ['1', '0']) {
    it(`${nativeBatch === '0' ? 'BLIT_NATIVE_BATCH=0' : 'native'}: new nested directories, small and medium files, exact both ways, no temp left`, async () => {
      const tmp = tempDir('blit-stream-small-');
      const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '', BLIT_NATIVE_BATCH: nativeBatch };
      const moduleDir = path.join(tmp.dir, 'module');
      const src = path.join(tmp.dir, 'src');
      fs.mkdirSync(moduleDir);
      for (let d = 0; d < 12; d++) {
        const dir = path.join(src, `a${d % 3}`, `b${d}`);
        fs.mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 60; f++) fs.writeFileSync(path.join(dir, `f${f}`), crypto.randomBytes(100 + ((d * 60 + f) * 37) % 8000));
        fs.utimesSync(dir, 1_600_000_000, 1_600_000_000);
      }
      fs.writeFileSync(path.join(src, 'a1', 'medium'), crypto.randomBytes(700 * 1024));
      fs.writeFileSync(path.join(src, 'empty'), '');
      const daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env });
      try {
        const remote = `127.0.0.1:${daemon.port}:/default/t`;
        const push = await runBlit(['copy', `${src}/`, `${remote}/`, '--json'], { env });
        // blitd's own log and state with the client's errors: a dropped connection (seen once in
        // CI on the pull, not reproduced since) says whether the daemon died and why.
        const daemonSide = (): string => `\n--- blitd (exit ${daemon.proc.exitCode ?? daemon.proc.signalCode ?? 'none: running'})\n${daemon.stderr()}`;
        assert.equal(push.code, 0, push.stderr + daemonSide());
        const back = path.join(tmp.dir, 'back');
        const pull = await runBlit(['copy', `${remote}/`, `${back}/`, '--json'], { env });
        assert.equal(pull.code, 0, pull.stderr + daemonSide());
        for (const root of [path.join(moduleDir, 't'), back]) {
          const walk = (rel: string): void => {
            for (const e of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
              const r = path.join(rel, e.name);
              if (e.isDirectory()) walk(r);
              else assert.ok(fs.readFileSync(path.join(root, r)).equals(fs.readFileSync(path.join(src, r))), `${root}: ${r} exact`);
              const st = fs.statSync(path.join(src, r), { bigint: true });
              const dt = fs.statSync(path.join(root, r), { bigint: true });
              assert.equal(dt.mtimeNs, st.mtimeNs, `${r} mtime`);
              assert.equal(dt.mode, st.mode, `${r} mode`);
            }
            const temps = fs.readdirSync(path.join(root, rel)).filter((n) => n.endsWith('.tmp'));
            assert.deepEqual(temps, [], `${rel}: no temp`);
          };
          walk('');
        }
      } finally {
        await daemon.stop();
        tmp.cleanup();
      }
    });
  }
});
