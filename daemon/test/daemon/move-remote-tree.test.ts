/**
 * `blit move` leaves the source as the local move does, whichever side is remote (move-remote2):
 * symlinks go once in place (created or already the same), the directories the move emptied go
 * deepest first, the root of `SRC/` stays (of `SRC` it goes), an excluded file and its
 * directories stay. Run on the same tree locally, as a push and as a pull against a real blitd;
 * a dry run removes nothing on either side.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';

/** Nested dirs, an empty dir, symlinks (to a file, to a dir, one already at the destination), an excluded file. */
function makeTree(root: string): void {
  writeTree(root, { 'a.txt': 'a', 'd1/b.txt': 'b', 'd1/d2/c.txt': 'c', 'keep/x.log': 'excluded', 'keep/y.txt': 'y' });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.mkdirSync(path.join(root, 'd1', 'd2', 'd3'));
  fs.symlinkSync('../../a.txt', path.join(root, 'd1', 'd2', 'link'));
  fs.symlinkSync('d1', path.join(root, 'top'));
  fs.symlinkSync('a.txt', path.join(root, 'same'));
}

/** The destination already holds `same` (the same symlink): nothing to write, the source still goes. */
function makeDst(root: string): void {
  fs.mkdirSync(root, { recursive: true });
  fs.symlinkSync('a.txt', path.join(root, 'same'));
}

describe('move: push and pull leave the source as a local move does (symlinks, emptied directories)', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-move-tree-');
  const exclude = ['--exclude', '*.log'];

  /** Moves `<base>/src` (with `slash`) locally, as a push and as a pull; returns each source left. */
  async function threeWays(slash: string, extra: string[]): Promise<{ local: string[] | null; push: string[] | null; pull: string[] | null }> {
    await fx.start();
    const left = (p: string): string[] | null => (fs.existsSync(p) ? listTree(p) : null);
    const local = path.join(fx.dir, 'local');
    makeTree(path.join(local, 'src'));
    makeDst(path.join(local, 'dst'));
    let r = await fx.blit(['move', ...extra, `${local}/src${slash}`, `${local}/dst/`]);
    assert.equal(r.code, 0, r.stderr);

    const push = path.join(fx.dir, 'push');
    makeTree(path.join(push, 'src'));
    makeDst(path.join(fx.moduleDir, 'pushed'));
    r = await fx.blit(['move', ...extra, `${push}/src${slash}`, fx.remote('pushed/')]);
    assert.equal(r.code, 0, r.stderr);

    const pulled = path.join(fx.moduleDir, 'tree', 'src');
    makeTree(pulled);
    makeDst(path.join(fx.dir, 'pull-dst'));
    r = await fx.blit(['move', ...extra, fx.remote(`tree/src${slash}`), `${fx.dir}/pull-dst/`]);
    assert.equal(r.code, 0, r.stderr);
    // Whatever was moved arrived (the copy side is not what this test is about, but nothing is lost).
    const landed = slash === '/' ? '' : 'src/';
    assert.equal(fs.readFileSync(path.join(fx.moduleDir, 'pushed', `${landed}d1/d2/c.txt`), 'utf8'), 'c');
    assert.equal(fs.readlinkSync(path.join(fx.dir, 'pull-dst', `${landed}d1/d2/link`)), '../../a.txt');
    return { local: left(path.join(local, 'src')), push: left(path.join(push, 'src')), pull: left(pulled) };
  }

  it('SRC/ with an excluded file: only the root and the excluded file (with its directory) stay', async () => {
    const got = await threeWays('/', exclude);
    assert.deepEqual(got.local, ['keep', 'keep/x.log']);
    assert.deepEqual(got.push, got.local, 'push');
    assert.deepEqual(got.pull, got.local, 'pull');
  });

  it('SRC (no slash), all moved: the source root goes too, the module root stays', async () => {
    const got = await threeWays('', []);
    assert.equal(got.local, null);
    assert.equal(got.push, null, 'push');
    assert.equal(got.pull, null, 'pull');
    assert.deepEqual(fs.readdirSync(path.join(fx.moduleDir, 'tree')), []);
    // The module root itself is never removed, even when the move empties it.
    const r = await fx.blit(['move', `127.0.0.1:${fx.daemon.port}:/default`, `${fx.dir}/all/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.statSync(fx.moduleDir).isDirectory());
  });

  it('a dry-run move removes nothing, pushed or pulled', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    makeTree(src);
    makeTree(path.join(fx.moduleDir, 'tree'));
    const before = listTree(src);
    let r = await fx.blit(['move', '--dry-run', `${src}/`, fx.remote('pushed/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(src), before, 'push');
    r = await fx.blit(['move', '--dry-run', fx.remote('tree/'), `${fx.dir}/pulled/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'tree')), before, 'pull');
  });
});
