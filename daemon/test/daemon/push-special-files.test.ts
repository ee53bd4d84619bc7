/**
 * A push leaves out FIFOs (and sockets, devices) as the local engine does, and names each one in a
 * warning (it used to leave them out silently: hunt-remote). Opening a FIFO would block, so the
 * push must also finish.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
