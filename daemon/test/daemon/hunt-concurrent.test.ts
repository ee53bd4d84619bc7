/**
 * Two runs into one destination at once (hunt-concurrent): cron, the extension's upload on save
 * and a hand-run blit may overlap. Each interleaving is forced, not hoped for: strace stops one
 * run at a chosen call (strace-stops.ts), the other runs to its end meanwhile, then the first one
 * resumes.
 *
 * A mirror deletes after its copies (delete-after), from a listing taken before them, and reads a
 * dst-only directory's contents only when it deletes it. Files another run wrote meanwhile (a new
 * file in such a directory, a new version of a listed file) were deleted with the rest; now an
 * entry created since the mirror started is kept and named (DestinationChanged, exit 2).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, runBlit, writeTree, type RunResult } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { tempFilesIn } from './transfer-helpers';
import { runStoppedAt, type StoppedRun } from '../strace-stops';

/** The source of the mirror: big.bin is what it is stopped at (opened after the listing). */
function mirrorSource(dir: string): string {
  const src = path.join(dir, 'src');
  writeTree(src, { 'big.bin': Buffer.alloc(1 << 20, 7), 'a.txt': 'a' });
  return src;
}

/** What the destination holds before both runs: X.txt and olddir/ are not in the mirror's source. */
function oldDestination(dst: string): void {
  writeTree(dst, { 'X.txt': 'old X', 'gone.txt': 'old', 'olddir/o.txt': 'old o', 'links/one': 'linked' });
  // Two names of one inode: deleting the first changes the second's ctime, not its birth time.
  fs.linkSync(path.join(dst, 'links/one'), path.join(dst, 'links/two'));
}

/** The other run's source: a new X.txt and a new file in olddir/. */
function otherSource(dir: string): string {
  const other = path.join(dir, 'other');
  writeTree(other, { 'X.txt': 'X written by the other run', 'olddir/new.txt': 'new, written by the other run' });
  return other;
}

/** After both runs: what the other run wrote is there, named; what nobody touched went. */
function assertOtherRunKept(dst: string, out: StoppedRun): void {
  assert.equal(fs.readFileSync(path.join(dst, 'X.txt'), 'utf8'), 'X written by the other run', out.stderr);
  assert.equal(fs.readFileSync(path.join(dst, 'olddir/new.txt'), 'utf8'), 'new, written by the other run', out.stderr);
  for (const gone of ['gone.txt', 'olddir/o.txt', 'links']) assert.equal(fs.existsSync(path.join(dst, gone)), false, `${gone}: untouched, still deleted\n${out.stderr}`);
  assert.equal(fs.readFileSync(path.join(dst, 'big.bin')).length, 1 << 20);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /X\.txt: created after this mirror started .*\[DestinationChanged\]/);
  assert.match(out.stderr, /olddir\/new\.txt: created after this mirror started .*\[DestinationChanged\]/);
}

