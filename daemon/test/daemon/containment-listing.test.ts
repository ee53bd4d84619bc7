/**
 * Use-time containment of the daemon's listings (daemon/beneath.ts listDir/rootEntry): the push's
 * destination listing (the differ), the pull's source walk, ls, find, du and the push root's
 * first lstat read directories through fds opened beneath the module root. A checked directory
 * (or one above it) is swapped for a symlink leading out of the module right before the listing
 * reads it (BLIT_TEST_SWAP_BEFORE_LIST / BLIT_TEST_SWAP_BEFORE_OPEN: a real rename + symlink on
 * disk inside a real blitd); the call must fail with PathEscape naming the path, and no name of
 * the outside directory may show up anywhere (manifest, diff, output, destination). With plain
 * paths the listings read the outside directory (push, pull, ls), and find/du skipped it silently.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { swapFixture } from './module-fixture';

/** Names only the outside directory has: none may appear in any output or destination. */
const OUTSIDE_NAMES = /outsider|SECRETNAME/;

describe('containment of the daemon listings: a directory swapped for a symlink right before it is listed (real blitd)', function () {
  this.timeout(60_000);
  // Shaped like the directories the tests swap away, so a listing that follows the swap finds
  // the same subdirectories there, full of names that exist only outside.
  const fx = swapFixture('blit-listrace-', {
    'outsider-top.txt': 'x',
    'deep/outsider.txt': 'SECRET',
    'deep/SECRETNAME.txt': 'SECRET',
    'b/SECRETNAME.txt': 'SECRET',
    'sub/outsider.txt': 'SECRET',
    'dst': 'a file outside',
  });

  const start = async (swapEnv: NodeJS.ProcessEnv): Promise<(p: string) => string> => {
    await fx.start(swapEnv);
    return fx.remote;
  };
  const { beforeList, beforeOpen } = fx;
  const outsideUnchanged = (before: string): void => assert.equal(JSON.stringify(listTree(fx.outside)), before, 'nothing outside the module changed');

  it('push mirror: the destination listing of a directory below a swapped one fails with PathEscape; nothing outside is listed or deleted', async () => {
    writeTree(path.join(fx.moduleDir, 'dst'), { 'sub/deep/keep.txt': 'k', 'top.txt': 'old' });
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'sub/deep/keep.txt': 'k', 'top.txt': 'new top' });
    const before = JSON.stringify(listTree(fx.outside));
    const remote = await start(beforeList('dst/sub/deep', 'dst/sub'));
    const r = await fx.blit(['mirror', `${src}/`, remote('dst'), '--yes', '-v']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.match(r.stderr, /sub\/deep/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
    outsideUnchanged(before);
    assert.ok(fs.lstatSync(path.join(fx.moduleDir, 'dst/sub')).isSymbolicLink(), 'the swap happened');
  });

  it('push dry-run mirror: no outside name is itemized as a deletion', async () => {
    writeTree(path.join(fx.moduleDir, 'dst'), { 'sub/deep/keep.txt': 'k' });
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'sub/deep/keep.txt': 'k' });
    const remote = await start(beforeList('dst/sub/deep', 'dst/sub'));
    const r = await fx.blit(['mirror', `${src}/`, remote('dst'), '--dry-run', '-v']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
  });

  it('push: the root lstat goes through its pinned parent (a swapped parent is PathEscape, not the outside entry)', async () => {
    fs.mkdirSync(path.join(fx.moduleDir, 'p'), { recursive: true });
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'a.txt': 'a' });
    const before = JSON.stringify(listTree(fx.outside));
    const remote = await start(beforeOpen('p'));
    const r = await fx.blit(['copy', `${src}/`, remote('p/dst')]);
    assert.notEqual(r.code, 0, r.stdout);
    // With a plain lstat: "destination exists and is not a directory" (outside/dst is a file).
    assert.match(r.stderr, /PathEscape/);
    assert.doesNotMatch(r.stderr, /not a directory/);
    outsideUnchanged(before);
  });

  it('pull: the source walk of a directory below a swapped one fails with PathEscape; no outside name reaches the manifest', async () => {
    writeTree(path.join(fx.moduleDir, 'src'), { 'a/b/inside.txt': 'inside', 'top.txt': 't' });
    const dst = path.join(fx.dir, 'pulled');
    const remote = await start(beforeList('src/a/b', 'src/a'));
    const r = await fx.blit(['copy', remote('src/'), dst, '-v']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.match(r.stderr, /a\/b/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
    const got = fs.existsSync(dst) ? listTree(dst) : [];
    assert.ok(!got.some((p) => OUTSIDE_NAMES.test(p)), got.join(','));
    assert.equal(fs.readFileSync(path.join(dst, 'top.txt'), 'utf8'), 't', 'the rest was copied');
  });

  it('pull dry run: no outside name is itemized', async () => {
    writeTree(path.join(fx.moduleDir, 'src'), { 'a/b/inside.txt': 'inside' });
    const dst = path.join(fx.dir, 'pulled');
    const remote = await start(beforeList('src/a/b', 'src/a'));
    const r = await fx.blit(['copy', remote('src/'), dst, '--dry-run', '-v']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
  });

  it('ls: a directory whose parent is swapped right before the listing fails with PathEscape', async () => {
    writeTree(path.join(fx.moduleDir, 'l'), { 'sub/a.txt': 'a' });
    const remote = await start(beforeList('l/sub', 'l'));
    const r = await fx.blit(['ls', remote('l/sub')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
  });

  it('find: a swapped directory fails the call naming it (it was skipped with a log line)', async () => {
    writeTree(path.join(fx.moduleDir, 'f'), { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const remote = await start(beforeOpen('f/sub'));
    const r = await fx.blit(['find', remote('f'), '--pattern', '*.txt']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.match(r.stderr, /f\/sub/);
    assert.doesNotMatch(r.stdout + r.stderr, OUTSIDE_NAMES);
  });

  it('du: a swapped directory fails the call naming it (its sizes were left out silently)', async () => {
    writeTree(path.join(fx.moduleDir, 'd'), { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const remote = await start(beforeOpen('d/sub'));
    const r = await fx.blit(['du', remote('d')]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /PathEscape/);
    assert.match(r.stderr, /d\/sub/);
  });

  it('pull --gitignore: a .gitignore that is a symlink is not followed (named, its rules not applied); a regular one still is', async () => {
    // Outside: a file of rules (and a name) the pull must never read through the link.
    fs.writeFileSync(path.join(fx.outside, 'rules'), 'hidden.txt\n');
    writeTree(path.join(fx.moduleDir, 'g'), { 'sub/hidden.txt': 'h', 'sub/kept.txt': 'k', 'other/x.log': 'l', 'other/y.txt': 'y' });
    fs.symlinkSync(path.join(fx.outside, 'rules'), path.join(fx.moduleDir, 'g/sub/.gitignore'));
    fs.writeFileSync(path.join(fx.moduleDir, 'g/other/.gitignore'), '*.log\n');
    const remote = await start({});
    const dst = path.join(fx.dir, 'pulled');
    const r = await fx.blit(['copy', remote('g/'), dst, '--gitignore']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /sub\/\.gitignore/);
    assert.match(r.stderr, /symlink/);
    const got = listTree(dst);
    assert.ok(got.includes('sub/hidden.txt'), `the symlink's rules were applied: ${got.join(',')}`);
    assert.ok(got.includes('sub/kept.txt'));
    assert.ok(!got.includes('other/x.log'), `the regular .gitignore still applies: ${got.join(',')}`);
    assert.ok(got.includes('other/y.txt'));
  });

  it('without a swap the listings work as before (push mirror, pull, ls, find, du)', async () => {
    writeTree(path.join(fx.moduleDir, 'dst'), { 'sub/deep/keep.txt': 'k', 'sub/deep/extra.txt': 'e' });
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'sub/deep/keep.txt': 'k', 'sub/new.txt': 'n' });
    const remote = await start({});
    let r = await fx.blit(['mirror', `${src}/`, remote('dst'), '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'dst')), ['sub', 'sub/deep', 'sub/deep/keep.txt', 'sub/new.txt']);
    const back = path.join(fx.dir, 'back');
    r = await fx.blit(['copy', remote('dst/'), back]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(back), ['sub', 'sub/deep', 'sub/deep/keep.txt', 'sub/new.txt']);
    r = await fx.blit(['ls', remote('dst/sub')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deep/);
    assert.match(r.stdout, /new\.txt/);
    r = await fx.blit(['find', remote('dst'), '--pattern', '*.txt']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /keep\.txt/);
    r = await fx.blit(['du', remote('dst')]);
    assert.equal(r.code, 0, r.stderr);
  });
});
