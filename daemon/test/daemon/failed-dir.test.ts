/**
 * A destination directory that cannot be created (here: inside an immutable directory, chattr +i,
 * which binds root too) is ONE failure naming its cause; what is below it is not attempted and
 * counted (`skippedInFailedDirs`), as rsync says "skipping any contents from this failed
 * directory" once. Each of its files used to fail as "cannot write: no such file or directory
 * [SourceNotFound]" (a destination ENOENT read as a missing source), its subdirectories as
 * "cannot create dir", and each of them again as "cannot set directory metadata". Push (blitd's
 * destination) and pull (the client's), over the TCP data plane: 150 files in the directory, so
 * the stream workers' small-file path is taken too. A local copy says the same (new-dirs.ts):
 * there each file used to fail as "copy: operation not permitted" and each subdirectory again.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failureOf } from '../../src/engine/walk';
import { BLIT, tempDir, writeTree } from './harness';
import { runStoppedAt } from '../strace-stops';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { tempFilesIn } from './transfer-helpers';

const chattr = (flag: string, p: string): void => {
  const c = spawnSync('chattr', [flag, p], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`chattr ${flag} (needs root and a file system with the immutable flag): ${c.stderr}`);
};

describe('a destination directory that cannot be created (push, pull, local)', function () {
  this.timeout(60_000);
  let locked: string | undefined;
  const fx = moduleFixture('blit-failed-dir-', {
    beforeCleanup: () => {
      if (locked) chattr('-i', locked);
      locked = undefined;
    },
  });

  const tree = (): Record<string, string> => {
    const t: Record<string, string> = { 'ok/a.txt': 'a', 'locked/sub/deep/x': 'x' };
    for (let i = 0; i < 150; i++) t[`locked/sub/f${i}`] = `f${i}`;
    return t;
  };

  const check = (r: { code: number | null; stdout: string; stderr: string }, dst: string, blitd = true, skipped = 152): void => {
    const what = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- blitd\n${blitd ? fx.daemon.stderr() : '(local)'}`;
    assert.equal(r.code, 2, what);
    const s = JSON.parse(r.stdout) as { skippedInFailedDirs: number; failures: { path: string; code: string; reason: string }[] };
    const sub = s.failures.filter((f) => f.path.startsWith('locked/sub'));
    assert.deepEqual(sub, [{ path: 'locked/sub', code: 'PermissionDenied', reason: 'cannot create directory: operation not permitted (EPERM)' }], what);
    // 'locked' itself is immutable: its metadata cannot be set (a failure of its own). Nothing else.
    assert.deepEqual(s.failures.map((f) => f.path).filter((p) => !p.startsWith('locked/sub')), ['locked'], what);
    assert.equal(s.skippedInFailedDirs, skipped, what);
    assert.doesNotMatch(r.stderr, /SourceNotFound|no such file/, what);
    assert.equal(fs.readFileSync(path.join(dst, 'ok', 'a.txt'), 'utf8'), 'a');
    assert.deepEqual(fs.readdirSync(path.join(dst, 'locked')), [], what);
    assert.deepEqual(tempFilesIn(dst), [], what);
  };

  it('push: one failure for the directory, its 152 entries counted, the rest copied', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, tree());
    locked = path.join(fx.moduleDir, 'dst', 'locked');
    fs.mkdirSync(locked, { recursive: true });
    chattr('+i', locked);
    await fx.start();
    check(await fx.blit(['copy', '--json', `${src}/`, fx.remote('dst')]), path.join(fx.moduleDir, 'dst'));
  });

  it('pull: the same on the client', async () => {
    writeTree(path.join(fx.moduleDir, 'src'), tree());
    const dst = path.join(fx.dir, 'back');
    locked = path.join(dst, 'locked');
    fs.mkdirSync(locked, { recursive: true });
    chattr('+i', locked);
    await fx.start();
    check(await fx.blit(['copy', '--json', fx.remote('src/'), dst]), dst);
  });

  // The same words, counts and exit as push and pull. Locally the directory's mkdir runs in the
  // background while the workers (or the main thread, while they start) meet the same cause on
  // each file: each file, the symlink, `deep` and its file each used to fail on their own.
  for (const nativeBatch of ['1', '0']) {
    it(`local (BLIT_NATIVE_BATCH=${nativeBatch}): the same one failure and count as push and pull`, async () => {
      const src = path.join(fx.dir, 'src');
      writeTree(src, tree());
      fs.symlinkSync('f0', path.join(src, 'locked', 'sub', 'ln'));
      const dst = path.join(fx.dir, 'dst');
      locked = path.join(dst, 'locked');
      fs.mkdirSync(locked, { recursive: true });
      chattr('+i', locked);
      const r = await fx.blit(['copy', '--json', `${src}/`, dst], { ...CLI_ENV, BLIT_NATIVE_BATCH: nativeBatch });
      check(r, dst, false, 153); // the symlink counted too
    });
  }
});

describe('a destination ENOENT is not SourceNotFound', () => {
  it('the same real errno reads SourceNotFound on the source side, IoError on the destination side', () => {
    const t = tempDir('blit-enoent-');
    try {
      let err: unknown;
      try {
        fs.openSync(path.join(t.dir, 'gone', 'f'), 'wx');
      } catch (e) {
        err = e;
      }
      const rel = Buffer.from('gone/f');
      assert.deepEqual(failureOf(err, rel, 'cannot read'), { path: 'gone/f', code: 'SourceNotFound', reason: 'cannot read: no such file or directory (ENOENT)' });
      assert.deepEqual(failureOf(err, rel, 'cannot write', 'destination'), { path: 'gone/f', code: 'IoError', reason: 'cannot write: no such file or directory (ENOENT)' });
    } finally {
      t.cleanup();
    }
  });
});

// hunt-api's leftover: a push whose destination directories `blit rm` removed named each failure's
// path twice and called it [SourceNotFound]. The push is stopped at its first sendfile (the big
// file: the directories exist by then), the destination tree removed, then let go on.
describe('a push whose destination directories are removed under it (hunt-api)', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-removed-dir-');

  it('each failure names its path once, IoError with the errno text, never SourceNotFound; exit 2', async () => {
    const src = path.join(fx.dir, 'src');
    const t: Record<string, string | Buffer> = { 'big/huge': Buffer.alloc(40 << 20, 7) };
    for (let i = 0; i < 50; i++) t[`d${i}/f`] = `f${i}`;
    writeTree(src, t);
    await fx.start();
    const dst = path.join(fx.moduleDir, 'dst');
    const out = await runStoppedAt([process.execPath, BLIT, 'copy', '--json', `${src}/`, fx.remote('dst')], {
      calls: 'sendfile',
      env: { ...process.env, ...CLI_ENV },
      timeoutMs: 100_000,
      // blitd may still be writing the small files that arrived before the stop: a directory
      // it fills while rmSync empties it is ENOTEMPTY once; rmSync retries those (native-hash saw it).
      onFirstStop: () => fs.rmSync(dst, { recursive: true, maxRetries: 20, retryDelay: 50 }),
    });
    const what = `exit ${out.code}, ${out.stops} stop(s)\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
    assert.ok(out.stops >= 1, `blit never called sendfile: ${what}`);
    assert.equal(out.code, 2, what);
    const failures = (JSON.parse(out.stdout) as { failures: { path: string; code: string; reason: string }[] }).failures;
    assert.ok(failures.length > 0, what);
    for (const f of failures) {
      assert.equal(f.code, 'IoError', what);
      assert.match(f.reason, /^cannot [a-z ]+: no such file or directory \(ENOENT\)$/, what);
    }
    assert.ok(failures.some((f) => f.path === 'big' || f.path.startsWith('big/')), what);
    assert.doesNotMatch(out.stderr, /SourceNotFound|(\S+): \1: /, what);
  });
});
