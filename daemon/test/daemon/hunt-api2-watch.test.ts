/**
 * WatchJobs against a watcher that stops reading (hunt-api2). blitd used to write every job event
 * into the stream regardless of its backpressure, so a stalled watcher of a big push made blitd
 * hold every item event (100k files: ~44k events queued in blitd). Now item events past a bound
 * are dropped for that watcher, snapshots collapse to each job's latest, and the final state
 * always arrives, after the job's items.
 */
import * as assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type * as pb from '@blit/proto';
import { BLIT, runBlit, startDaemon, stopped, tempDir, writeConfig, type Daemon } from './harness';
import { Jobs } from '../../src/daemon/jobs';
import { WATCH_MAX_QUEUED_EVENTS, WATCH_MAX_QUEUED_JOBS, watchJobs } from '../../src/daemon/jobs-rpc';

/** Top-level fields of one protobuf message: field number -> payloads (length-delimited) or values. */
function fields(buf: Buffer): Map<number, Array<Buffer | number>> {
  const out = new Map<number, Array<Buffer | number>>();
  let o = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[o++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (o < buf.length) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    let val: Buffer | number;
    if (wt === 0) val = varint();
    else if (wt === 2) {
      const n = varint();
      val = buf.subarray(o, o + n);
      o += n;
    } else if (wt === 1) {
      val = 0;
      o += 8;
    } else if (wt === 5) {
      val = 0;
      o += 4;
    } else throw new Error(`wire type ${wt}`);
    out.set(no, [...(out.get(no) ?? []), val]);
  }
  return out;
}

interface WatchedEvent {
  jobId: string;
  kind: string;
  label: string;
  state: number;
  item: boolean;
}

function decodeEvent(msg: Buffer): WatchedEvent {
  const ev = fields(msg);
  const job = fields((ev.get(1)?.[0] as Buffer) ?? Buffer.alloc(0));
  return {
    jobId: String(job.get(1)?.[0] ?? ''),
    kind: String(job.get(3)?.[0] ?? ''),
    label: String(job.get(2)?.[0] ?? ''),
    state: Number(job.get(4)?.[0] ?? 0),
    item: ev.has(2),
  };
}

const JOB_SUCCEEDED = 2;

