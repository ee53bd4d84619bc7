/**
 * Big files on the TCP data plane are received by a worker thread (recv-worker.ts) on whichever
 * side receives: blitd for a push, the blit client for a pull. Against a REAL blitd and the real
 * CLI: bytes exact both ways (with small files around the big one), and SIGTERM or CancelJob
 * (blitd receiving) or Ctrl-C (blit receiving a pull) in the middle of a big file stops the
 * thread, removes the temp file and leaves nothing under the real name.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HANDOVER_MIN } from '../../src/remote/data-receiver';
import { BLIT, runBlit, startDaemon, tempDir, waitFor, type Daemon } from './harness';
import { fileEntry, frame, jsonSummary, openDataStream, rawPush, tempDescriptors, tempFilesIn } from './transfer-helpers';


/**
 * Wait until `pid` received the open big file's stream in a worker thread. The signal: a second
 * descriptor on the temp file, the dup that DataReceiver's handOver gives the worker (the main
 * thread's sink holds the first); on the main-thread path (no worker) there is only one. Under
 * any load this is after the hand-over, which a fixed sleep after the temp file appears is not.
 */
async function streamInWorker(pid: number, what: string): Promise<void> {
  const handed = `${what} to hand the big file's stream to a worker thread (a second descriptor on its temp file)`;
  await waitFor(
    () => {
      if (!fs.existsSync(`/proc/${pid}/fd`)) throw new Error(`${what} exited while the test was waiting for ${handed}`);
      return tempDescriptors(pid).length >= 2;
    },
    20_000,
    handed,
  );
}

const BIG = HANDOVER_MIN + 5 * 1024 * 1024 + 3;

