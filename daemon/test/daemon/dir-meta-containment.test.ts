/**
 * The receiver's final directory-metadata pass (Destination.applyDirMeta) under use-time
 * containment: a new, empty directory of a push is first addressed by that pass (nothing is
 * written in it before), so a swap right before its open (BLIT_TEST_SWAP_BEFORE_OPEN: rename +
 * symlink to a directory outside the module, inside a real blitd) lands between the transfer and
 * the pass. The pass opens each directory beneath the module root (openat2 RESOLVE_BENEATH|
 * RESOLVE_NO_SYMLINKS, in C since h56): the swapped directory fails with PathEscape naming it,
 * the directory outside keeps its mode and mtime, every other directory still gets its metadata.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fingerprint, writeTree } from './harness';
import { swapFixture } from './module-fixture';
import { setMtime } from './transfer-helpers';

describe('directory metadata pass: a directory swapped for a symlink before the pass (real blitd)', function () {
  this.timeout(60_000);
  const fx = swapFixture('blit-dirmeta-race-', { 'victim.txt': 'must survive' });

  it('push: the swapped directory fails with PathEscape naming it; nothing outside changes mode or mtime', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'a/f.txt': 'a', 'top.txt': 'top' });
    fs.mkdirSync(path.join(src, 'empty'));
    fs.mkdirSync(path.join(src, 'other'));
    for (const d of ['empty', 'other', 'a']) {
      fs.chmodSync(path.join(src, d), 0o700);
      setMtime(path.join(src, d), 1_400_000_000_123_456_789n);
    }
    fs.chmodSync(fx.outside, 0o755);
    setMtime(fx.outside, 1_000_000_000_000_000_000n);
    const outsideBefore = fs.lstatSync(fx.outside, { bigint: true });
    const before = fingerprint(fx.outside);
    await fx.start(fx.beforeOpen('dst/empty'));
    const r = await fx.blit(['copy', `${src}/`, fx.remote('dst')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /empty.*PathEscape|PathEscape.*empty/);
    const dst = path.join(fx.moduleDir, 'dst');
    assert.ok(fs.lstatSync(path.join(dst, 'empty')).isSymbolicLink(), 'the swap happened');
    const outsideAfter = fs.lstatSync(fx.outside, { bigint: true });
    assert.equal((Number(outsideAfter.mode) & 0o7777).toString(8), '755', 'the mode outside is untouched');
    assert.equal(outsideAfter.mtimeNs, outsideBefore.mtimeNs, 'the mtime outside is untouched');
    assert.equal(fingerprint(fx.outside), before, 'nothing outside the module was written');
    for (const d of ['other', 'a']) {
      const st = fs.lstatSync(path.join(dst, d), { bigint: true });
      assert.equal((Number(st.mode) & 0o7777).toString(8), '700', `${d} got its mode`);
      assert.equal(st.mtimeNs, 1_400_000_000_123_456_789n, `${d} got its mtime`);
    }
    assert.equal(fs.readFileSync(path.join(dst, 'a/f.txt'), 'utf8'), 'a', 'the rest was copied');
  });
});
