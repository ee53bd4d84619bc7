/**
 * `blit rm` of a tree whose entries another writer removes while blitd deletes it (a push
 * renaming its temp away, a second `rm`): the goal, the path gone, holds, as `rm -rf` treats an
 * entry already gone. blitd used to end the purge at the first such entry, exit 1, `cannot
 * delete: no such file or directory (ENOENT) [SourceNotFound]`, the rest of the tree left.
 * Deterministic: blitd runs under strace, which stops it at its first unlink after it listed the
 * directory; the test removes the directory's other files, then lets blitd go on.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needStrace } from '../need-strace';
import { releaseTraced, stopAtWrap, tracedPid, waitStopped } from '../strace-stops';
import { CLI_ENV } from './module-fixture';
import { runBlit, startDaemon, tempDir, writeTree } from './harness';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('blit rm while another writer removes entries of the tree', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => (tmp = tempDir('blit-purge-vanish-')));
  afterEach(() => tmp.cleanup());

  it('an entry already gone is not a failure: the tree goes, exit 0', async () => {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const names = ['a', 'b', 'c', 'd'];
    writeTree(mod, Object.fromEntries(names.map((n) => [`t/sub/${n}`, n])));
    const trace = path.join(tmp.dir, 'trace');
    const daemon = await startDaemon(['--port', '0', '--root', mod], {
      env: CLI_ENV,
      // Every thread's first unlink stops it; the listing of t/sub precedes its first unlink.
      wrap: stopAtWrap(trace, 'unlink,unlinkat'),
    });
    let done = false;
    try {
      const rm = runBlit(['rm', '--yes', `127.0.0.1:${daemon.port}:/default/t`], { env: CLI_ENV, timeoutMs: 90_000 }).finally(() => (done = true));
      await waitStopped(trace, 60_000, 'blitd to stop at its first unlink');
      // The other writer: every file of t/sub still there goes (the one blitd is about to unlink
      // included: its unlink then meets ENOENT too).
      for (const n of names) fs.rmSync(path.join(mod, 't', 'sub', n), { force: true });
      // Resume blitd, and each pool thread stopped at its own first unlink after it (a SIGCONT
      // sent before a stop is lost, so keep sending until the rm ends).
      while (!done) {
        process.kill(tracedPid(daemon.proc.pid!), 'SIGCONT');
        await sleep(20);
      }
      const out = await rm;
      assert.equal(out.code, 0, out.stderr);
      assert.equal(fs.existsSync(path.join(mod, 't')), false, 'the tree is gone');
      assert.ok(fs.existsSync(mod), 'the module root stays');
    } finally {
      await releaseTraced(daemon);
    }
  });
});
