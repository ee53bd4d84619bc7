/**
 * Use-time containment (daemon/beneath.ts): a directory that passed the containment checks is
 * swapped for a symlink leading out of the module at the worst moment, after the checks and right
 * before the daemon uses it (BLIT_TEST_SWAP_BEFORE_OPEN: a real rename + symlink on disk, inside a
 * real blitd). Push writes, pull reads, mirror deletions and rm must not touch anything outside,
 * and the request must fail naming the path. Without openat2 (the fallback) each of these wrote,
 * read or deleted outside the module. A symlink inside the module pointing inside still works.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_CACHED } from '../../src/daemon/beneath';
import { fingerprint, listTree, writeTree } from './harness';
import { swapFixture } from './module-fixture';

describe('containment at use time: a directory swapped for a symlink after the check (real blitd)', function () {
  this.timeout(60_000);
  const fx = swapFixture('blit-race-', { 'f.txt': 'SECRET', 'victim.txt': 'must survive' });

  const start = async (swapDir: string): Promise<(p: string) => string> => {
    await fx.start(fx.beforeOpen(swapDir));
    return fx.remote;
  };

  it('push: nothing is written outside; the file fails with PathEscape naming it', async () => {
    writeTree(path.join(fx.moduleDir, 'dst'), { 'sub/old.txt': 'old' });
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'sub/old.txt': 'old', 'sub/f.txt': 'pushed', 'top.txt': 'top' });
    const before = fingerprint(fx.outside);
    const remote = await start('dst/sub');
    const r = await fx.blit(['copy', `${src}/`, remote('dst')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /sub\/f\.txt.*PathEscape|PathEscape.*sub\/f\.txt/);
    assert.match(r.stderr, /symlink/);
    assert.equal(fingerprint(fx.outside), before, 'nothing outside the module was written');
    assert.ok(fs.lstatSync(path.join(fx.moduleDir, 'dst/sub')).isSymbolicLink(), 'the swap happened');
    assert.equal(fs.readFileSync(path.join(fx.moduleDir, 'dst/top.txt'), 'utf8'), 'top', 'the rest was copied');
  });

  it('pull: nothing outside is read; the pull fails with PathEscape naming the directory', async () => {
    writeTree(path.join(fx.moduleDir, 'src'), { 'sub/f.txt': 'inside' });
    const dst = path.join(fx.dir, 'pulled');
    const remote = await start('src/sub');
    const r = await fx.blit(['copy', remote('src/'), dst]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    // The walk that builds the manifest is the first to open it (containment-listing.test.ts).
    assert.match(r.stderr, /\bsub\b/);
    const got = fs.existsSync(dst) ? listTree(dst).filter((p) => fs.statSync(path.join(dst, p)).isFile()) : [];
    for (const p of got) assert.doesNotMatch(fs.readFileSync(path.join(dst, p), 'utf8'), /SECRET/);
  });

  it('mirror --yes: nothing outside is deleted; the deletion fails naming the directory', async () => {
    writeTree(path.join(fx.moduleDir, 'm'), { 'keep.txt': 'k', 'gone/x.txt': 'x' });
    const src = path.join(fx.dir, 'msrc');
    writeTree(src, { 'keep.txt': 'k' });
    const before = fingerprint(fx.outside);
    const remote = await start('m/gone');
    const r = await fx.blit(['mirror', `${src}/`, remote('m'), '--yes']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /gone.*PathEscape|PathEscape.*gone/);
    assert.equal(fingerprint(fx.outside), before, 'nothing outside the module was deleted');
  });

  it('rm -r: nothing outside is deleted; rm fails naming the directory', async () => {
    writeTree(path.join(fx.moduleDir, 'r'), { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const before = fingerprint(fx.outside);
    const remote = await start('r/sub');
    const r = await fx.blit(['rm', '--yes', remote('r')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.match(r.stderr, /r\/sub/);
    assert.equal(fingerprint(fx.outside), before, 'nothing outside the module was deleted');
  });

  it('ls: the listing of a swapped directory fails with PathEscape, nothing outside is listed', async () => {
    writeTree(path.join(fx.moduleDir, 'l'), { 'a.txt': 'a' });
    const remote = await start('l');
    const r = await fx.blit(['ls', remote('l')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.doesNotMatch(r.stdout, /victim|f\.txt/);
  });

  it('more directories than the anchor caches (eviction while files are in flight): every file lands where it belongs', async () => {
    const src = path.join(fx.dir, 'many');
    const files: Record<string, string> = {};
    for (let i = 0; i < MAX_CACHED + 300; i++) files[`d${i}/f${i % 3}.txt`] = `file ${i}`;
    writeTree(src, files);
    const remote = await start('no/such/dir');
    let r = await fx.blit(['copy', `${src}/`, remote('many')]);
    assert.equal(r.code, 0, r.stderr);
    for (const [rel, body] of Object.entries(files)) assert.equal(fs.readFileSync(path.join(fx.moduleDir, 'many', rel), 'utf8'), body, rel);
    const back = path.join(fx.dir, 'many-back');
    r = await fx.blit(['copy', remote('many/'), back]);
    assert.equal(r.code, 0, r.stderr);
    for (const [rel, body] of Object.entries(files)) assert.equal(fs.readFileSync(path.join(back, rel), 'utf8'), body, rel);
    r = await fx.blit(['rm', '--yes', remote('many')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(path.join(fx.moduleDir, 'many')));
  });

  it('a symlink inside the module pointing inside keeps working (push and pull through it)', async () => {
    writeTree(path.join(fx.moduleDir, 'real'), { 'a.txt': 'a' });
    fs.symlinkSync('real', path.join(fx.moduleDir, 'alias'));
    const src = path.join(fx.dir, 'lsrc');
    writeTree(src, { 'sub/b.txt': 'b' });
    const remote = await start('no/such/dir');
    let r = await fx.blit(['copy', `${src}/`, remote('alias')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'real')), ['a.txt', 'sub', 'sub/b.txt']);
    const back = path.join(fx.dir, 'back');
    r = await fx.blit(['copy', remote('alias/'), back]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(back), ['a.txt', 'sub', 'sub/b.txt']);
  });
});
