import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { BlitError } from '../../src/engine/errors';
import { listTree, runBlit, startDaemon, tempDir, waitFor, writeTree, type Daemon } from './harness';

function makeSource(root: string, files: number, size: number): void {
  const tree: Record<string, Buffer> = {};
  for (let i = 0; i < files; i++) tree[`d${i % 10}/f${i}.bin`] = Buffer.alloc(size, i % 251);
  writeTree(root, tree);
}

/** Every file under dst is complete (same bytes as in src) and no temp file is left. */
function assertNoPartialFiles(src: string, dst: string): number {
  if (!fs.existsSync(dst)) return 0;
  let complete = 0;
  for (const rel of listTree(dst)) {
    assert.doesNotMatch(path.basename(rel), /^\.blit\..*\.tmp$/, `temp file left: ${rel}`);
    const st = fs.lstatSync(path.join(dst, rel));
    if (st.isFile()) {
      assert.ok(fs.readFileSync(path.join(dst, rel)).equals(fs.readFileSync(path.join(src, rel))), `partial file under a real name: ${rel}`);
      complete++;
    }
  }
  return complete;
}

/** Any regular file below dir; tolerant of entries renamed or removed while it looks (temp files). */
function hasAnyFile(dir: string): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((e) => e.isFile() || (e.isDirectory() && hasAnyFile(path.join(dir, e.name))));
}

/** Resolves once the copy has visibly started: some file (temp or final) exists below dst. */
async function copyStarted(dst: string, timeoutMs = 20000): Promise<void> {
  await waitFor(() => hasAnyFile(dst), timeoutMs, `a file below ${dst}`);
}

async function startTransfer(c: DaemonConnection, source: string, destination: string, label = ''): Promise<string> {
  const res = await c.unary<pb.StartTransferResponse__Output>((o, cb) =>
    c.client.StartTransfer({ source, destination, label, options: { mode: 'MODE_COPY', compare: 'COMPARE_DEFAULT' } }, o, cb),
  );
  return res.jobId;
}

/** Watches one job in-process; calls onEvent for each event; resolves with the final snapshot. */
async function watch(c: DaemonConnection, id: string, onEvent: (ev: pb.JobEvent__Output) => void = () => {}): Promise<pb.JobInfo__Output> {
  let last: pb.JobInfo__Output | null = null;
  for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: id }, o), 60000)) {
    if (ev.job) last = ev.job;
    onEvent(ev);
  }
  assert.ok(last, 'no event received');
  return last;
}

