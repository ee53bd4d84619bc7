/**
 * A destination filesystem that keeps fewer mtime digits than the source (hunt-cli): ext2/ext3
 * with 128-byte inodes, HFS+ and many network filesystems keep whole seconds, FAT 2 s, NTFS 100 ns.
 * blit compared ns exactly, so every run copied every file again (rsync's quick check sees them
 * unchanged), and `move` kept every source as "destination did not verify" (exit 2).
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mtimeKept } from '../../src/engine/compare';
import { listTree, writeTree, type RunResult } from './harness';
import { moduleFixture } from './module-fixture';

const SRC_TIME = '1650000000.123456789';
const FILES = ['a.txt', 'sub/b.txt', 'sub/deep/c.txt'];

function srcTree(root: string): void {
  for (const f of FILES) writeTree(root, { [f]: `content of ${f}` });
  for (const f of FILES) execFileSync('touch', ['-h', '-m', '-d', `@${SRC_TIME}`, path.join(root, f)]);
}

/** What a 1 s filesystem keeps of the mtime blit set: the whole seconds. */
function truncateMtimes(root: string, to = SRC_TIME.split('.')[0]!): void {
  for (const f of FILES) execFileSync('touch', ['-h', '-m', '-d', `@${to}.000000000`, path.join(root, f)]);
}

function filesTransferred(r: RunResult): number {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { filesTransferred: number }).filesTransferred;
}

describe('hunt-cli: mtimes kept at a coarser step by the destination filesystem', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-hunt-mtime-');

  it('mtimeKept: equal, or the source truncated to 100 ns, 1 µs, 1 ms, 1 s, 2 s', () => {
    const t = 1_650_000_000_123_456_789n;
    assert.equal(mtimeKept(t, t), true);
    assert.equal(mtimeKept(t, 1_650_000_000_000_000_000n), true); // whole seconds
    assert.equal(mtimeKept(t, 1_650_000_000_123_456_700n), true); // 100 ns
    assert.equal(mtimeKept(1_650_000_001_500_000_000n, 1_650_000_000_000_000_000n), true); // FAT 2 s
    assert.equal(mtimeKept(t, 1_650_000_001_000_000_000n), false); // a second later: changed
    assert.equal(mtimeKept(t, 1_649_999_999_000_000_000n), false); // a second earlier: changed
    assert.equal(mtimeKept(1_650_000_000_000_000_000n, t), false); // the destination has more digits
    assert.equal(mtimeKept(-1_500_000_000n, -2_000_000_000n), true); // before 1970: floor
  });

  it('a destination holding whole-second mtimes is up to date: local, push and pull copy nothing', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    srcTree(src);
    const local = path.join(fx.dir, 'local');
    const pulled = path.join(fx.dir, 'pulled');
    execFileSync('cp', ['-a', src, path.join(fx.moduleDir, 'src')]);
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', `${src}/`, local])), 3);
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', `${src}/`, fx.remote('pushed')])), 3);
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', fx.remote('src/'), pulled])), 3);
    for (const d of [local, path.join(fx.moduleDir, 'pushed'), pulled]) truncateMtimes(d);
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', `${src}/`, local])), 0, 'local');
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', `${src}/`, fx.remote('pushed')])), 0, 'push');
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', fx.remote('src/'), pulled])), 0, 'pull');
    // A whole second that is not the source's truncated: changed, copied.
    truncateMtimes(local, String(Number(SRC_TIME.split('.')[0]) + 1));
    assert.equal(filesTransferred(await fx.blit(['copy', '--json', `${src}/`, local])), 3, 'one second later');
  });

  it('move onto an ext2 filesystem with 1 s mtimes removes every source (was: all kept, VerifyFailed)', async function () {
    const img = path.join(fx.dir, 'ext2.img');
    const mnt = path.join(fx.dir, 'mnt');
    fs.mkdirSync(mnt);
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 8 << 20);
    const mkfs = spawnSync('mkfs.ext2', ['-q', '-F', '-I', '128', img], { encoding: 'utf8' });
    if (mkfs.status !== 0 || spawnSync('mount', ['-o', 'loop', img, mnt]).status !== 0) this.skip(); // needs root and a loop device
    try {
      const src = path.join(fx.dir, 'src');
      srcTree(src);
      const r = await fx.blit(['move', '--json', `${src}/`, path.join(mnt, 'dst')]);
      assert.equal(filesTransferred(r), 3);
      assert.deepEqual(listTree(src).filter((p) => !p.endsWith('/')), [], r.stdout);
      assert.equal(fs.statSync(path.join(mnt, 'dst', 'a.txt')).mtimeMs, 1_650_000_000_000, 'the filesystem keeps whole seconds');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
