/**
 * rsync path rules across the wire, with a real blitd and the real blit CLI: a remote source
 * without a trailing '/' lands as DST/NAME (so a second run nests nothing), with '/' as its
 * contents; a single file lands AS the destination, or inside it when it is a directory or ends
 * in '/'; mirroring a single file never deletes its neighbours.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { jsonSummary } from './transfer-helpers';

describe('remote rsync path rules (real blitd and blit on loopback)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let daemon: Daemon;
  let remote: (p: string) => string;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-rules-');
    moduleDir = path.join(tmp.dir, 'module');
    writeTree(path.join(moduleDir, 'proj'), { 'a.txt': 'a', 'sub/b.txt': 'bb' });
    writeTree(moduleDir, { 'one.txt': 'one' });
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
    remote = (p) => `127.0.0.1:${daemon.port}:/default${p ? `/${p}` : ''}`;
  });

  after(async () => {
    await daemon?.stop();
    tmp?.cleanup();
  });

  const ok = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await runBlit([...args, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    return jsonSummary(r.stdout);
  };

  it('pull HOST:/MOD/DIR into an existing dir lands as DIR/, and a second run nests nothing', async () => {
    const dst = path.join(tmp.dir, 'pull-named');
    fs.mkdirSync(dst);
    await ok(['copy', remote('proj'), dst]);
    assert.deepEqual(listTree(dst), ['proj', 'proj/a.txt', 'proj/sub', 'proj/sub/b.txt']);
    const again = await ok(['copy', remote('proj'), dst]);
    assert.equal(again.filesTransferred, 0);
    assert.deepEqual(listTree(dst), ['proj', 'proj/a.txt', 'proj/sub', 'proj/sub/b.txt']);
  });

  it('pull HOST:/MOD/DIR into a missing dir creates it and lands as DST/DIR', async () => {
    const dst = path.join(tmp.dir, 'pull-fresh');
    await ok(['copy', remote('proj'), dst]);
    assert.equal(fs.readFileSync(path.join(dst, 'proj/sub/b.txt'), 'utf8'), 'bb');
  });

  it('pull HOST:/MOD/DIR/ copies the contents', async () => {
    const dst = path.join(tmp.dir, 'pull-contents');
    fs.mkdirSync(dst);
    await ok(['copy', remote('proj/'), dst]);
    assert.deepEqual(listTree(dst), ['a.txt', 'sub', 'sub/b.txt']);
  });

  it('pull of a single file: AS the destination name, or inside an existing dir / a DST/', async () => {
    const dir = path.join(tmp.dir, 'pull-file');
    fs.mkdirSync(dir);
    await ok(['copy', remote('one.txt'), path.join(dir, 'renamed.txt')]);
    assert.equal(fs.readFileSync(path.join(dir, 'renamed.txt'), 'utf8'), 'one');
    await ok(['copy', remote('one.txt'), dir]);
    assert.equal(fs.readFileSync(path.join(dir, 'one.txt'), 'utf8'), 'one');
    fs.mkdirSync(path.join(dir, 'into'));
    await ok(['copy', remote('one.txt'), path.join(dir, 'into') + '/']);
    assert.equal(fs.readFileSync(path.join(dir, 'into', 'one.txt'), 'utf8'), 'one');
    assert.deepEqual(listTree(dir), ['into', 'into/one.txt', 'one.txt', 'renamed.txt']);
  });

  it('as the local engine: the directory a pulled destination is created in must exist', async () => {
    const missing = path.join(tmp.dir, 'no-parent');
    for (const [srcSpec, dst] of [
      [remote('proj'), path.join(missing, 'x')],
      [remote('proj/'), path.join(missing, 'x')],
      [remote('one.txt'), path.join(missing, 'x.txt')],
      [remote('one.txt'), path.join(missing, 'x') + '/'],
    ] as const) {
      const r = await runBlit(['copy', srcSpec, dst], { env });
      assert.notEqual(r.code, 0, `${srcSpec} -> ${dst}`);
      assert.match(r.stderr, /destination parent directory does not exist/);
    }
    assert.ok(!fs.existsSync(missing), 'nothing created');
  });

  it('as rsync without --mkpath: push creates DST but not a missing directory above it', async () => {
    const src = path.join(tmp.dir, 'mk-src');
    writeTree(src, { 'f.txt': 'f' });
    const file = path.join(src, 'f.txt');
    for (const [srcSpec, dst] of [
      [src, 'no-parent/x'], // lands as no-parent/x/mk-src: DST is no-parent/x
      [`${src}/`, 'no-parent/x'],
      [file, 'no-parent/x.txt'],
      [file, 'no-parent/x/'],
    ] as const) {
      const r = await runBlit(['copy', srcSpec, remote(dst)], { env });
      assert.notEqual(r.code, 0, `${srcSpec} -> ${dst}`);
      assert.match(r.stderr, /destination parent directory does not exist/);
      assert.match(r.stderr, /default\/no-parent\b/, 'names the missing directory');
    }
    assert.ok(!fs.existsSync(path.join(moduleDir, 'no-parent')), 'nothing created');
    // DST itself is created (and the named source inside it), once its parent exists.
    await ok(['copy', src, remote('mk-dst')]);
    assert.deepEqual(listTree(path.join(moduleDir, 'mk-dst')), ['mk-src', 'mk-src/f.txt']);
    await ok(['copy', `${src}/`, remote('mk-dst/contents')]);
    assert.deepEqual(listTree(path.join(moduleDir, 'mk-dst/contents')), ['f.txt']);
  });

  it('the local engine follows the same rule: DST created, a missing parent refused', async () => {
    const src = path.join(tmp.dir, 'lk-src');
    writeTree(src, { 'f.txt': 'f' });
    const missing = path.join(tmp.dir, 'lk-no-parent');
    for (const [srcSpec, dst] of [
      [src, path.join(missing, 'x')],
      [`${src}/`, path.join(missing, 'x')],
      [path.join(src, 'f.txt'), path.join(missing, 'x.txt')],
    ] as const) {
      const r = await runBlit(['copy', srcSpec, dst], { env });
      assert.notEqual(r.code, 0, `${srcSpec} -> ${dst}`);
      assert.match(r.stderr, /destination parent directory does not exist/);
    }
    assert.ok(!fs.existsSync(missing), 'nothing created');
    await ok(['copy', src, path.join(tmp.dir, 'lk-dst')]);
    assert.deepEqual(listTree(path.join(tmp.dir, 'lk-dst')), ['lk-src', 'lk-src/f.txt']);
  });

  it('pull of a file written with a trailing slash is refused, nothing created', async () => {
    const dst = path.join(tmp.dir, 'pull-file-slash');
    const r = await runBlit(['copy', remote('one.txt/'), dst], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a directory/i);
    assert.ok(!fs.existsSync(dst));
  });

  it('pull of a directory onto an existing file is refused', async () => {
    const file = path.join(tmp.dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const r = await runBlit(['copy', remote('proj'), file], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a directory/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });

  it('push ./DIR to HOST:/MOD/X lands as X/DIR, twice without nesting', async () => {
    const src = path.join(tmp.dir, 'pdir');
    writeTree(src, { 'f.txt': 'f', 'deep/g.txt': 'g' });
    for (const pass of [1, 2]) {
      const s = await ok(['copy', src, remote('x')]);
      assert.equal(s.filesTransferred, pass === 1 ? 2 : 0);
    }
    assert.deepEqual(listTree(path.join(moduleDir, 'x')), ['pdir', 'pdir/deep', 'pdir/deep/g.txt', 'pdir/f.txt']);
  });

  it('push of a single file: AS the remote name, or inside an existing remote dir / a DST/', async () => {
    const file = path.join(tmp.dir, 'note.txt');
    fs.writeFileSync(file, 'note');
    await ok(['copy', file, remote('note-renamed.txt')]);
    assert.equal(fs.readFileSync(path.join(moduleDir, 'note-renamed.txt'), 'utf8'), 'note');
    await ok(['copy', file, remote('proj')]);
    assert.equal(fs.readFileSync(path.join(moduleDir, 'proj', 'note.txt'), 'utf8'), 'note');
    await ok(['copy', file, remote('newdir/')]);
    assert.equal(fs.readFileSync(path.join(moduleDir, 'newdir', 'note.txt'), 'utf8'), 'note');
    fs.rmSync(path.join(moduleDir, 'proj', 'note.txt'));
  });

  it('mirror of a single file never deletes its neighbours (push and pull)', async () => {
    const file = path.join(tmp.dir, 'solo.txt');
    fs.writeFileSync(file, 'solo');
    writeTree(path.join(moduleDir, 'crowd'), { 'neighbour.txt': 'n' });
    const s = await runBlit(['mirror', file, remote('crowd/'), '--yes', '--json'], { env });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(jsonSummary(s.stdout).entriesDeleted, 0);
    assert.deepEqual(listTree(path.join(moduleDir, 'crowd')), ['neighbour.txt', 'solo.txt']);

    const local = path.join(tmp.dir, 'crowd-local');
    writeTree(local, { 'mine.txt': 'm' });
    const p = await runBlit(['mirror', remote('one.txt'), local, '--yes', '--json'], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(jsonSummary(p.stdout).entriesDeleted, 0);
    assert.deepEqual(listTree(local), ['mine.txt', 'one.txt']);
  });
});