describe('hunt-api2: WatchJobs with a watcher that stops reading', function () {
  this.timeout(60_000);

  it('a real blitd: a stalled watcher of a 4,000-file push gets a bounded number of item events and the final state after it resumes', async () => {
    const FILES = 4000;
    const tmp = tempDir('blit-hunt-api2-watch-');
    let daemon: Daemon | undefined;
    let session: http2.ClientHttp2Session | undefined;
    try {
      const src = path.join(tmp.dir, 'src');
      for (let d = 0; d < 40; d++) {
        fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
        for (let f = 0; f < FILES / 40; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), 'x');
      }
      const moduleDir = path.join(tmp.dir, 'module');
      fs.mkdirSync(moduleDir);
      const cfg = writeConfig(tmp.dir, `[[module]]\nname = "m"\npath = "${moduleDir}"\n`);
      daemon = await startDaemon(['--config', cfg, '--port', '0']);

      // A raw HTTP/2 gRPC call whose stream is never read until the push is over: a small window, so
      // what waits outside blitd (the window, the client's stream buffer) is a few hundred events.
      session = http2.connect(`http://127.0.0.1:${daemon.port}`, { settings: { initialWindowSize: 8192 } });
      const call = session.request({
        ':method': 'POST',
        ':path': '/blit.v1.Blit/WatchJobs',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      call.end(Buffer.from([0, 0, 0, 0, 0])); // WatchJobsRequest{} (every job)
      call.pause();
      // blitd sends the response headers with the first event: a one-file push makes one, and
      // once they are here the watch is subscribed before the big push starts.
      const opened = new Promise<void>((resolve, reject) => {
        call.once('response', () => resolve());
        call.once('error', reject);
      });
      fs.writeFileSync(path.join(tmp.dir, 'one'), '1');
      const w = await runBlit(['copy', path.join(tmp.dir, 'one'), `${daemon.address}:/m/warm/`]);
      assert.equal(w.code, 0, w.stderr);
      await opened;

      const r = await runBlit(['copy', `${src}/`, `${daemon.address}:/m/t/`], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stderr);

      // Resume reading: frames until the push job's final snapshot.
      const events: WatchedEvent[] = [];
      let pending = Buffer.alloc(0);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no final state after ${events.length} events`)), 30_000);
        call.on('data', (d: Buffer) => {
          pending = Buffer.concat([pending, d]);
          while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
            const n = pending.readUInt32BE(1);
            const ev = decodeEvent(pending.subarray(5, 5 + n));
            pending = pending.subarray(5 + n);
            events.push(ev);
            if (ev.kind === 'served-push' && ev.label.includes('m/t') && ev.state === JOB_SUCCEEDED) {
              clearTimeout(timer);
              resolve();
            }
          }
        });
        call.on('error', reject);
        call.resume();
      });
      const push = events.filter((e) => e.kind === 'served-push' && e.label.includes('m/t'));
      assert.ok(push.length > 0);
      const items = push.filter((e) => e.item).length;
      // Before: every one of the 4,000 item events was kept in blitd and arrived.
      assert.ok(items < FILES, `${items} item events reached the stalled watcher (of ${FILES}): none was dropped`);
      assert.ok(items <= WATCH_MAX_QUEUED_EVENTS + 2000, `${items} item events: more than the bound and the buffers`);
      assert.equal(push[push.length - 1]!.state, JOB_SUCCEEDED, 'the final state comes after the job\'s items');
      call.close();
      // blitd serves on.
      const ls = await runBlit(['ls', `${daemon.address}:/m/t/d0`]);
      assert.equal(ls.code, 0, ls.stderr);
    } finally {
      session?.destroy();
      await daemon?.stop();
      tmp.cleanup();
    }
  });

  it('the watch logic: congested, 5,000 items become at most the bound, progress collapses to the newest, the final state is last', () => {
    const jobs = new Jobs({ shutdown: new AbortController().signal });
    const job = jobs.create('local', 'w');
    const sent: pb.JobEvent[] = [];
    let canTake = 1; // the stream takes one event, then reports a full buffer
    let resume: (() => void) | undefined;
    let ended = false;
    watchJobs(
      jobs,
      { jobId: job.id },
      (ev) => {
        sent.push(ev);
        return --canTake > 0;
      },
      () => (ended = true),
      new AbortController().signal,
      (r) => (resume = r),
    );
    assert.equal(sent.length, 1, 'the initial snapshot');
    assert.ok(resume, 'a full buffer waits for drain');
    for (let i = 1; i <= 5000; i++) {
      job.progress({ filesDone: i, bytesDone: i, filesPlanned: 5000, bytesPlanned: 5000, scanComplete: true });
      job.item('create', Buffer.from(`f${i}`), 'file', 1);
    }
    job.succeed({ failures: [], filesTransferred: 5000, bytesTransferred: 5000, entriesDeleted: 0, deletionsSkipped: 0, filesUnchanged: 0, durationMs: 1, bytesPerSecond: 0, zeroCopy: false, tcpDataPlane: false, dryRun: false, dirsCreated: 0, symlinksCreated: 0 } as never);
    assert.equal(sent.length, 1, 'nothing written while congested');
    assert.equal(ended, false);
    // Drain twice: 100 events, then the rest.
    canTake = 100;
    const r1 = resume!;
    resume = undefined;
    r1();
    assert.equal(sent.length, 101);
    assert.ok(resume, 'congested again');
    canTake = Infinity;
    (resume as unknown as () => void)();
    const items = sent.filter((e) => e.item);
    assert.equal(items.length, WATCH_MAX_QUEUED_EVENTS);
    assert.deepEqual(items.slice(0, 2).map((e) => String(e.item!.path)), ['f1', 'f2'], 'the first items, in order');
    const last = sent[sent.length - 1]!;
    assert.equal(last.job!.state, 'JOB_SUCCEEDED');
    assert.equal(Number(last.job!.progress!.filesDone), 5000);
    assert.ok(sent.length <= WATCH_MAX_QUEUED_EVENTS + 3, `${sent.length} events`);
    assert.ok(ended, 'a watch of one job ends with its final state');
    // jobs-dropped: the count of what was dropped rides on the event sent in its place.
    assert.equal(sent.reduce((n, e) => n + Number(e.droppedEvents ?? 0), 0), 5000 - WATCH_MAX_QUEUED_EVENTS);
    assert.equal(Number(last.droppedEvents), 5000 - WATCH_MAX_QUEUED_EVENTS, 'after the 1,000 items kept');
  });

  /**
   * A congested watch of every job: job `a` gets 7 items past the bound (dropped, counted on its
   * queued snapshot), `end` runs before 1,001 other jobs are made and finished, which evicts a's
   * snapshot by the job cap; then the watcher reads everything.
   */
  function evictDroppedCount(end: (a: ReturnType<Jobs['create']>) => void): { sent: pb.JobEvent[]; a: ReturnType<Jobs['create']> } {
    const jobs = new Jobs({ shutdown: new AbortController().signal });
    const a = jobs.create('local', 'a');
    const sent: pb.JobEvent[] = [];
    let resume: (() => void) | undefined;
    let congested = true;
    watchJobs(jobs, { jobId: '' }, (ev) => (sent.push(ev), !congested), () => {}, new AbortController().signal, (r) => (resume = r));
    for (let i = 0; i < WATCH_MAX_QUEUED_EVENTS + 7; i++) a.item('create', Buffer.from(`f${i}`), 'file', 1);
    end(a);
    for (let j = 0; j <= WATCH_MAX_QUEUED_JOBS; j++) jobs.create('local', `j${j}`).succeed({ failures: [] } as never);
    congested = false;
    resume!();
    assert.equal(sent.slice(1).filter((e) => e.job?.label === 'a' && !e.item).length, 0, "a's queued snapshot was evicted (the first event is its initial one)");
    return { sent, a };
  }
  const droppedOf = (events: pb.JobEvent[]): number => events.reduce((n, e) => n + Number(e.droppedEvents ?? 0), 0);

  it("the watch logic: a running job's dropped count whose snapshot the 1,000-job cap evicted stays with it, on its next snapshot (no other job's event carries it)", () => {
    const { sent, a } = evictDroppedCount(() => {});
    assert.equal(droppedOf(sent), 0, 'held for a: no other event carries it');
    const before = sent.length;
    a.succeed({ failures: [] } as never);
    const next = sent.slice(before);
    assert.equal(next.length, 1);
    assert.equal(next[0]!.job!.label, 'a');
    assert.equal(next[0]!.job!.state, 'JOB_SUCCEEDED');
    assert.equal(Number(next[0]!.droppedEvents), 7, "on a's final snapshot");
  });

  it("the watch logic: an ended job's dropped count whose snapshot the 1,000-job cap evicted comes on an event without a job, not on another job's", () => {
    const { sent } = evictDroppedCount((a) => a.succeed({ failures: [] } as never));
    const counted = sent.filter((e) => Number(e.droppedEvents ?? 0) > 0);
    assert.equal(counted.length, 1, `${counted.length} events with a count`);
    assert.equal(counted[0]!.job, undefined, `sent without a job, not on ${counted[0]!.job?.label}'s`);
    assert.equal(Number(counted[0]!.droppedEvents), 7);
    assert.deepEqual(Object.keys(counted[0]!), ['droppedEvents'], 'nothing but the count');
  });
});

/** A running `blit jobs watch` whose stdout lines are collected as they come. */
function startWatch(args: string[]): { proc: ChildProcessWithoutNullStreams; lines: string[]; until: (pred: (l: string) => boolean, what: string, timeoutMs?: number) => Promise<void> } {
  const proc = spawn(process.execPath, [BLIT, 'jobs', 'watch', ...args], { env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' } });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  const until = (pred: (l: string) => boolean, what: string, timeoutMs = 40_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch: no ${what} after ${lines.length} lines; stderr: ${stderr}`)), timeoutMs);
      const check = (): void => {
        if (lines.some(pred)) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiters.push(check);
      check();
    });
  return { proc, lines, until };
}

describe('jobs-dropped: a watcher is told how many events blitd dropped for it', function () {
  this.timeout(90_000);

  it('a real blitd and two SIGSTOPped `blit jobs watch` (--json and text): "N events skipped" is said, and items seen + skipped = the items the push made', async () => {
    const tmp = tempDir('blit-jobs-dropped-');
    let daemon: Daemon | undefined;
    const watchers: ChildProcessWithoutNullStreams[] = [];
    try {
      const src = path.join(tmp.dir, 'src');
      for (let d = 0; d < 40; d++) {
        fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
        for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), 'x');
      }
      const moduleDir = path.join(tmp.dir, 'module');
      fs.mkdirSync(moduleDir);
      const cfg = writeConfig(tmp.dir, `[[module]]\nname = "m"\npath = "${moduleDir}"\n`);
      daemon = await startDaemon(['--config', cfg, '--port', '0']);
      const json = startWatch([daemon.address, '--json']);
      const txt = startWatch([daemon.address]);
      watchers.push(json.proc, txt.proc);
      // One-file pushes until both watchers printed one: from then on they are subscribed. A watcher
      // that subscribes after a push ended never hears of it (WatchJobs sends the jobs still
      // running, then changes), and under load `blit jobs watch` took longer to start than a
      // one-file push ("no warm-up push after 0 lines", twice in full runs at load ~9).
      fs.writeFileSync(path.join(tmp.dir, 'one'), '1');
      for (let i = 0; ; i++) {
        const w = await runBlit(['copy', path.join(tmp.dir, 'one'), `${daemon.address}:/m/warm${i}/`]);
        assert.equal(w.code, 0, w.stderr);
        const seen = (watch: typeof json, done: string): Promise<boolean> =>
          watch.until((l) => l.includes(`m/warm${i}`) && l.includes(done), `warm-up push ${i}`, 5_000).then(() => true, () => false);
        const both = await Promise.all([seen(json, '"succeeded"'), seen(txt, 'succeeded')]);
        if (both.every(Boolean)) break;
        assert.ok(i < 8, `the watchers never printed a warm-up push: ${json.lines.length} / ${txt.lines.length} lines`);
      }
      // Both stopped before the push starts: a watcher still running would read the push's first events.
      await Promise.all([stopped(json.proc.pid!), stopped(txt.proc.pid!)]);
      const r = await runBlit(['copy', `${src}/`, `${daemon.address}:/m/t/`], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      json.proc.kill('SIGCONT');
      txt.proc.kill('SIGCONT');

      await json.until((l) => l.includes('"push to m/t"') && l.includes('"state":"succeeded"'), 'final state of the push');
      const events = json.lines.map((l) => JSON.parse(l) as { job: { label: string; state: string; summary?: { filesTransferred: number; dirsCreated: number } }; item?: unknown; failure?: unknown; skipped?: number });
      const push = events.filter((e) => e.job.label === 'push to m/t');
      const items = push.filter((e) => e.item || e.failure).length;
      const skipped = push.reduce((n, e) => n + (e.skipped ?? 0), 0);
      const summary = push[push.length - 1]!.job.summary!;
      const made = summary.filesTransferred + summary.dirsCreated; // one item event per file and per directory created
      assert.ok(skipped > 0, `no "skipped" in --json: ${items} item events seen of ${made}`);
      assert.equal(items + skipped, made, `${items} item events seen + ${skipped} skipped != ${made} made`);
      assert.ok(push.every((e) => e.skipped === undefined || e.skipped > 0), 'skipped is left out when nothing was dropped');
      assert.equal(events.filter((e) => e.job.label !== 'push to m/t').some((e) => e.skipped), false, 'nothing was dropped before the stall');

      await txt.until((l) => l.includes('push to m/t') && /\bsucceeded\b/.test(l), 'final state of the push');
      const jobId = txt.lines.find((l) => l.includes('push to m/t'))!.split(/\s+/)[0]!;
      const mine = txt.lines.filter((l) => l.startsWith(`${jobId}  `));
      const said = mine.map((l) => /^\S+  (\d+) events skipped \(/.exec(l)).filter((m) => m !== null);
      assert.ok(said.length > 0, 'no "N events skipped" line');
      // The rest of the job's lines: its snapshots (they name the kind) and one per item.
      const itemLines = mine.filter((l) => !l.includes(' served-push ') && !/^\S+  \d+ events skipped \(/.test(l)).length;
      assert.equal(itemLines + said.reduce((n, m) => n + Number(m![1]), 0), made, 'text: item lines + skipped');
    } finally {
      for (const p of watchers) {
        p.kill('SIGCONT');
        p.kill('SIGKILL');
      }
      await daemon?.stop();
      tmp.cleanup();
    }
  });
});

describe('hunt-api2: Find with a pathological glob (real blitd)', function () {
  this.timeout(60_000);

  it("refuses '*a*a*a*a*a*a*a*a*b' by name (picomatch's regex backtracked for minutes on a long name, blocking blitd) and serves on", async () => {
    const tmp = tempDir('blit-hunt-api2-glob-');
    let daemon: Daemon | undefined;
    try {
      const moduleDir = path.join(tmp.dir, 'module');
      fs.mkdirSync(moduleDir);
      fs.writeFileSync(path.join(moduleDir, 'a'.repeat(250)), '');
      const cfg = writeConfig(tmp.dir, `[[module]]\nname = "m"\npath = "${moduleDir}"\n`);
      daemon = await startDaemon(['--config', cfg, '--port', '0']);
      const r = await runBlit(['find', `${daemon.address}:/m/`, '--pattern', '*a*a*a*a*a*a*a*a*b'], { timeoutMs: 30_000 });
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, /segment '\*a\*a\*a\*a\*a\*a\*a\*a\*b' holds 9 '\*' wildcards \(at most 3/);
      const ok = await runBlit(['find', `${daemon.address}:/m/`, '--pattern', '*a*a*b', '--json'], { timeoutMs: 30_000 });
      assert.equal(ok.code, 0, ok.stderr);
      const deep = await runBlit(['find', `${daemon.address}:/m/`, '--pattern', '**/**/**/*a*', '--json'], { timeoutMs: 30_000 });
      assert.equal(deep.code, 0, deep.stderr);
    } finally {
      await daemon?.stop();
      tmp.cleanup();
    }
  });
});
