/**
 * blitd's log on a stderr pipe whose reader lags (a supervisor: systemd's journal, the VS Code
 * extension, `blitd 2>&1 | slow-reader`). Node makes fd 2 O_NONBLOCK on a pipe; the logger's
 * fs.writeSync got EAGAIN once the pipe (64 KiB) was full and swallowed the line: 1,731 of 2,000
 * arrived. Now the lines wait in process.stderr's queue, in order, up to MAX_QUEUED_LOG_BYTES; past
 * that they are dropped and counted, and one line names the count once the reader caught up.
 * The trigger: `du` over a directory blitd may list but not search (mode 0400, blitd without the
 * capabilities that bypass permissions): one warn line per entry, ~300 bytes each (long names).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { MAX_QUEUED_LOG_BYTES } from '../../src/daemon/stderr-queue';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { waitFor } from './harness';
import { moduleFixture } from './module-fixture';

/** Below MAX_LEFT_OUT_NAMED (1,000): every entry is named and logged, one line each. */
const ENTRIES = 900;
const SKIPPED = /^\S+Z WARN du: skipped error="(f\d+)-x+: cannot stat: permission denied \(EACCES\)"$/;
const DROPPED = /^\S+Z WARN (\d+) log lines dropped \(stderr reader too slow\) dropped=(\d+)$/;

describe('blitd: its log on a stderr pipe whose reader lags or stalls', function () {
  this.timeout(180_000);
  const fx = moduleFixture('blit-log-queue-', {
    beforeCleanup: (dir) => fs.chmodSync(path.join(dir, 'module', 'many'), 0o755),
  });

  beforeEach(() => {
    fs.mkdirSync(path.join(fx.moduleDir, 'many'));
    for (let i = 0; i < ENTRIES; i++) fs.writeFileSync(path.join(fx.moduleDir, 'many', `f${i}-${'x'.repeat(200)}`), '');
    fs.chmodSync(path.join(fx.moduleDir, 'many'), 0o400);
  });

  /** One du over `many`: the names blitd logged, in the order it met them. */
  async function du(c: DaemonConnection): Promise<string[]> {
    const r = await c.unary<pb.DiskUsageResponse__Output>((o, cb) => c.client.DiskUsage({ module: 'default', path: Buffer.from('many') }, o, cb), 60_000);
    assert.equal(r.unreadable.length, ENTRIES);
    return r.unreadable.map((u) => path.basename(u.path.toString()).split('-')[0]!);
  }

  /** The names in blitd's skipped lines; every line of the log whole (one of the known shapes). */
  function logged(stderr: string): (string | number)[] {
    const out: (string | number)[] = [];
    for (const line of stderr.split('\n').slice(0, -1)) {
      const skipped = SKIPPED.exec(line);
      const dropped = DROPPED.exec(line);
      if (skipped) out.push(skipped[1]!);
      else if (dropped) out.push(Number(dropped[1]));
      else assert.match(line, /^\S+Z (INFO|WARN) (listening|shutting down|stopped)\b/, `a cut or unknown line: ${line.slice(0, 300)}`);
    }
    return out;
  }

  it('a reader that lags: every line arrives, in order, whole', async () => {
    await fx.start({}, { unprivileged: true });
    const c = await connectDaemon({ host: '127.0.0.1', port: fx.daemon.port });
    try {
      fx.daemon.proc.stderr!.pause();
      // ~650 KB of log with nobody reading: ten times the pipe's 64 KiB.
      const produced = [...(await du(c)), ...(await du(c))];
      fx.daemon.proc.stderr!.resume();
      // Everything blitd wrote is in once it has exited (it flushes before).
      assert.equal(await fx.daemon.stop(), 0);
      const seen = logged(fx.daemon.stderr());
      assert.equal(seen.length, produced.length, 'lines arrived of those produced');
      assert.deepEqual(seen, produced);
    } finally {
      c.close();
    }
  });

  it('a reader that stalls: blitd keeps serving, memory bounded, the dropped lines counted in one line, the lines around it whole', async () => {
    await fx.start({}, { unprivileged: true });
    const c = await connectDaemon({ host: '127.0.0.1', port: fx.daemon.port });
    try {
      fx.daemon.proc.stderr!.pause();
      const produced: string[] = [];
      // Past the bound by 1 MiB at least (a line is over 250 bytes): ~280 KB a call.
      while (produced.length * 250 < MAX_QUEUED_LOG_BYTES + 1024 * 1024) produced.push(...(await du(c)));
      const modules = await c.unary<pb.ListModulesResponse__Output>((o, cb) => c.client.ListModules({}, o, cb), 60_000);
      assert.deepEqual(modules.modules.map((m) => m.name), ['default']);
      fx.daemon.proc.stderr!.resume();
      await waitFor(() => / log lines dropped /.test(fx.daemon.stderr()), 60_000, 'the dropped line');
      const after = await du(c);
      assert.equal(await fx.daemon.stop(), 0);

      const seen = logged(fx.daemon.stderr());
      const gap = seen.findIndex((x) => typeof x === 'number');
      assert.ok(gap > 0, 'no dropped line');
      const [before, dropped, rest] = [seen.slice(0, gap) as string[], seen[gap] as number, seen.slice(gap + 1)];
      // What arrived before the gap is what was produced first, in order; the gap is the rest.
      assert.deepEqual(before, produced.slice(0, before.length));
      assert.equal(dropped, produced.length - before.length);
      assert.deepEqual(rest, after);
      // The queue held no more than its bound (plus what the pipe and this reader took).
      const bytesBefore = fx.daemon.stderr().indexOf(' log lines dropped ');
      assert.ok(bytesBefore < MAX_QUEUED_LOG_BYTES + 512 * 1024, `${bytesBefore} bytes arrived before the gap`);
    } finally {
      c.close();
    }
  });

  it('a reader that never reads again: a stopped blitd exits all the same (its flush is bounded in time)', async () => {
    await fx.start({}, { unprivileged: true });
    const c = await connectDaemon({ host: '127.0.0.1', port: fx.daemon.port });
    try {
      fx.daemon.proc.stderr!.pause();
      await du(c);
    } finally {
      c.close();
    }
    // LOG_FLUSH_MS (5 s), then the exit; the harness gives up (and fails) after 60 s.
    assert.equal(await fx.daemon.stop(), 0);
    fx.daemon.proc.stderr!.resume();
  });
});
