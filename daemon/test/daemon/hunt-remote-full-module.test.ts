/**
 * A full module filesystem on push (hunt-remote): a tmpfs of 1 MiB mounted on the module (needs
 * CAP_SYS_ADMIN; CI runs as root, skipped elsewhere as engine/safety.test.ts's ENOSPC test). The
 * file that does not fit fails by name as NoSpace ("cannot write: no space left on device"): a
 * big file written by the receive worker said `ENOSPC: no space left on device, write [IoError]`,
 * and other write failures showed their path twice ("t1: t1: cannot write: ..."). No temp file is
 * left and blitd serves the next request.
 *
 * And the first NoSpace ends the transfer, exit 1 `[NoSpace]`, as a local copy does (NoSpace is
 * fatal in the engine's table): the remote destination used to go on file by file (exit 2). Push
 * (blitd's receiver) and pull (the client's, into a full local tmpfs) alike; what was committed
 * stays, whole, and nothing else is left under any name.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
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
    assert.equal(out.code, 1, what);
    assert.match(out.stderr, /failed: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.match(out.stderr, /blit: error: 127\.0\.0\.1:\d+: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.doesNotMatch(out.stderr, /\[IoError\]|(\S+): \1: /, what);
    assertOnlyWholeCopies(src, path.join(fx.moduleDir, 'dst'), what);
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
    assert.equal(out.code, 1, what);
    assert.match(out.stderr, /failed: [a-f]: cannot create directory: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.doesNotMatch(out.stderr, /failed: (\S+): \1: /, what);
    assert.match(out.stderr, /blit: error: .*\[NoSpace\]/, what);
    assert.deepEqual(tempFilesIn(fx.moduleDir), [], what);
  });

  it('pull into a full local destination ends at the first NoSpace, exit 1; committed files stay, no temp', async function () {
    const mnt = path.join(fx.dir, 'local');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
      mounted = mnt;
    } catch {
      this.skip();
    }
    const src = path.join(fx.moduleDir, 'src');
    const tree: Record<string, Buffer> = { 'big.bin': Buffer.alloc(3 << 20, 9) };
    for (let i = 0; i < 8; i++) tree[`t${i}.txt`] = Buffer.from(`small ${i}`);
    writeTree(src, tree);
    await fx.start();
    const dst = path.join(mnt, 'dst');
    const out = await fx.blit(['copy', fx.remote('src/'), dst]);
    const what = `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
    assert.equal(out.code, 1, what);
    assert.match(out.stderr, /failed: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assert.match(out.stderr, /blit: error: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
    assertOnlyWholeCopies(src, dst, what);
  });
});

/** Every file under `dst` is a whole copy of the one at the same path in `src`: no temp, no partial file. */
function assertOnlyWholeCopies(src: string, dst: string, what: string): void {
  const walk = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(dst, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (d.isDirectory()) walk(r);
      else assert.ok(fs.readFileSync(path.join(dst, r)).equals(fs.readFileSync(path.join(src, r))), `${r} is not a whole copy of the source file\n${what}`);
    }
  };
  walk('');
}
