/**
 * A module with itself bind-mounted inside it (`mount --bind M M/sub/loop`), the case hunt-load
 * left unprobed. A bind mount cannot recurse forever: the mount's copy of `sub/loop` is the plain
 * empty directory under it, so every walk ends. What each verb does there follows the tool a user
 * compares it with: a pull copies the mounted tree under its second path as `rsync -a` does
 * without -x; `du` and `find` count and list it there too (GNU du/find skip a directory that is
 * its own ancestor; blit's walk does not compare inodes, decided: a module with a loop is rare, the
 * walk still terminates, and the counts match what a pull of the same path copies); `rm` deletes
 * through the mount as `rm -r` does, and the mount point it cannot remove fails named, with the
 * errno's text and not blitd's internal `/proc/self/fd/N` path. Needs mount (root); skipped where
 * it is refused, as the tmpfs tests.
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

  it('du, find and a pull count the mounted tree once under its second path, as rsync -a copies it', async function () {
    if (!loopedModule()) this.skip();
    await fx.start();
    const du = await fx.blit(['du', fx.remote(''), '--json']);
    assert.equal(du.code, 0, du.stderr);
    const sums = JSON.parse(du.stdout) as Record<string, number>;
    assert.equal(sums.files, looped.length);
    assert.equal(sums.bytes, 2 * (2 + 3 + 4 + 2));
    const find = await fx.blit(['find', fx.remote(''), '--pattern', '*', '--json']);
    assert.equal(find.code, 0, find.stderr);
    const found = (JSON.parse(find.stdout) as { entries: { path: string }[] }).entries.map((e) => e.path).sort();
    for (const rel of looped) assert.ok(found.includes(rel), `find lists ${rel}`);
    assert.ok(found.includes('sub/loop/sub/loop'), 'the mount point seen through the mount is listed, empty');
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
    const d = await fx.blit(['du', fx.remote(''), '--json']);
    assert.equal(d.code, 0, d.stderr);
  });
});