describe('remote big files received by a worker thread (real blitd)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let mod: string;
  let daemon: Daemon;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-worker-stream-');
    mod = path.join(tmp.dir, 'module');
    fs.mkdirSync(mod);
    daemon = await startDaemon(['--port', '0', '--root', mod]);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    assert.doesNotMatch(log, /unhandled error|uncaught|Warning/i);
  });

  it('push and pull of a big file between small ones: exact, zero-copy sender, no temp left', async () => {
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    const files: Record<string, Buffer> = {
      'a.txt': crypto.randomBytes(1000),
      'big.bin': crypto.randomBytes(BIG),
      'd/b.bin': crypto.randomBytes(300 * 1024),
      'd/c.bin': crypto.randomBytes(3 * 1024 * 1024 + 1),
      'd/empty': Buffer.alloc(0),
    };
    for (const [rel, data] of Object.entries(files)) fs.writeFileSync(path.join(src, rel), data);

    const push = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/up`, '--json'], { env });
    assert.equal(push.code, 0, push.stderr);
    const ps = jsonSummary(push.stdout);
    assert.equal(ps.filesTransferred, 5);
    assert.equal(ps.tcpDataPlane, true);
    assert.equal(ps.zeroCopy, true);
    for (const [rel, data] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(mod, 'up', rel)).equals(data), `pushed ${rel} exact`);
    assert.deepEqual(tempFilesIn(mod), []);

    const back = path.join(tmp.dir, 'back');
    const pull = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/up/`, back, '--json'], { env });
    assert.equal(pull.code, 0, pull.stderr);
    assert.doesNotMatch(pull.stderr, /Warning/);
    const pl = jsonSummary(pull.stdout);
    assert.equal(pl.filesTransferred, 5);
    assert.equal(pl.zeroCopy, true);
    for (const [rel, data] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(back, rel)).equals(data), `pulled ${rel} exact`);
    assert.deepEqual(tempFilesIn(back), []);
  });

  /** A raw push of one big file that stops sending after 4 MB: the daemon's worker waits for more. */
  async function stalledBigPush(d: Daemon, dest: string): Promise<{ close(): void; push: Awaited<ReturnType<typeof rawPush>> }> {
    const push = await rawPush(d.port, 'default', dest);
    const neg = (await push.until('negotiation')).negotiation!;
    push.call.write({ manifest: { entries: [fileEntry('big', BIG)] } });
    push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
    await push.until('needComplete');
    const s = await openDataStream(neg.tcpPort, neg.token.subarray(0, 32));
    s.on('error', () => undefined);
    s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 4_000_000, Buffer.alloc(4_000_000, 3))]));
    return {
      push,
      close: () => {
        s.destroy();
        push.close();
      },
    };
  }

  it('SIGTERM in the middle of a big file: blitd exits 0, the thread stops, no temp, no file', async () => {
    const m = path.join(tmp.dir, 'term-module');
    fs.mkdirSync(m);
    const d = await startDaemon(['--port', '0', '--root', m]);
    let stalled: { close(): void } | undefined;
    try {
      stalled = await stalledBigPush(d, 'x');
      await waitFor(() => tempFilesIn(m).length > 0, 10_000, 'the temp file');
      await streamInWorker(d.proc.pid!, 'blitd');
      const code = await d.stop('SIGTERM');
      assert.equal(code, 0, d.stderr());
      assert.doesNotMatch(d.stderr(), /unhandled error|uncaught|Warning/i);
    } finally {
      stalled?.close();
      await d.stop('SIGKILL');
    }
    assert.deepEqual(tempFilesIn(m), []);
    assert.ok(!fs.existsSync(path.join(m, 'x', 'big')));
  });

  it('CancelJob in the middle of a big file: Cancelled, temp removed, blitd keeps serving', async () => {
    const stalled = await stalledBigPush(daemon, 'cancelled');
    try {
      await waitFor(() => tempFilesIn(path.join(mod, 'cancelled')).length > 0, 10_000, 'the temp file');
      const conn = stalled.push.conn;
      const jobs = await conn.unary<{ jobs: { id: string; kind: string }[] }>((o, cb) => conn.client.ListJobs({ includeFinished: false }, o, cb as never));
      const job = jobs.jobs.find((j) => j.kind === 'served-push');
      assert.ok(job, JSON.stringify(jobs.jobs));
      const res = await conn.unary<{ cancelled: boolean }>((o, cb) => conn.client.CancelJob({ jobId: job.id }, o, cb as never));
      assert.equal(res.cancelled, true);
      assert.equal((await stalled.push.error())?.code, 'Cancelled');
    } finally {
      stalled.close();
    }
    await waitFor(() => tempFilesIn(mod).length === 0, 10_000, 'the temp file to be removed');
    assert.ok(!fs.existsSync(path.join(mod, 'cancelled', 'big')));
    // The worker closed its duplicates (a thread killed instead of stopped would leak them).
    await waitFor(() => tempDescriptors(daemon.proc.pid!).length === 0, 10_000, 'blitd to close every descriptor of the temp file');
  });

  it('Ctrl-C during a pull of a big file: blit exits 1 [Cancelled], its worker stops, no temp, no file', async () => {
    const dir = path.join(mod, 'sparse');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'huge.bin'), '');
    fs.truncateSync(path.join(dir, 'huge.bin'), 1 << 30); // sparse 1 GiB: sent fast, written slowly enough to interrupt
    const dst = path.join(tmp.dir, 'pull-int');
    fs.mkdirSync(dst);
    const child = spawn(process.execPath, [BLIT, 'copy', `127.0.0.1:${daemon.port}:/default/sparse/`, dst], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      await waitFor(() => tempFilesIn(dst).length > 0, 20_000, 'the pull to start writing');
      await streamInWorker(child.pid!, 'blit');
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 1, stderr);
      assert.match(stderr, /\[Cancelled\]/);
      assert.deepEqual(tempFilesIn(dst), []);
      assert.ok(!fs.existsSync(path.join(dst, 'huge.bin')), 'no partial file under the real name');
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
