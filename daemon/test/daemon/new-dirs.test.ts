/**
 * New directories on the receiving side are created by the small-file writer lanes (destination.ts
 * queueMkdir), not on the main thread: a tree of many new directories (chains whose parents belong
 * to the other lane, directories with only subdirectories, empty ones, a symlink, a medium file and
 * small files in new directories) arrives complete with its metadata, push and pull, with the
 * native batch and without it (BLIT_NATIVE_BATCH=0 on both sides); a dry run creates nothing; and
 * on blitd a new directory swapped for a symlink before its files are written fails with
 * PathEscape, nothing written outside the module.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { assertOpenBeneath, CLI_ENV, moduleFixture } from './module-fixture';
import { setMtime, tempFilesIn } from './transfer-helpers';

/** 40 top directories, each a chain of 4 with files only at the bottom, plus odd shapes. */
function makeDirTree(root: string): void {
  let ns = 1_600_000_000_123_456_789n;
  for (let t = 0; t < 40; t++) {
    const chain = path.join(root, `t${t}`, 'a', 'b', 'c');
    fs.mkdirSync(chain, { recursive: true });
    for (let f = 0; f < 3; f++) fs.writeFileSync(path.join(chain, `f${f}.txt`), `${t}/${f}\n`.repeat(t + 1));
    fs.mkdirSync(path.join(root, `t${t}`, 'empty'));
  }
  fs.mkdirSync(path.join(root, 'only-dirs/x/y/z'), { recursive: true });
  fs.mkdirSync(path.join(root, 'mixed/sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'mixed/medium.bin'), Buffer.alloc(300_000, 9));
  fs.symlinkSync('../t0/a', path.join(root, 'mixed/sub/link'));
  fs.writeFileSync(path.join(root, 'mixed/sub/small.txt'), 'small');
  fs.chmodSync(path.join(root, 't3/a'), 0o750);
  fs.chmodSync(path.join(root, 'only-dirs/x'), 0o711);
  // Directory mtimes last (children change them), deepest first.
  const dirs = listTree(root).filter((p) => fs.lstatSync(path.join(root, p)).isDirectory());
  dirs.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const d of dirs) setMtime(path.join(root, d), (ns += 1_000_001n));
}

describe('new directories created by the writer lanes (real blitd)', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-newdirs-');
  let src: string;

  beforeEach(() => {
    src = path.join(fx.dir, 'src');
    fs.mkdirSync(src);
    makeDirTree(src);
  });

  for (const nativeBatch of [true, false]) {
    it(`push and pull of ${nativeBatch ? 'native batches' : 'BLIT_NATIVE_BATCH=0'}: every directory, file, mode and mtime`, async () => {
      const e = nativeBatch ? CLI_ENV : { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' };
      await fx.start(e);
      await fx.pushPull(src, 'pushed', e);
      assert.deepEqual(tempFilesIn(fx.dir), []);
    });
  }

  it('a dry run creates nothing, push or pull', async () => {
    await fx.start();
    let r = await fx.blit(['copy', `${src}/`, fx.remote('dry'), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(fx.moduleDir), []);
    writeTree(path.join(fx.moduleDir, 'real'), { 'keep.txt': 'k' });
    fs.cpSync(src, path.join(fx.moduleDir, 'real/tree'), { recursive: true, verbatimSymlinks: true });
    const local = path.join(fx.dir, 'local');
    r = await fx.blit(['copy', fx.remote('real/'), local, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(local), false);
  });

  it('blitd: a new directory swapped for a symlink before its files are written: PathEscape, nothing outside', async () => {
    assertOpenBeneath();
    const outside = path.join(fx.dir, 'outside');
    writeTree(outside, { 'victim.txt': 'must survive' });
    const before = listTree(outside).join('\n');
    // t5/a/b/c is new: made by a writer lane, then swapped right before the lane opens it.
    await fx.start({ BLIT_TEST_SWAP_BEFORE_OPEN: JSON.stringify({ dir: 'dst/t5/a/b/c', to: outside }) });
    const r = await fx.blit(['copy', `${src}/`, fx.remote('dst')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /t5\/a\/b\/c\/f0\.txt.*PathEscape|PathEscape.*t5\/a\/b\/c\/f0\.txt/);
    assert.equal(listTree(outside).join('\n'), before, 'nothing written outside the module');
    assert.equal(fs.readFileSync(path.join(outside, 'victim.txt'), 'utf8'), 'must survive');
    assert.ok(fs.lstatSync(path.join(fx.moduleDir, 'dst/t5/a/b/c')).isSymbolicLink(), 'the swap happened');
    assert.equal(fs.readFileSync(path.join(fx.moduleDir, 'dst/t6/a/b/c/f0.txt'), 'utf8'), '6/0\n'.repeat(7), 'the rest was copied');
  });
});
