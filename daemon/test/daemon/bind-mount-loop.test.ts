/**
 * A module with itself bind-mounted inside it (`mount --bind M M/sub/loop`), the case hunt-load
 * left unprobed. A bind mount cannot recurse forever: the mount's copy of `sub/loop` is the plain
 * empty directory under it, so every walk ends. What each verb does there follows the tool a user
 * compares it with: `du` and `find` skip a directory that is its own ancestor (same st_dev and
 * st_ino as a directory on the walk's path, taken when it is opened) as GNU du/find do, warn
 * naming it and its ancestor, and exit 2 (blit's "completed, something left out"), with the
 * native scan and with its node:fs fallback; a pull copies the mounted tree under its second path
 * as `rsync -a` does without -x; `rm` deletes through the mount as `rm -r` does, and the mount
 * point it cannot remove fails named, with the errno's text and not blitd's internal
 * `/proc/self/fd/N` path. Needs mount (root); skipped where it is refused, as the tmpfs tests.
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTree } from './harness';
import { moduleFixture } from './module-fixture';

describe('a module bind-mounted inside itself: every verb terminates', function () {
  this.timeout(120_000);
  let mounted: string | undefined;
  const fx = moduleFixture('blit-bind-loop-', {
    beforeCleanup: () => {
      if (mounted) execFileSync('umount', [mounted]);
      mounted = undefined;
    },
  });

  /** a/f1..f3 and sub/g in the module, the module bind-mounted on sub/loop; false if mount is refused. */
  function loopedModule(): boolean {
    writeTree(fx.moduleDir, { 'a/f1': '1\n', 'a/f2': '22\n', 'a/f3': '333\n', 'sub/g': 'g\n' });
    const loop = path.join(fx.moduleDir, 'sub/loop');
    fs.mkdirSync(loop);
    try {
      execFileSync('mount', ['--bind', fx.moduleDir, loop], { stdio: 'ignore' });
    } catch {
      return false;
    }
    mounted = loop;
    return true;
  }

  const looped = ['a/f1', 'a/f2', 'a/f3', 'sub/g', 'sub/loop/a/f1', 'sub/loop/a/f2', 'sub/loop/a/f3', 'sub/loop/sub/g'];
  /** The warning line for a loop at `at` (module-relative) seen as `sameAs`, both as the test typed them. */
  const loopWarning = (at: string, sameAs: string): string =>
    `blit: warning: ${fx.remote(at)}: file system loop detected: the same directory as ${fx.remote(sameAs)} (skipped)\n`;

  for (const [label, env] of [
    ['native scan', {}],
    ['node:fs fallback (BLIT_NATIVE_BATCH=0)', { BLIT_NATIVE_BATCH: '0' }],
  ] as const) {
    it(`du and find skip the directory that is its own ancestor, warn naming both and exit 2, as GNU du/find (${label})`, async function () {
      if (!loopedModule()) this.skip();
      await fx.start(env);
      const du = await fx.blit(['du', fx.remote(''), '--json']);
      assert.equal(du.code, 2, du.stderr);
      assert.ok(du.stderr.includes(loopWarning('sub/loop', '')), du.stderr);
      const sums = JSON.parse(du.stdout) as { files: number; bytes: number; dirs: number; loops: unknown };
      // What `du -b --apparent-size` counts: a, sub and the root; sub/loop neither entered nor counted.
      assert.deepEqual([sums.files, sums.bytes, sums.dirs], [4, 2 + 3 + 4 + 2, 3]);
      assert.deepEqual(sums.loops, [{ path: 'sub/loop', sameAs: '' }]);
      const find = await fx.blit(['find', fx.remote(''), '--pattern', '*', '--json']);
      assert.equal(find.code, 2, find.stderr);
      assert.ok(find.stderr.includes(loopWarning('sub/loop', '')), find.stderr);
      const listed = JSON.parse(find.stdout) as { entries: { path: string }[]; loops: unknown };
      assert.deepEqual(listed.entries.map((e) => e.path).sort(), ['a', 'a/f1', 'a/f2', 'a/f3', 'sub', 'sub/g']);
      assert.deepEqual(listed.loops, [{ path: 'sub/loop', sameAs: '' }]);
      // From below the module root the loop closes one level down: sub/loop/sub is sub.
      const below = await fx.blit(['du', fx.remote('sub/')]);
      assert.equal(below.code, 2, below.stderr);
      assert.ok(below.stderr.includes(loopWarning('sub/loop/sub', 'sub/')), below.stderr);
      assert.match(below.stdout, / in 4 files, 3 dirs, 0 symlinks: /); // g, loop/a/f1..f3; sub, loop, loop/a
    });
  }

  it('a pull copies the mounted tree once under its second path, as rsync -a copies it', async function () {
    if (!loopedModule()) this.skip();
    await fx.start();
    const back = path.join(fx.dir, 'back');
    const pull = await fx.blit(['copy', fx.remote(''), back]);
    assert.equal(pull.code, 0, pull.stderr);
    const rsynced = path.join(fx.dir, 'rsynced');
    execFileSync('rsync', ['-a', `${fx.moduleDir}/`, `${rsynced}/`]);
    const tree = (root: string): string[] => (fs.readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).sort();
    assert.deepEqual(tree(back), tree(rsynced));
    for (const rel of looped) assert.equal(fs.readFileSync(path.join(back, rel), 'utf8'), fs.readFileSync(path.join(fx.moduleDir, rel), 'utf8'));
  });

  it('rm deletes through the mount as rm -r does and names the busy mount point with its errno text', async function () {
    if (!loopedModule()) this.skip();
    await fx.start();
    const r = await fx.blit(['rm', fx.remote('sub'), '--yes']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /sub\/loop\/sub\/loop: cannot delete: resource busy or locked \(EBUSY\) \[IoError\]/);
    assert.doesNotMatch(r.stderr, /\/proc\/self\/fd/);
    // What `rm -r MODULE/sub` leaves too: the module root's other entries went through the mount.
    assert.deepEqual(fs.readdirSync(fx.moduleDir), ['sub']);
    // The mount is still there: du still skips it (and counts only what is left: sub).
    const d = await fx.blit(['du', fx.remote(''), '--json']);
    assert.equal(d.code, 2, d.stderr);
    assert.deepEqual((JSON.parse(d.stdout) as { files: number; dirs: number }).dirs, 2);
  });
});