describe('blitd jobs: StartTransfer, ListJobs, WatchJobs, CancelJob', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let d: Daemon;
  let c: DaemonConnection;
  let h: string;

  before(async () => {
    t = tempDir('blit-jobs-');
    fs.mkdirSync(path.join(t.dir, 'mod'));
    const sock = path.join(t.dir, 'run', 'blitd.sock');
    // debug: the log names each WatchJobs request, which a test waits for.
    d = await startDaemon(['--socket', sock, '--root', path.join(t.dir, 'mod'), '--log-level', 'debug']);
    h = `unix:${sock}`;
    c = await connectDaemon({ socket: sock });
  });
  after(async () => {
    c?.close();
    if (d) assert.equal(await d.stop(), 0);
    t.cleanup();
  });

  it('runs a local→local transfer of a few hundred files as a job; watch and list show it', async () => {
    const src = path.join(t.dir, 'src1');
    const dst = path.join(t.dir, 'dst1');
    makeSource(src, 300, 1024);
    const id = await startTransfer(c, `${src}/`, dst, 'first sync');
    const watcher = runBlit(['jobs', 'watch', h, id, '--json'], { timeoutMs: 60000 });
    const final = await watch(c, id);
    assert.equal(final.state, 'JOB_SUCCEEDED', JSON.stringify(final.error));
    assert.equal(final.kind, 'local');
    assert.equal(final.summary?.filesTransferred, 300);
    assert.equal(final.progress?.filesDone, 300);
    assert.equal(assertNoPartialFiles(src, dst), 300);

    const w = await watcher;
    assert.equal(w.code, 0, w.stderr);
    const events = w.stdout.trim().split('\n').map((l) => JSON.parse(l) as { job: { id: string; state: string; label: string } });
    assert.ok(events.every((e) => e.job.id === id && e.job.label === 'first sync'));
    assert.equal(events[events.length - 1]!.job.state, 'succeeded');

    const l = await runBlit(['jobs', 'list', h, '--all', '--json']);
    const listed = (JSON.parse(l.stdout) as { jobs: { id: string; state: string; summary: { filesTransferred: number } }[] }).jobs.find((j) => j.id === id);
    assert.equal(listed?.state, 'succeeded');
    assert.equal(listed?.summary.filesTransferred, 300);
    const running = await runBlit(['jobs', 'list', h]);
    assert.doesNotMatch(running.stdout, new RegExp(id));
    const text = await runBlit(['jobs', 'list', h, '--all']);
    assert.match(text.stdout, new RegExp(`^${id}  succeeded local +300/300 files .* first sync$`, 'm'));
  });

  it('streams item events and progress snapshots to a watcher of every job', async () => {
    const src = path.join(t.dir, 'src2');
    makeSource(src, 50, 100);
    const seen: pb.JobEvent__Output[] = [];
    const watchRequests = (): number => d.stderr().split('method=WatchJobs').length - 1;
    const watchesBefore = watchRequests();
    const all = (async () => {
      for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: '' }, o), 60000)) {
        seen.push(ev);
        if (ev.job?.state === 'JOB_SUCCEEDED') break;
      }
    })();
    // The daemon subscribes the watch in the same turn as it logs the request: once the line is
    // there, the job started next cannot run ahead of it (a fixed 200 ms wait could, under load).
    for (let i = 0; watchRequests() === watchesBefore; i++) {
      assert.ok(i < 1000, 'the watch never reached the daemon');
      await new Promise((r) => setTimeout(r, 20));
    }
    const id = await startTransfer(c, `${src}/`, path.join(t.dir, 'dst2'));
    await all;
    const mine = seen.filter((e) => e.job?.id === id);
    const created = mine.filter((e) => e.item?.action === 'ITEM_CREATE').map((e) => e.item!.path.toString());
    assert.equal(created.length, 50);
    assert.ok(created.includes('d3/f3.bin'));
    assert.equal(mine[0]!.job!.state, 'JOB_RUNNING');
  });

  it('cancels a running job mid-way: state cancelled, no temp file, no partial file', async () => {
    const src = path.join(t.dir, 'src3');
    const dst = path.join(t.dir, 'dst3');
    makeSource(src, 400, 128 * 1024);
    const id = await startTransfer(c, `${src}/`, dst);
    const ended = watch(c, id);
    await copyStarted(dst);
    const res = await c.unary<pb.CancelJobResponse__Output>((o, cb) => c.client.CancelJob({ jobId: id }, o, cb));
    assert.equal(res.cancelled, true, res.message);
    const final = await ended;
    assert.equal(final.state, 'JOB_CANCELLED', `job ended ${final.state}`);
    assert.equal(final.error?.code, 'Cancelled');
    const complete = assertNoPartialFiles(src, dst);
    assert.ok(complete < 400, `all ${complete} files were copied before the cancel took effect`);
  });

  it('blit jobs cancel: a finished job is not cancelled (exit 1), an unknown id is a usage error', async () => {
    const finished = (await runBlit(['jobs', 'list', h, '--all', '--json'])).stdout;
    const id = (JSON.parse(finished) as { jobs: { id: string; state: string }[] }).jobs.find((j) => j.state === 'succeeded')!.id;
    const r = await runBlit(['jobs', 'cancel', h, id, '--json']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { id, cancelled: false, message: `job ${id} already succeeded` });
    const u = await runBlit(['jobs', 'cancel', h, 'nosuchjob']);
    assert.equal(u.code, 64);
    assert.match(u.stderr, /no job with id 'nosuchjob'/);
  });

  it('StartTransfer refuses relative local paths and remote→remote, naming the field', async () => {
    for (const [source, destination, want] of [
      ['relative/dir', '/tmp/x', /source 'relative\/dir' must be an absolute path/],
      ['h:/m/a', 'h:/m/b', /remote to remote is not supported/],
      ['', '/tmp/x', /source is empty/],
    ] as const) {
      await assert.rejects(startTransfer(c, source, destination), (e: unknown) => e instanceof BlitError && e.code === 'Usage' && want.test(e.message));
    }
  });

  it('a TCP daemon refuses StartTransfer (it would expose local paths outside any module)', async () => {
    const tcp = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod')]);
    const ct = await connectDaemon({ host: '127.0.0.1', port: tcp.port });
    try {
      assert.ok(!ct.handshake.capabilities.includes('start-transfer'));
      assert.ok(c.handshake.capabilities.includes('start-transfer'));
      await assert.rejects(startTransfer(ct, '/etc/', path.join(t.dir, 'stolen')), (e: unknown) => {
        assert.ok(e instanceof BlitError);
        assert.equal(e.code, 'PermissionDenied');
        assert.match(e.message, /served only on the private socket/);
        return true;
      });
      assert.ok(!fs.existsSync(path.join(t.dir, 'stolen')));
    } finally {
      ct.close();
      await tcp.stop();
    }
  });

  it('SIGTERM during a job: the job is cancelled cleanly and blitd exits 0', async () => {
    const src = path.join(t.dir, 'src4');
    const dst = path.join(t.dir, 'dst4');
    makeSource(src, 400, 128 * 1024);
    const sock2 = path.join(t.dir, 'run2', 'blitd.sock');
    const d2 = await startDaemon(['--socket', sock2, '--root', path.join(t.dir, 'mod')]);
    const c2 = await connectDaemon({ socket: sock2 });
    try {
      await startTransfer(c2, `${src}/`, dst);
      await copyStarted(dst);
      const exit = d2.stop('SIGTERM');
      assert.equal(await exit, 0);
      assert.match(d2.stderr(), /WARN job failed job=\w+ code=Cancelled[\s\S]*INFO stopped/);
      assert.ok(assertNoPartialFiles(src, dst) < 400, 'the whole tree was copied: the signal came too late to test anything');
    } finally {
      c2.close();
      await d2.stop('SIGKILL');
    }
  });
});

