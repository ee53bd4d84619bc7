/**
 * `blit move` leaves the source as the local move does, whichever side is remote (move-remote2):
 * symlinks go once in place (created or already the same), the directories the move emptied go
 * deepest first, the root of `SRC/` stays (of `SRC` it goes), an excluded file and its
 * directories stay. Run on the same tree locally, as a push and as a pull against a real blitd;
 * a dry run removes nothing on either side. Under --ignore-existing (move-ignore) a source goes
 * only when its kept destination is known to be its copy (same file by the run's check, same
 * symlink target); one that differs keeps its source.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { PushClientMessage__Output, PushServerMessage } from '@blit/proto';
import { itemToWire, summaryToWire } from '../../src/remote/convert';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';
import { chattr } from '../engine/helpers';
import { fakeDaemon } from './transfer-helpers';

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

/**
 * --ignore-existing: the destination holds a differing file (other size), a differing symlink and
 * an identical file; with `checksum` also a same-size same-mtime file of other content (the quick
 * check cannot tell) and the identical file with another mtime (only the checksum can tell).
 */
function makeIgnoredSrc(checksum: boolean): (root: string) => void {
  return (root) => {
    writeTree(root, { 'diff.txt': 'source content', 'same.txt': 'same', ...(checksum ? { 'twin.txt': 'twin-src' } : {}) });
    for (const f of fs.readdirSync(root)) fs.utimesSync(path.join(root, f), 1_700_000_000, 1_700_000_000);
    fs.symlinkSync('target-src', path.join(root, 'link'));
  };
}

function makeIgnoredDst(checksum: boolean): (root: string) => void {
  return (root) => {
    writeTree(root, { 'diff.txt': 'destination content', 'same.txt': 'same', ...(checksum ? { 'twin.txt': 'twin-dst' } : {}) });
    for (const f of fs.readdirSync(root)) fs.utimesSync(path.join(root, f), 1_700_000_000, 1_700_000_000);
    if (checksum) fs.utimesSync(path.join(root, 'same.txt'), 1_600_000_000, 1_600_000_000);
    fs.symlinkSync('target-dst', path.join(root, 'link'));
  };
}

/** What a test moves: the source tree, what the destination holds first, and what must have landed. */
interface Trees {
  src: (root: string) => void;
  dst: (root: string) => void;
  /** Checks the push and pull destinations (`landed`: the prefix the moved tree has in them). */
  landed: (pushed: string, pulled: string, landed: string) => void;
}

const TREE: Trees = {
  src: makeTree,
  dst: makeDst,
  // Whatever was moved arrived (the copy side is not what this test is about, but nothing is lost).
  landed: (pushed, pulled, landed) => {
    assert.equal(fs.readFileSync(path.join(pushed, `${landed}d1/d2/c.txt`), 'utf8'), 'c');
    assert.equal(fs.readlinkSync(path.join(pulled, `${landed}d1/d2/link`)), '../../a.txt');
  },
};

