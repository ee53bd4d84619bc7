/**
 * --checksum: a module file replaced by a symlink between blitd's listing and its hash (openToHash,
 * O_NOFOLLOW | O_NONBLOCK). The symlink leads to a file OUTSIDE the module whose content is the
 * client's, so a hash that followed it answers "same content": the push left the symlink in place
 * as the client's file, the pull took the client's copy as current (both exit 0, "2 unchanged",
 * checked by dropping O_NOFOLLOW); blitd read a file outside its module either way.
 * Deterministic: blitd runs under strace, stopped at the fstat (statx on the fd) of the hash of
 * `a.bin`, which HashQueue opens in the same turn as, and just before, `b.bin`'s (two hashes at
 * once, in manifest order); `b.bin` is swapped while blitd is stopped. strace's -y names each fd's
 * file, and it traces every call on the outside file: the trace shows whether blitd touched it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, writeTree, type Daemon } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { jsonSummary } from './transfer-helpers';
import { readOr, releaseTraced, tracedPid, waitStopped } from '../strace-stops';
import { needStrace } from '../need-strace';

// Same size, different bytes: only the hash tells them apart.
const CLIENT = 'c'.repeat(4096);
const MODULE = 'm'.repeat(4096);

describe('--checksum: a file swapped for a symlink out of the module between listing and hash', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-checksum-swap-');

  /**
   * blitd on the module under strace: stopped at its first fstat of `first` (the hash's, after its
   * open); calls on `outside` traced (never stopped: blitd has none before the stop).
   */
  async function tracedDaemon(first: string, outside: string): Promise<{ daemon: Daemon; trace: string }> {
    needStrace();
    const trace = path.join(fx.dir, 'trace');
    const wrap = [
      'strace', '-f', '-qq', '-y', '-o', trace, '-P', first, '-P', outside,
      '-e', 'trace=statx,fstat,newfstatat,openat,read,pread64,chmod,fchmodat,utimensat',
      '-e', 'inject=statx,fstat,newfstatat:signal=SIGSTOP:when=1', '--',
    ];
    const daemon = await startDaemon(['--port', '0', '--root', fx.moduleDir], { env: CLI_ENV, wrap });
    return { daemon, trace };
  }

  /** Runs `args` against `daemon`, swaps `swapped` for a symlink to `outside` while blitd is stopped at the hash. */
  async function runSwapped(daemon: Daemon, trace: string, args: string[], swapped: string, outside: string) {
    const run = runBlit(['copy', '--checksum', '--json', ...args], { env: CLI_ENV, timeoutMs: 90_000 });
    await waitStopped(trace, 60_000, 'blitd to stop at the hash of a.bin', () => daemon.stderr());
    fs.rmSync(swapped);
    fs.symlinkSync(outside, swapped);
    process.kill(tracedPid(daemon.proc.pid!), 'SIGCONT');
    const out = await run;
    const what = `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${daemon.stderr()}\n--- trace\n${readOr(trace)}`;
    return { out, what };
  }

  /** Nothing of `outside` opened, read or changed by blitd; blitd serves the next transfer. */
  async function assertContained(daemon: Daemon, trace: string, outside: string, what: string): Promise<void> {
    assert.doesNotMatch(readOr(trace), new RegExp(outside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `blitd touched ${outside}\n${what}`);
    assert.equal(fs.readFileSync(outside, 'utf8'), CLIENT);
    assert.equal(fs.statSync(outside).mode & 0o7777, 0o600, 'the outside file keeps its mode');
    const src = path.join(fx.dir, 'again');
    writeTree(src, { 'n.txt': 'next' });
    const again = await runBlit(['copy', '--checksum', `${src}/`, `127.0.0.1:${daemon.port}:/default/again/`], { env: CLI_ENV });
    assert.equal(again.code, 0, `${again.stderr}\n${what}`);
    assert.equal(fs.readFileSync(path.join(fx.moduleDir, 'again', 'n.txt'), 'utf8'), 'next');
  }

  it('push: the destination file swapped is named failing, not taken as unchanged; nothing outside read', async () => {
    const src = path.join(fx.dir, 'src');
    const dst = path.join(fx.moduleDir, 'dst');
    const outside = path.join(fx.dir, 'outside', 'b.bin');
    writeTree(src, { 'a.bin': 'A'.repeat(4096), 'b.bin': CLIENT });
    writeTree(dst, { 'a.bin': 'A'.repeat(4096), 'b.bin': MODULE });
    writeTree(path.dirname(outside), { 'b.bin': CLIENT });
    fs.chmodSync(outside, 0o600);
    fs.chmodSync(path.join(src, 'b.bin'), 0o644);
    const { daemon, trace } = await tracedDaemon(path.join(dst, 'a.bin'), outside);
    try {
      const { out, what } = await runSwapped(daemon, trace, [`${src}/`, `127.0.0.1:${daemon.port}:/default/dst/`], path.join(dst, 'b.bin'), outside);
      assert.equal(out.code, 2, what);
      assert.match(out.stderr, /b\.bin: cannot create file: not a regular file any more \(replaced since it was listed\)/, what);
      const s = jsonSummary(out.stdout);
      assert.equal(s.filesUnchanged, 1, `only a.bin is unchanged\n${what}`);
      assert.deepEqual((s.failures as Array<{ path: string }>).map((f) => f.path), ['b.bin'], what);
      assert.equal(fs.readlinkSync(path.join(dst, 'b.bin')), outside, 'the symlink is left as found');
      await assertContained(daemon, trace, outside, what);
    } finally {
      await releaseTraced(daemon);
    }
  });

  it('pull: the source file swapped is named failing (its hash not sent), the client keeps its own copy; nothing outside read', async () => {
    const v = path.join(fx.moduleDir, 'v');
    const dst = path.join(fx.dir, 'pulled');
    const outside = path.join(fx.dir, 'outside', 'b.bin');
    writeTree(v, { 'a.bin': 'A'.repeat(4096), 'b.bin': MODULE });
    writeTree(dst, { 'a.bin': 'A'.repeat(4096), 'b.bin': CLIENT });
    writeTree(path.dirname(outside), { 'b.bin': CLIENT });
    fs.chmodSync(outside, 0o600);
    const { daemon, trace } = await tracedDaemon(path.join(v, 'a.bin'), outside);
    try {
      const { out, what } = await runSwapped(daemon, trace, [`127.0.0.1:${daemon.port}:/default/v/`, `${dst}/`], path.join(v, 'b.bin'), outside);
      assert.equal(out.code, 2, what);
      assert.match(out.stderr, /b\.bin: cannot hash: not a regular file any more \(replaced since it was listed\)/, what);
      const s = jsonSummary(out.stdout);
      assert.equal(s.filesUnchanged, 1, `only a.bin is unchanged\n${what}`);
      assert.equal(fs.readFileSync(path.join(dst, 'b.bin'), 'utf8'), CLIENT, 'the client keeps its file');
      await assertContained(daemon, trace, outside, what);
    } finally {
      await releaseTraced(daemon);
    }
  });
});
