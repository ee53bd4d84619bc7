/**
 * `--mkpath` (rsync's): copy, mirror and move create DST's missing parents, locally, on a push
 * (blitd creates them beneath the module root, carried by TransferOptions.mkpath) and on a pull
 * (the local side). Without it the rule stays rsync's: DST's parent must exist
 * (transfer-path-rules.test.ts). A symlink among the parents that leads out of the module is
 * refused and nothing is created outside.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';

describe('--mkpath: DST with missing parents (real blit, real blitd)', function () {
  this.timeout(60000);
  const fx = moduleFixture('blit-mkpath-');

  const src = (): string => {
    const s = path.join(fx.dir, 'src');
    if (!fs.existsSync(s)) writeTree(s, { 'f.txt': 'f', 'd/g.txt': 'g' });
    return s;
  };
  const ok = async (args: string[]): Promise<void> => {
    const r = await fx.blit(args);
    assert.equal(r.code, 0, `blit ${args.join(' ')}: ${r.stderr}`);
  };
  const refused = async (args: string[], missing: string): Promise<void> => {
    const r = await fx.blit(args);
    assert.notEqual(r.code, 0, `blit ${args.join(' ')} without --mkpath`);
    assert.match(r.stderr, /destination parent directory does not exist/);
    assert.equal(fs.existsSync(missing), false, `${missing} created without --mkpath`);
  };

  it('local copy, mirror and move: refused without it; with it every missing parent is created (a dry run creates none)', async () => {
    const s = src();
    const out = path.join(fx.dir, 'out');
    await refused(['copy', `${s}/`, path.join(out, 'a/b/c')], out);
    await ok(['copy', '--mkpath', '--dry-run', `${s}/`, path.join(out, 'a/b/c')]);
    assert.equal(fs.existsSync(out), false, 'a dry run created the parents');
    // a usage error found after the endpoints (a --files-from that cannot be read) creates nothing
    const bad = await fx.blit(['copy', '--mkpath', '--files-from', path.join(fx.dir, 'no-such-list'), `${s}/`, path.join(out, 'a/b/c')]);
    assert.equal(bad.code, 64, bad.stderr);
    assert.match(bad.stderr, /no-such-list/);
    assert.equal(fs.existsSync(out), false, 'a refused run created the parents');
    await ok(['copy', '--mkpath', `${s}/`, path.join(out, 'a/b/c')]);
    assert.deepEqual(listTree(path.join(out, 'a/b/c')), ['d', 'd/g.txt', 'f.txt']);
    await ok(['mirror', '--mkpath', '--yes', s, path.join(out, 'm/n')]); // a named source lands as DST/src
    assert.deepEqual(listTree(path.join(out, 'm/n')), ['src', 'src/d', 'src/d/g.txt', 'src/f.txt']);
    await ok(['copy', '--mkpath', path.join(s, 'f.txt'), path.join(out, 'single/x/renamed.txt')]);
    assert.equal(fs.readFileSync(path.join(out, 'single/x/renamed.txt'), 'utf8'), 'f');
    const moving = path.join(fx.dir, 'moving');
    writeTree(moving, { 'h.txt': 'h' });
    await ok(['move', '--mkpath', `${moving}/`, path.join(out, 'moved/p/q')]);
    assert.deepEqual(listTree(path.join(out, 'moved/p/q')), ['h.txt']);
    // an ancestor that is a file: named, not created around it
    fs.writeFileSync(path.join(out, 'plain'), 'x');
    const r = await fx.blit(['copy', '--mkpath', `${s}/`, path.join(out, 'plain/sub/dst')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /plain/);
    assert.match(r.stderr, /not a directory/i);
  });

  it('push copy, mirror and move: blitd creates the remote path whole with --mkpath, refuses it without', async () => {
    await fx.start();
    const s = src();
    const m = fx.moduleDir;
    await refused(['copy', `${s}/`, fx.remote('a/b/c')], path.join(m, 'a'));
    await ok(['copy', '--mkpath', '--dry-run', `${s}/`, fx.remote('a/b/c')]);
    assert.equal(fs.existsSync(path.join(m, 'a')), false, 'a dry run created the parents');
    await ok(['copy', '--mkpath', `${s}/`, fx.remote('a/b/c')]);
    assert.deepEqual(listTree(path.join(m, 'a/b/c')), ['d', 'd/g.txt', 'f.txt']);
    await ok(['mirror', '--mkpath', '--yes', s, fx.remote('m/n')]);
    assert.deepEqual(listTree(path.join(m, 'm/n')), ['src', 'src/d', 'src/d/g.txt', 'src/f.txt']);
    await ok(['copy', '--mkpath', path.join(s, 'f.txt'), fx.remote('single/x/renamed.txt')]);
    assert.equal(fs.readFileSync(path.join(m, 'single/x/renamed.txt'), 'utf8'), 'f');
    const moving = path.join(fx.dir, 'moving');
    writeTree(moving, { 'h.txt': 'h' });
    await ok(['move', '--mkpath', `${moving}/`, fx.remote('moved/p/q')]);
    assert.deepEqual(listTree(path.join(m, 'moved/p/q')), ['h.txt']);
    assert.equal(fs.existsSync(path.join(moving, 'h.txt')), false, 'the moved source is gone');
  });

  it('push: a symlink among the missing path\'s parents that leads out of the module is refused; nothing is created outside', async () => {
    await fx.start();
    const s = src();
    const outside = path.join(fx.dir, 'outside');
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(fx.moduleDir, 'link'));
    fs.symlinkSync('../outside', path.join(fx.moduleDir, 'rel-link'));
    for (const p of ['link/a/b', 'rel-link/a/b', 'link/a']) {
      const r = await fx.blit(['copy', '--mkpath', `${s}/`, fx.remote(p)]);
      assert.notEqual(r.code, 0, `push to ${p} went through a symlink out of the module`);
      assert.match(r.stderr, /outside the module|PathEscape/, r.stderr);
    }
    assert.deepEqual(fs.readdirSync(outside), [], 'created outside the module');
    // a symlink that stays inside the module is a directory like any other
    fs.mkdirSync(path.join(fx.moduleDir, 'real'));
    fs.symlinkSync('real', path.join(fx.moduleDir, 'inside-link'));
    await ok(['copy', '--mkpath', `${s}/`, fx.remote('inside-link/x/y')]);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'real/x/y')), ['d', 'd/g.txt', 'f.txt']);
  });

  it('pull: the local side\'s missing parents are created with --mkpath, refused without', async () => {
    await fx.start();
    writeTree(path.join(fx.moduleDir, 'site'), { 'index.html': 'i', 'css/a.css': 'a' });
    const local = path.join(fx.dir, 'pulled');
    await refused(['copy', fx.remote('site/'), path.join(local, 'a/b')], local);
    await ok(['copy', '--mkpath', fx.remote('site/'), path.join(local, 'a/b')]);
    assert.deepEqual(listTree(path.join(local, 'a/b')), ['css', 'css/a.css', 'index.html']);
    await ok(['copy', '--mkpath', fx.remote('site'), path.join(local, 'named/x')]);
    assert.deepEqual(listTree(path.join(local, 'named/x')), ['site', 'site/css', 'site/css/a.css', 'site/index.html']);
    await ok(['copy', '--mkpath', fx.remote('site/index.html'), path.join(local, 'one/two/page.html')]);
    assert.equal(fs.readFileSync(path.join(local, 'one/two/page.html'), 'utf8'), 'i');
  });
});