describe('move: push and pull leave the source as a local move does (symlinks, emptied directories)', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-move-tree-');
  const exclude = ['--exclude', '*.log'];

  /** Moves `<base>/src` (with `slash`) locally, as a push and as a pull; returns each source left. */
  async function threeWays(slash: string, extra: string[], trees: Trees = TREE): Promise<{ local: string[] | null; push: string[] | null; pull: string[] | null; said: string[] }> {
    await fx.start();
    const left = (p: string): string[] | null => (fs.existsSync(p) ? listTree(p) : null);
    const local = path.join(fx.dir, 'local');
    trees.src(path.join(local, 'src'));
    trees.dst(path.join(local, 'dst'));
    const said: string[] = [];
    let r = await fx.blit(['move', ...extra, `${local}/src${slash}`, `${local}/dst/`]);
    assert.equal(r.code, 0, r.stderr);
    said.push(r.stdout);

    const push = path.join(fx.dir, 'push');
    trees.src(path.join(push, 'src'));
    trees.dst(path.join(fx.moduleDir, 'pushed'));
    r = await fx.blit(['move', ...extra, `${push}/src${slash}`, fx.remote('pushed/')]);
    assert.equal(r.code, 0, r.stderr);
    said.push(r.stdout);

    const pulled = path.join(fx.moduleDir, 'tree', 'src');
    trees.src(pulled);
    trees.dst(path.join(fx.dir, 'pull-dst'));
    r = await fx.blit(['move', ...extra, fx.remote(`tree/src${slash}`), `${fx.dir}/pull-dst/`]);
    assert.equal(r.code, 0, r.stderr);
    said.push(r.stdout);
    trees.landed(path.join(fx.moduleDir, 'pushed'), path.join(fx.dir, 'pull-dst'), slash === '/' ? '' : 'src/');
    return { local: left(path.join(local, 'src')), push: left(path.join(push, 'src')), pull: left(pulled), said };
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

  /** --ignore-existing kept every destination entry as it was; the sources left hold their own content. */
  const IGNORED = (checksum: boolean): Trees => ({
    src: makeIgnoredSrc(checksum),
    dst: makeIgnoredDst(checksum),
    landed: (pushed, pulled) => {
      for (const d of [pushed, pulled]) {
        assert.equal(fs.readFileSync(path.join(d, 'diff.txt'), 'utf8'), 'destination content');
        assert.equal(fs.readlinkSync(path.join(d, 'link')), 'target-dst');
      }
    },
  });

  for (const checksum of [false, true]) {
    it(`--ignore-existing${checksum ? ' --checksum' : ''}: a kept destination that differs keeps its source, an identical one's source goes`, async () => {
      const got = await threeWays('/', ['--ignore-existing', ...(checksum ? ['--checksum'] : [])], IGNORED(checksum));
      assert.deepEqual(got.local, checksum ? ['diff.txt', 'link', 'twin.txt'] : ['diff.txt', 'link']);
      assert.deepEqual(got.push, got.local, 'push');
      assert.deepEqual(got.pull, got.local, 'pull');
      const local = path.join(fx.dir, 'local', 'src');
      assert.equal(fs.readFileSync(path.join(local, 'diff.txt'), 'utf8'), 'source content');
      assert.equal(fs.readlinkSync(path.join(local, 'link')), 'target-src');
      // Each says so the same way: every kept file counted unchanged, nothing moved, no error.
      const n = checksum ? 3 : 2;
      for (const out of got.said) assert.match(out, new RegExp(`moved 0 files \\(0 B\\), ${n} unchanged in`), out);
    });
  }

  // A blitd from before move-remote2 itemized a created symlink without syncing it first: a
  // client that removed the source on that item could lose the link if the server crashed.
  it('push: a blitd that does not say it syncs symlinks first (older) keeps the source symlinks; files still go', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'old-src');
    writeTree(src, { 'f.txt': 'f' });
    fs.symlinkSync('f.txt', path.join(src, 'ln'));
    const older = await fakeDaemon({
      // The push of a blitd of 7951f1b, as far as this client sees it: negotiation without
      // move_symlinks_durable, the items of what it wrote, the summary after data_complete.
      Push: (call: grpc.ServerDuplexStream<PushClientMessage__Output, PushServerMessage>) => {
        call.on('data', (m: PushClientMessage__Output) => {
          if (m.header) call.write({ negotiation: { tcpPort: 0, token: Buffer.alloc(0), streams: 0, tokenTtlMs: 0 } });
          if (m.manifestComplete) {
            call.write({ needComplete: { totalFiles: 0, totalBytes: 0 } });
            call.write({ items: { items: [itemToWire('skip', Buffer.from('f.txt'), 'file', 1), itemToWire('symlink', Buffer.from('ln'), 'symlink', 0)] } });
          }
          if (m.dataComplete) {
            call.write({ summary: summaryToWire({ filesTransferred: 0, bytesTransferred: 0, dirsCreated: 0, symlinksCreated: 1, entriesDeleted: 0, deletionsSkipped: 0, filesUnchanged: 1, failures: [], durationMs: 1, firstByteMs: null, dryRun: false }) });
            call.end();
          }
        });
      },
    });
    try {
      const r = await fx.blit(['move', `${src}/`, `127.0.0.1:${older.port}:/default/x/`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listTree(src), ['ln']);
      assert.equal(fs.readlinkSync(path.join(src, 'ln')), 'f.txt');
    } finally {
      older.stop();
    }
  });

  // The daemon reports a directory it could not create (here an immutable file in its place) as
  // failed; the source directory was empty, so removing it lost it: the move must keep it.
  it('push: a source directory the daemon failed to create stays, with the empty ones below it', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'f.txt': 'f' });
    fs.mkdirSync(path.join(src, 'e'));
    fs.mkdirSync(path.join(src, 'e2', 'sub'), { recursive: true });
    const dst = path.join(fx.moduleDir, 'pushed');
    writeTree(dst, { e: 'a file', e2: 'a file' });
    const stuck = [path.join(dst, 'e'), path.join(dst, 'e2')];
    chattr('+i', ...stuck);
    try {
      const r = await fx.blit(['move', `${src}/`, fx.remote('pushed/')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /failed: e: cannot create directory/);
      assert.match(r.stderr, /failed: e2: cannot create directory/);
      assert.deepEqual(listTree(src), ['e', 'e2', 'e2/sub']);
      assert.equal(fs.readFileSync(path.join(dst, 'f.txt'), 'utf8'), 'f');
    } finally {
      chattr('-i', ...stuck);
    }
  });

  // The pull's half: blitd removes the emptied source directories, so it must hear which ones
  // this side has in place (Committed.dirs); it removed them all, the one blit failed to create too.
  it('pull: a source directory blit failed to create stays, with the empty ones below it', async () => {
    await fx.start();
    const src = path.join(fx.moduleDir, 'psrc');
    writeTree(src, { 'f.txt': 'f' });
    for (const d of ['e', 'e2/sub', 'ok/sub', 'meta']) fs.mkdirSync(path.join(src, d), { recursive: true });
    fs.chmodSync(path.join(src, 'meta'), 0o700);
    const dst = path.join(fx.dir, 'pulled');
    writeTree(dst, { e: 'a file', e2: 'a file' });
    // There, but its mode cannot be set: its source (the only copy of that mode) stays too.
    fs.mkdirSync(path.join(dst, 'meta'), { mode: 0o755 });
    const stuck = [path.join(dst, 'e'), path.join(dst, 'e2'), path.join(dst, 'meta')];
    chattr('+i', ...stuck);
    try {
      const r = await fx.blit(['move', fx.remote('psrc/'), `${dst}/`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /failed: e: cannot create directory/);
      assert.match(r.stderr, /failed: e2: cannot create directory/);
      assert.match(r.stderr, /failed: meta: cannot set directory metadata/);
      // ok/ and ok/sub were made here: their sources go, as any emptied directory's.
      assert.deepEqual(listTree(src), ['e', 'e2', 'e2/sub', 'meta']);
      assert.equal(fs.readFileSync(path.join(dst, 'f.txt'), 'utf8'), 'f');
      assert.ok(fs.statSync(path.join(dst, 'ok', 'sub')).isDirectory());
    } finally {
      chattr('-i', ...stuck);
    }
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
