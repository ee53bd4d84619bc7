/**
 * blitd answers other calls while a move's syncfs is in progress (move-sync, 2026-11-21): the
 * sync runs on a libuv pool thread, not on the main thread that serves gRPC.
 *
 * A slow write-back is held, not timed: the module is an ext4 on a loop device whose backing file
 * lives on a second loop-mounted ext4, and that outer filesystem is frozen (fsfreeze). The inner
 * filesystem takes writes into its page cache as usual, but its write-back blocks until the outer
 * one is thawed, so the move's syncfs stays in the kernel for as long as the test wants. The test
 * sees the sync in progress in /proc/PID/task/TID/syscall, asks blitd for its modules, checks the
 * sync is still held once the answer came, then thaws and the move completes. Needs root (mount,
 * loop devices); skipped where mount is refused, as the tmpfs tests.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTree, type RunResult } from './harness';
import { moduleFixture } from './module-fixture';

/** syncfs(2)'s number, as /proc/PID/task/TID/syscall shows a thread blocked in it. */
const SYS_SYNCFS = process.arch === 'arm64' ? 267 : 306;

/** Threads of `pid` inside syncfs right now. */
function threadsInSyncfs(pid: number): number[] {
  const tids: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let nr = '';
    try {
      nr = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')[0]!;
    } catch {
      continue; // the thread ended
    }
    if (nr === String(SYS_SYNCFS)) tids.push(Number(tid));
  }
  return tids;
}

const run = (cmd: string, args: string[]): void => void execFileSync(cmd, args, { stdio: 'ignore' });

describe('remote: blitd serves other calls while a move syncs (move-sync)', function () {
  this.timeout(120_000);
  const mounts: string[] = [];
  let frozen: string | undefined;
  const thaw = (): void => {
    if (frozen) run('fsfreeze', ['-u', frozen]);
    frozen = undefined;
  };
  const fx = moduleFixture('blit-move-held-', {
    beforeCleanup: () => {
      for (const m of mounts.splice(0).reverse()) run('umount', [m]);
    },
  });

  it('push: list-modules answers while the syncfs before the item batch is held', async function () {
    const outer = path.join(fx.dir, 'outer');
    fs.mkdirSync(outer);
    fs.closeSync(fs.openSync(path.join(fx.dir, 'outer.img'), 'w'));
    fs.truncateSync(path.join(fx.dir, 'outer.img'), 64 << 20);
    run('mkfs.ext4', ['-q', '-F', path.join(fx.dir, 'outer.img')]);
    try {
      run('mount', ['-o', 'loop', path.join(fx.dir, 'outer.img'), outer]);
    } catch {
      this.skip();
    }
    mounts.push(outer);
    const innerImg = path.join(outer, 'inner.img');
    fs.closeSync(fs.openSync(innerImg, 'w'));
    fs.truncateSync(innerImg, 32 << 20);
    run('mkfs.ext4', ['-q', '-F', innerImg]);
    // The module is the inner filesystem; few journal commits (they would block too while held).
    run('mount', ['-o', 'loop,noatime,commit=300', innerImg, fx.moduleDir]);
    mounts.push(fx.moduleDir);

    const daemon = await fx.start();
    const pid = daemon.proc.pid!;
    const src = path.join(fx.dir, 'src');
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 8; i++) files[`f${i}`] = Buffer.alloc(256 << 10, i + 1);
    writeTree(src, files);

    let verdict: string | undefined;
    let sources: string[] = [];
    // Set by the move's promise (an object: a closure's assignment is not seen by narrowing).
    const end: { moved?: RunResult } = {};
    let result: RunResult | undefined;
    try {
      run('fsfreeze', ['-f', outer]);
      frozen = outer;
      const move = fx.blit(['move', `${src}/`, fx.remote('d/')]).then((r) => (end.moved = r));
      // Wait for the state, not for a time: a blitd thread inside syncfs, or the move's end.
      while (threadsInSyncfs(pid).length === 0 && !end.moved) await new Promise((r) => setTimeout(r, 20));
      assert.equal(end.moved, undefined, `the move ended before its sync was seen held: ${JSON.stringify(end.moved)}`);
      const syncing = threadsInSyncfs(pid);
      assert.ok(!syncing.includes(pid), `blitd's main thread (${pid}) is the one in syncfs: it cannot serve other calls`);

      // Not a measurement: a main thread in syncfs would never answer while the freeze holds.
      let deadline: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        fx.blit(['list-modules', daemon.address]),
        new Promise<undefined>((resolve) => (deadline = setTimeout(() => resolve(undefined), 30_000))),
      ]);
      clearTimeout(deadline);
      if (!answer) verdict = 'list-modules got no answer in 30 s while the move\'s syncfs was held';
      else {
        assert.equal(answer.code, 0, answer.stderr);
        assert.match(answer.stdout, /^default\trw/m);
        // The answer came while the sync was still in the kernel, and before any source went.
        assert.ok(threadsInSyncfs(pid).length > 0, 'the syncfs ended before list-modules answered: nothing shown');
        sources = fs.readdirSync(src).sort();
      }
      thaw();
      result = await move;
    } finally {
      thaw();
    }
    assert.equal(verdict, undefined, verdict);
    assert.deepEqual(sources, Object.keys(files).sort(), 'a source was removed while its copy was not yet synced');
    assert.equal(result?.code, 0, result?.stderr);
    assert.deepEqual(fs.readdirSync(src), []);
    for (const [rel, data] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(fx.moduleDir, 'd', rel)).equals(data), rel);
  });
});
