/**
 * A push leaves out FIFOs (and sockets, devices) as the local engine does, and names each one in a
 * warning (it used to leave them out silently: hunt-remote). Opening a FIFO would block, so the
 * push must also finish. A pull does the same: blitd names them in a SkippedBatch message and the
 * client prints the local engine's warning (text and --json runs alike).
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';

describe('push: special files in the source', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-push-special-');

  it('are skipped with a warning naming each, the rest copied, exit 0', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    execFileSync('mkfifo', [path.join(src, 'pipe'), path.join(src, 'sub', 'pipe2')]);
    await fx.start();
    const r = await fx.blit(['copy', `${src}/`, fx.remote('x/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: pipe: skipped \(not a regular file, directory or symlink\)/);
    assert.match(r.stderr, /warning: sub\/pipe2: skipped \(not a regular file, directory or symlink\)/);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'x')), ['a.txt', 'sub', 'sub/b.txt']);
  });
});

describe('pull: special files in the module', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-pull-special-');
  let server: net.Server | undefined;
  afterEach(() => server?.close());

  it('are skipped with a warning naming each (a FIFO, a unix socket), the rest copied, exit 0', async () => {
    const src = path.join(fx.moduleDir, 'src');
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    execFileSync('mkfifo', [path.join(src, 'pipe')]);
    const sock = path.join(src, 'sub', 'sock');
    server = net.createServer();
    await new Promise<void>((resolve) => server!.listen(sock, resolve));
    await fx.start();
    for (const json of [false, true]) {
      const dst = path.join(fx.dir, json ? 'json' : 'text');
      const r = await fx.blit(['copy', ...(json ? ['--json'] : []), fx.remote('src/'), dst]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /blit: warning: pipe: skipped \(not a regular file, directory or symlink\)/);
      assert.match(r.stderr, /blit: warning: sub\/sock: skipped \(not a regular file, directory or symlink\)/);
      if (json) assert.equal(JSON.parse(r.stdout).ok, true);
      assert.deepEqual(listTree(dst), ['a.txt', 'sub', 'sub/b.txt']);
    }
  });
});