describe('blitd StartTransfer to and from another blitd (the extension path)', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let local: Daemon;
  let remote: Daemon;
  let c: DaemonConnection;

  before(async () => {
    t = tempDir('blit-jobs-remote-');
    fs.mkdirSync(path.join(t.dir, 'remote-mod'));
    fs.mkdirSync(path.join(t.dir, 'local-root'));
    remote = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'remote-mod')]);
    const sock = path.join(t.dir, 'run', 'blitd.sock');
    local = await startDaemon(['--socket', sock, '--root', path.join(t.dir, 'local-root')]);
    c = await connectDaemon({ socket: sock });
  });
  after(async () => {
    c?.close();
    await local?.stop();
    await remote?.stop();
    t.cleanup();
  });

  it('pushes a workspace through the local daemon (unix socket) to a remote module, then pulls it back', async () => {
    const ws = path.join(t.dir, 'workspace');
    makeSource(ws, 40, 2000);
    const pushId = await startTransfer(c, `${ws}/`, `127.0.0.1:${remote.port}:/default/ws`, 'upload');
    const pushed = await watch(c, pushId);
    assert.equal(pushed.state, 'JOB_SUCCEEDED', JSON.stringify(pushed.error));
    assert.equal(pushed.kind, 'push');
    assert.equal(pushed.summary?.filesTransferred, 40);
    assert.equal(assertNoPartialFiles(ws, path.join(t.dir, 'remote-mod', 'ws')), 40);
    // The remote daemon lists the push it served as a job of its own (over TCP).
    const rc = await connectDaemon({ host: '127.0.0.1', port: remote.port });
    try {
      const served = await rc.unary<pb.ListJobsResponse__Output>((o, cb) => rc.client.ListJobs({ includeFinished: true }, o, cb));
      const job = served.jobs.find((j) => j.kind === 'served-push');
      assert.equal(job?.state, 'JOB_SUCCEEDED');
      assert.equal(job?.summary?.filesTransferred, 40);
    } finally {
      rc.close();
    }

    const back = path.join(t.dir, 'pulled');
    const pullId = await startTransfer(c, `127.0.0.1:${remote.port}:/default/ws/`, back, 'download');
    const pulled = await watch(c, pullId);
    assert.equal(pulled.state, 'JOB_SUCCEEDED', JSON.stringify(pulled.error));
    assert.equal(pulled.kind, 'pull');
    assert.equal(assertNoPartialFiles(ws, back), 40);
  });

  it('a push to an unreachable daemon fails the job with Unreachable', async () => {
    const ws = path.join(t.dir, 'workspace');
    const id = await startTransfer(c, `${ws}/`, '127.0.0.1:1:/default/x');
    const final = await watch(c, id);
    assert.equal(final.state, 'JOB_FAILED');
    assert.equal(final.error?.code, 'Unreachable');
    assert.match(final.error?.message ?? '', /ECONNREFUSED/);
  });
});
