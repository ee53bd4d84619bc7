/**
 * A full module filesystem on push (hunt-remote): a tmpfs of 1 MiB mounted on the module (needs
 * CAP_SYS_ADMIN; CI runs as root, skipped elsewhere as engine/safety.test.ts's ENOSPC test). The
 * file that does not fit fails by name as NoSpace ("cannot write: no space left on device"): a
 * big file written by the receive worker said `ENOSPC: no space left on device, write [IoError]`,
 * and other write failures showed their path twice ("t1: t1: cannot write: ..."). No temp file is
 * left and blitd serves the next request.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { writeTree } from './harness';
import { moduleFixture } from './module-fixture';
import { tempFilesIn } from './transfer-helpers';

describe('remote: push into a full module (hunt-remote)', function () {
  let mounted: string | undefined;
  const fx = moduleFixture('blit-hunt-full-', {
    beforeCleanup: () => {
      if (mounted) execFileSync('umount', [mounted]);
      mounted = undefined;
    },
  });

  it('the file that does not fit fails as NoSpace, named once; no temp left; blitd still serves', async function () {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', fx.moduleDir], { stdio: 'ignore' });
      mounted = fx.moduleDir;
    } catch {
      this.skip();
    }
    await fx.start();
    const src = path.join(fx.dir, 'src');
    const tree: Record<string, Buffer> = { 'big.bin': Buffer.alloc(3 << 20, 9) };
    for (let i = 0; i < 8; i++) tree[`t${i}.txt`] = Buffer.from(`small ${i}`);
    writeTree(src, tree);
    const out = await fx.blit(['copy', `${src}/`, fx.remote('dst/')]);
    const what = `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
    assert.equal(out.code, 2, what);
    assert.match(out.stderr, /big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.doesNotMatch(out.stderr, /\[IoError\]|(\S+): \1: /, what);
    assert.deepEqual(tempFilesIn(fx.moduleDir), [], what);
    const ls = await fx.blit(['ls', fx.remote('dst/')]);
    assert.equal(ls.code, 0, ls.stderr);
  });

  it('out of inodes: directory failures name their path once (Destination.failWith)', async function () {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,nr_inodes=6', 'tmpfs', fx.moduleDir], { stdio: 'ignore' });
      mounted = fx.moduleDir;
    } catch {
      this.skip();
    }
    await fx.start();
    const src = path.join(fx.dir, 'src');
    const tree: Record<string, string> = {};
    for (const d of ['a', 'b', 'c', 'd', 'e', 'f']) tree[`${d}/f.txt`] = d;
    writeTree(src, tree);
    const out = await fx.blit(['copy', `${src}/`, fx.remote('dst/')]);
    const what = `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
    assert.equal(out.code, 2, what);
    assert.match(out.stderr, /failed: [a-f]: cannot create dir: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.doesNotMatch(out.stderr, /failed: (\S+): \1: /, what);
    assert.deepEqual(tempFilesIn(fx.moduleDir), [], what);
  });
});
