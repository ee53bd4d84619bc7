/**
 * blitd serves every client on one event loop. --checksum hashed a file with a synchronous read of
 * the whole file (engine/checksum.ts hashFile): a push's destination file (remote/destination.ts)
 * and each file of a pull's manifest (remote/source.ts) held every other client for the file's
 * read time, seconds for a few GiB. Now each chunk is read on the libuv pool (HashQueue).
 *
 * Proven by order, not time: a sparse file of a few GiB (nothing on disk, seconds to hash) is
 * hashed by blitd; once blitd holds it open (/proc/PID/fd), another client asks ListModules; when
 * the answer arrives the file must still be open in blitd. A synchronous hash opens and closes
 * the file in one turn of the loop, so the answer could only come after the close.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { BLIT, waitFor, type RunResult } from './harness';
import { CLI_ENV, moduleFixture, type ModuleFixture } from './module-fixture';
import { jsonSummary } from './transfer-helpers';

/** Seconds of hashing here (~1.4 s per GiB on this machine, loaded), nothing written to disk. */
const BIG = 3 * 1024 ** 3;

function sparse(file: string, size = BIG): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
}

/** Does process `pid` hold `file` open? */
function holdsOpen(pid: number, file: string): boolean {
  const dir = `/proc/${pid}/fd`;
  return fs.readdirSync(dir).some((fd) => {
    try {
      return fs.readlinkSync(path.join(dir, fd)) === file;
    } catch {
      return false; // closed meanwhile
    }
  });
}

/** Starts `blit args` against the fixture's blitd; resolves once blitd holds `file` open (its hash began). */
async function runUntilOpen(fx: ModuleFixture, args: string[], file: string): Promise<{ run: Promise<RunResult>; ended: () => boolean }> {
  let ended = false;
  const run = fx.blit(args).finally(() => (ended = true));
  await waitFor(() => ended || holdsOpen(fx.daemon.proc.pid!, file), 60_000, `blitd to open ${file}`);
  if (ended) assert.fail(`the run ended before blitd opened ${file}: ${(await run).stderr}`);
  return { run, ended: () => ended };
}

/** ListModules answered on `c` (a connection made before the hash began), its one module named. */
async function listModules(c: DaemonConnection): Promise<void> {
  const modules = await c.unary<pb.ListModulesResponse__Output>((o, cb) => c.client.ListModules({}, o, cb), 60_000);
  assert.deepEqual(modules.modules.map((m) => m.name), ['default']);
}

/**
 * Runs `blit args` against the fixture's blitd; once blitd holds `file` open, asks ListModules on
 * a connection made before the run; returns whether `file` was still open in blitd when the
 * answer came, and the run's result.
 */
async function answerWhileOpen(fx: ModuleFixture, args: string[], file: string): Promise<{ stillOpen: boolean; run: RunResult }> {
  const c = await connectDaemon({ host: '127.0.0.1', port: fx.daemon.port });
  try {
    const { run } = await runUntilOpen(fx, args, file);
    await listModules(c);
    const stillOpen = holdsOpen(fx.daemon.proc.pid!, file);
    return { stillOpen, run: await run };
  } finally {
    c.close();
  }
}

/** CPU ticks (user + system) of a whole process, or of one of its threads (/proc/PID/task/TID). */
function cpuTicks(statFile: string): number {
  const f = fs.readFileSync(statFile, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' '); // rest[0] is field 3 (state)
  return Number(rest[11]) + Number(rest[12]); // fields 14 and 15: utime, stime
}

describe('--checksum: blitd answers other clients while it hashes a big file (real blitd)', function () {
  this.timeout(180_000);
  const fx = moduleFixture('blit-checksum-loop-');

  it('push: the destination file is hashed without holding the event loop', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    sparse(path.join(src, 'big'));
    const dst = path.join(fx.moduleDir, 'dst', 'big');
    sparse(dst);
    const { stillOpen, run } = await answerWhileOpen(fx, ['copy', '--checksum', '--json', `${src}/`, fx.remote('dst')], dst);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(jsonSummary(run.stdout).filesUnchanged, 1, 'hashed equal: not sent');
    assert.ok(stillOpen, 'ListModules was answered only after blitd had hashed (and closed) the destination file: the hash held the event loop');
  });

  it("push: a big destination file's hashing CPU is spent on a hashing thread, not on blitd's event-loop thread", async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    sparse(path.join(src, 'big'));
    const dst = path.join(fx.moduleDir, 'dst', 'big');
    sparse(dst);
    const pid = fx.daemon.proc.pid!;
    const { run, ended } = await runUntilOpen(fx, ['copy', '--checksum', '--json', `${src}/`, fx.remote('dst')], dst);
    const before = { all: cpuTicks(`/proc/${pid}/stat`), loop: cpuTicks(`/proc/${pid}/task/${pid}/stat`) };
    await waitFor(() => ended() || !holdsOpen(pid, dst), 120_000, `blitd to close ${dst}`);
    const after = { all: cpuTicks(`/proc/${pid}/stat`), loop: cpuTicks(`/proc/${pid}/task/${pid}/stat`) };
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).filesUnchanged, 1, 'hashed equal: not sent');
    const all = after.all - before.all;
    const loop = after.loop - before.loop;
    // 3 GiB hashed: seconds of CPU (hundreds of ticks). On the loop's thread it was most of them.
    assert.ok(all >= 50, `blitd spent only ${all} ticks while it hashed 3 GiB: the hash was not measured`);
    assert.ok(loop * 4 < all, `blitd's event-loop thread spent ${loop} of the process's ${all} CPU ticks while it hashed ${dst}: the hashing ran on it`);
  });

  it("a pull's client gone mid-hash: blitd's hashing thread stops within a chunk and the file is closed", async () => {
    await fx.start();
    const big = path.join(fx.moduleDir, 'psrc', 'big');
    sparse(big, 64 * 1024 ** 3); // about a minute and a half of hashing here
    const pid = fx.daemon.proc.pid!;
    const args = ['copy', '--checksum', '--dry-run', fx.remote('psrc/'), path.join(fx.dir, 'pulled')];
    const client = spawn(process.execPath, [BLIT, ...args], { stdio: 'ignore', env: { ...process.env, ...CLI_ENV } });
    const gone = new Promise((r) => client.once('exit', r));
    await waitFor(() => client.exitCode !== null || holdsOpen(pid, big), 60_000, `blitd to open ${big}`);
    assert.equal(client.exitCode, null, 'the client ended before blitd began the hash');
    client.kill('SIGKILL');
    await gone;
    // A hash that ignored its stop would hold the file for the rest of the 64 GiB.
    await waitFor(() => !holdsOpen(pid, big), 20_000, `blitd to stop hashing and close ${big} once its client was gone`);
    const c = await connectDaemon({ host: '127.0.0.1', port: fx.daemon.port });
    try {
      await listModules(c);
    } finally {
      c.close();
    }
  });

  it('pull: the manifest checksum of a source file is hashed without holding the event loop', async () => {
    await fx.start();
    const big = path.join(fx.moduleDir, 'psrc', 'big');
    sparse(big);
    // A dry run: blitd hashes its file for the manifest, nothing of it is sent.
    const { stillOpen, run } = await answerWhileOpen(fx, ['copy', '--checksum', '--dry-run', '--json', fx.remote('psrc/'), path.join(fx.dir, 'pulled')], big);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(jsonSummary(run.stdout).filesTransferred, 1);
    assert.ok(stillOpen, "ListModules was answered only after blitd had hashed (and closed) the pull's source file: the hash held the event loop");
  });
});
