/**
 * A push leaves out FIFOs (and sockets, devices) as the local engine does, and names each one in a
 * warning (it used to leave them out silently: hunt-remote). Opening a FIFO would block, so the
 * push must also finish.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, runBlit, startDaemon, tempDir, writeTree } from './harness';
import { CLI_ENV } from './module-fixture';

describe('push: special files in the source', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => (tmp = tempDir('blit-push-special-')));
  afterEach(() => tmp.cleanup());

  it('are skipped with a warning naming each, the rest copied, exit 0', async () => {
    const src = path.join(tmp.dir, 'src');
    const mod = path.join(tmp.dir, 'module');
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    fs.mkdirSync(mod);
    execFileSync('mkfifo', [path.join(src, 'pipe'), path.join(src, 'sub', 'pipe2')]);
    const daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV });
    try {
      const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/x/`], { env: CLI_ENV });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: pipe: skipped \(not a regular file, directory or symlink\)/);
      assert.match(r.stderr, /warning: sub\/pipe2: skipped \(not a regular file, directory or symlink\)/);
      assert.deepEqual(listTree(path.join(mod, 'x')), ['a.txt', 'sub', 'sub/b.txt']);
    } finally {
      await daemon.stop();
    }
  });
});
