/** Failures and safety: a file changing during the copy, cancel, stall (fake clock), a full disk. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError } from '../../src/engine/errors';
import { StallDetector, type Clock } from '../../src/engine/stall';
import { cleanupTemps, listTree, opts, run, tempDir, tempsUnder, writeTree } from './helpers';

describe('engine: failures and safety', function () {
  this.timeout(60_000);
  afterEach(cleanupTemps);

  it('a file that changes while it is copied fails with SourceChanged; nothing under its real name, the rest copied', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'grow.txt': 'before', 'other.txt': 'fine' });
    fs.writeFileSync(path.join(dst, 'grow.txt.keep'), 'unrelated');
    // The item event is emitted on the main thread before the task reaches a worker, so growing the
    // file here makes the worker's post-copy fstat see a size the scan did not.
    const r = await run(src + '/', dst, opts(), (e) => {
      if (e.type === 'item' && e.rel.toString() === 'grow.txt') fs.appendFileSync(path.join(src, 'grow.txt'), ' and after');
    });
    assert.deepEqual(r.summary.failures.map((f) => [f.path, f.code]), [['grow.txt', 'SourceChanged']]);
    assert.deepEqual(listTree(dst), ['grow.txt.keep', 'other.txt']);
    assert.equal(fs.readFileSync(path.join(src, 'grow.txt'), 'utf8'), 'before and after', 'source untouched');
  });

  it('a file changed while copied over an existing destination leaves the old destination intact', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'f': 'new version' });
    writeTree(dst, { 'f': 'old' });
    const r = await run(src + '/', dst, opts(), (e) => {
      if (e.type === 'item' && e.rel.toString() === 'f') fs.appendFileSync(path.join(src, 'f'), '!');
    });
    assert.equal(r.summary.failures[0]!.code, 'SourceChanged');
    assert.equal(fs.readFileSync(path.join(dst, 'f'), 'utf8'), 'old');
    assert.deepEqual(tempsUnder(dst), []);
  });

  it('cancel via AbortSignal while a big file is being written: Cancelled, no temp file left', async () => {
    const src = tempDir();
    const dst = tempDir();
    fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(96 * 1024 * 1024, 5));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, `small${i}`), 'x');
    const ac = new AbortController();
    // Abort as soon as the worker's temp file exists, i.e. in the middle of the copy.
    const poll = setInterval(() => {
      if (tempsUnder(dst).length > 0) ac.abort();
    }, 1);
    try {
      await assert.rejects(
        run(src + '/', dst, opts({ signal: ac.signal, debug: { primitive: 'readwrite' } })),
        (e: unknown) => e instanceof BlitError && e.code === 'Cancelled',
      );
    } finally {
      clearInterval(poll);
    }
    assert.ok(ac.signal.aborted, 'the abort fired mid-copy');
    assert.deepEqual(tempsUnder(dst), []);
    assert.ok(!listTree(dst).includes('big.bin'), 'no partial big.bin under its real name');
  });

  it('a temp file left by a killed run is removed once stale; a fresh one (a live run) is left alone', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'd/f': 'f' });
    writeTree(dst, { 'd/.blit.f.0123456789ab.tmp': 'half' });
    // The age is real (a ctime cannot be backdated): the rule's age shortened to 3 s for this run.
    const staleMs = 3000;
    await new Promise((r) => setTimeout(r, staleMs + 100));
    writeTree(dst, { 'd/.blit.g.0123456789ab.tmp': 'live', 'd/.blit.h.0123456789ab.tmp': 'committing' });
    // A live temp right before its rename: its commit has set the source's old mtime on it.
    const old = Date.now() / 1000 - 3600;
    fs.utimesSync(path.join(dst, 'd/.blit.h.0123456789ab.tmp'), old, old);
    process.env['BLIT_TEST_STALE_TEMP_MS'] = String(staleMs);
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(src + '/', dst, opts({ mode: 'mirror', deleteConfirmed: true }));
    } finally {
      delete process.env['BLIT_TEST_STALE_TEMP_MS'];
    }
    assert.deepEqual(listTree(dst), ['d/', 'd/.blit.g.0123456789ab.tmp', 'd/.blit.h.0123456789ab.tmp', 'd/f']);
    assert.ok(r.warnings().some((w) => /interrupted run/.test(w)));
    assert.deepEqual(r.items('delete'), [], 'temps are never mirror deletions');
  });

  it('an already aborted signal changes nothing', async () => {
    const src = tempDir();
    const dst = path.join(tempDir(), 'never');
    writeTree(src, { 'a': 'a' });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(run(src + '/', dst, opts({ signal: ac.signal })), (e: unknown) => e instanceof BlitError && e.code === 'Cancelled');
    assert.equal(fs.existsSync(dst), false);
  });

  it('a full destination (ENOSPC) is fatal NoSpace with no partial file', async function () {
    const src = tempDir();
    const mnt = tempDir();
    writeTree(src, { 'a.bin': Buffer.alloc(600 * 1024, 1), 'b.bin': Buffer.alloc(600 * 1024, 2) });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      this.skip(); // needs CAP_SYS_ADMIN to mount a tiny tmpfs; the CLI suite covers ENOSPC via /dev/full
    }
    try {
      await assert.rejects(run(src + '/', mnt, opts({ debug: { workers: 1 } })), (e: unknown) => e instanceof BlitError && e.code === 'NoSpace');
      assert.deepEqual(tempsUnder(mnt), []);
      for (const f of listTree(mnt)) assert.equal(fs.statSync(path.join(mnt, f)).size, 600 * 1024, `${f} complete or absent`);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('engine: stall detector (fake clock)', () => {
  /** An interval timer on a fake clock: advance() fires it every interval, as a running process would. */
  class FakeClock implements Clock {
    t = 0;
    fn: (() => void) | null = null;
    every = 0;
    private due = 0;
    now(): number {
      return this.t;
    }
    setInterval(fn: () => void, ms: number): unknown {
      this.fn = fn;
      this.every = ms;
      this.due = this.t + ms;
      return 1;
    }
    clearInterval(): void {
      this.fn = null;
    }
    advance(ms: number): void {
      const end = this.t + ms;
      while (this.fn && this.due <= end) {
        this.t = this.due;
        this.due += this.every;
        this.fn();
      }
      this.t = end;
    }
    /** The process is stopped for `ms` (SIGSTOP, a sleeping laptop): on waking, the timer fires once, late. */
    suspend(ms: number): void {
      this.t += ms;
      this.due = this.t + this.every;
      this.fn?.();
    }
  }

  it('fires once after the timeout without progress, naming the stage and what was in flight', () => {
    const clock = new FakeClock();
    const errors: BlitError[] = [];
    const d = new StallDetector({ timeoutMs: 10_000, clock, describeInFlight: () => 'big.iso', onStall: (e) => errors.push(e) });
    d.start();
    d.tick('copy');
    clock.advance(9_999);
    assert.equal(errors.length, 0);
    clock.advance(1);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'Stalled');
    assert.match(errors[0]!.message, /stage: copy/);
    assert.match(errors[0]!.message, /big\.iso/);
    clock.advance(60_000);
    assert.equal(errors.length, 1, 'fires once, then stops its timer');
    assert.equal(clock.fn, null);
  });

  it('a heartbeat polled before each check (a worker deep in one big file) keeps it quiet', () => {
    const clock = new FakeClock();
    let beats = 0;
    let seen = 0;
    let fired = 0;
    const d: StallDetector = new StallDetector({
      timeoutMs: 1_000,
      clock,
      beforeCheck: () => {
        if (beats !== seen) {
          seen = beats;
          d.tick('copy');
        }
      },
      describeInFlight: () => 'huge.img',
      onStall: () => fired++,
    });
    d.start();
    for (let i = 0; i < 10; i++) {
      beats++;
      clock.advance(999);
    }
    assert.equal(fired, 0);
    clock.advance(1_000);
    assert.equal(fired, 1, 'no heartbeat for a full timeout: stalled');
  });

  it('a process stopped longer than the timeout (Ctrl-Z, then fg) is not stalled on waking; a real stall after is', () => {
    const clock = new FakeClock();
    let fired = 0;
    const d = new StallDetector({ timeoutMs: 10_000, clock, describeInFlight: () => '', onStall: () => fired++ });
    d.start();
    d.tick('walk');
    clock.advance(3_000);
    clock.suspend(60_000);
    assert.equal(fired, 0, 'the 60 s the process was stopped counted as no progress');
    clock.advance(5_000); // 3 s before the stop, 1 s (one interval) for the late check, 5 s after: 9 s
    assert.equal(fired, 0);
    clock.advance(2_000);
    assert.equal(fired, 1, 'no progress for 10 s of running time: stalled');
    d.stop();
  });

  it('progress in any stage resets the timer', () => {
    const clock = new FakeClock();
    let fired = 0;
    const d = new StallDetector({ timeoutMs: 1_000, clock, describeInFlight: () => '', onStall: () => fired++ });
    d.start();
    for (let i = 0; i < 20; i++) {
      clock.advance(900);
      d.tick(i % 2 ? 'walk' : 'copy');
    }
    assert.equal(fired, 0);
    clock.advance(1_000);
    assert.equal(fired, 1);
    d.stop();
  });
});