/** Waits until `file` was last changed more than `ms` ago (the stale-temp rule reads its ctime too). */
async function olderThan(file: string, ms: number): Promise<void> {
  const st = fs.statSync(file);
  await sleep(Math.max(0, Math.max(st.mtimeMs, st.ctimeMs) + ms + 100 - Date.now()));
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `mirror` (argv after `blit`) stopped at its first `stopAt` call; while it is held, `copy`
 * writes the other run's files into the destination. Returns the mirror's result once the copy
 * succeeded.
 */
async function mirrorAroundCopy(mirror: string[], stopAt: { calls: string; paths?: string[] }, copy: () => Promise<RunResult>): Promise<StoppedRun> {
  let copied: RunResult | undefined;
  const out = await runStoppedAt([process.execPath, BLIT, ...mirror], {
    ...stopAt,
    env: { ...process.env, ...CLI_ENV },
    timeoutMs: 100_000,
    onFirstStop: async () => {
      copied = await copy();
    },
  });
  assert.ok(copied, `never stopped\n${out.stderr}`);
  assert.equal(copied.code, 0, copied.stderr);
  return out;
}

describe('two runs into one destination at once (hunt-concurrent)', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-hunt-concurrent-');

  it('local: a mirror keeps what a copy wrote after the mirror listed the destination', async () => {
    const src = mirrorSource(fx.dir);
    const other = otherSource(fx.dir);
    const dst = path.join(fx.dir, 'dst');
    oldDestination(dst);
    const out = await mirrorAroundCopy(['mirror', '--yes', `${src}/`, `${dst}/`], { calls: 'open,openat', paths: [path.join(src, 'big.bin')] },
      () => runBlit(['copy', `${other}/`, `${dst}/`], { env: CLI_ENV }));
    assertOtherRunKept(dst, out);
  });

  it('push: a mirror through blitd keeps what another push wrote after blitd listed the module', async () => {
    await fx.start();
    const src = mirrorSource(fx.dir);
    const other = otherSource(fx.dir);
    const dst = path.join(fx.moduleDir, 'd');
    oldDestination(dst);
    const out = await mirrorAroundCopy(['mirror', '--yes', `${src}/`, `${fx.remote('d')}/`], { calls: 'sendfile' },
      () => fx.blit(['copy', `${other}/`, `${fx.remote('d')}/`]));
    assertOtherRunKept(dst, out);
    assert.deepEqual(tempFilesIn(dst), []);
  });

  it('pull: a mirror into a local destination keeps what a local copy wrote after blit listed it', async () => {
    await fx.start();
    mirrorSource(fx.moduleDir);
    const other = otherSource(fx.dir);
    const dst = path.join(fx.dir, 'dst');
    oldDestination(dst);
    // Stopped at its first pwrite64: the first received bytes, into big.bin's temp.
    const out = await mirrorAroundCopy(['mirror', '--yes', `${fx.remote('src')}/`, `${dst}/`], { calls: 'pwrite64' },
      () => runBlit(['copy', `${other}/`, `${dst}/`], { env: CLI_ENV }));
    assertOtherRunKept(dst, out);
  });

  it('local: a copy stopped past the stale-temp age loses its temp to another run: named, nothing under the real name', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'big.bin': Buffer.alloc(1 << 20, 5) }); // over SMALL_FILE_MAX: AtomicFile, not the native batch
    const other = path.join(fx.dir, 'other');
    writeTree(other, { 'b.txt': 'b' });
    const dst = path.join(fx.dir, 'dst');
    fs.mkdirSync(dst);
    let cleanup: RunResult | undefined;
    // Stopped with its temp written, about to be renamed: as a run suspended for 15 min.
    const out = await runStoppedAt([process.execPath, BLIT, 'copy', `${src}/`, `${dst}/`], {
      // Its first utimensat: AtomicFile.commit's futimens on the temp, right before its rename
      // (a stop takes effect once the call returns: a stop at the rename would come too late).
      calls: 'utimensat',
      env: { ...process.env, ...CLI_ENV },
      timeoutMs: 100_000,
      onFirstStop: async () => {
        const [temp] = tempFilesIn(dst);
        assert.ok(temp, 'the stopped copy has its temp');
        await olderThan(temp, 1000);
        cleanup = await runBlit(['copy', `${other}/`, `${dst}/`], { env: { ...CLI_ENV, BLIT_TEST_STALE_TEMP_MS: '1000' } });
      },
    });
    assert.ok(cleanup, `never stopped\n${out.stderr}`);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.match(cleanup.stderr, /removed a temp file left by an interrupted run/);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /big\.bin: its temp file was removed before it could be renamed into place \(another blit run removes temp files not written for 15 min\); not copied \[IoError\]/);
    assert.deepEqual(fs.readdirSync(dst), ['b.txt']);
  });

  it('push: the same file pushed twice at once ends as one whole copy, the last one renamed', async () => {
    await fx.start();
    const a = path.join(fx.dir, 'a');
    const b = path.join(fx.dir, 'b');
    writeTree(a, { 'f.bin': Buffer.alloc(3 << 20, 0xaa) });
    writeTree(b, { 'f.bin': Buffer.alloc(2 << 20, 0xbb) });
    let second: RunResult | undefined;
    // The first push stopped at its first sendfile (blitd has its temp open); the second runs to its end.
    const first = await runStoppedAt([process.execPath, BLIT, 'copy', `${a}/`, `${fx.remote('d')}/`], {
      calls: 'sendfile',
      env: { ...process.env, ...CLI_ENV },
      timeoutMs: 100_000,
      onFirstStop: async () => {
        second = await fx.blit(['copy', `${b}/`, `${fx.remote('d')}/`]);
        assert.ok(fs.readFileSync(path.join(fx.moduleDir, 'd/f.bin')).equals(fs.readFileSync(path.join(b, 'f.bin'))));
      },
    });
    assert.ok(second, `never stopped\n${first.stderr}`);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(fs.readFileSync(path.join(fx.moduleDir, 'd/f.bin')).equals(fs.readFileSync(path.join(a, 'f.bin'))), 'the first push, renamed last');
    assert.deepEqual(tempFilesIn(fx.moduleDir), []);
  });
});
