/**
 * A file whose content passes the quick check (or --size-only, or --checksum) but whose mode or
 * owner changed on the source gets chmod/chown only, as rsync -a does: no data copied (bytes
 * transferred 0, the destination inode unchanged, so no temp file was renamed over it), the
 * new mode and owner on the destination. Local copy and mirror, push and pull through a real blitd,
 * with the native library and with node:fs (BLIT_NATIVE_BATCH=0). Runs as root (owners preserved).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { listTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { setMtime } from './transfer-helpers';

const ROUNDS: Array<{ cmd: 'copy' | 'mirror'; flags: string[] }> = [
  { cmd: 'copy', flags: [] },
  { cmd: 'mirror', flags: ['--yes'] },
  { cmd: 'copy', flags: ['--size-only'] },
  { cmd: 'mirror', flags: ['--yes', '--size-only'] },
  { cmd: 'copy', flags: ['--checksum'] },
  { cmd: 'mirror', flags: ['--yes', '--checksum'] },
];
const MODES = [0o600, 0o755, 0o640, 0o4755, 0o444, 0o2750];

/** 30 directories x 8 files, distinct ns mtimes. */
function makeTree(root: string): void {
  let ns = 1_600_000_000_123_456_789n;
  for (let d = 0; d < 30; d++) {
    for (let f = 0; f < 8; f++) {
      const p = path.join(root, `d${d}`, `f${f}.txt`);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, `content ${d}/${f}\n`);
      fs.chmodSync(p, 0o644);
      setMtime(p, (ns += 1_000_003n));
    }
  }
}

const files = (root: string): string[] => listTree(root).filter((p) => fs.lstatSync(path.join(root, p)).isFile());

/** Round r: every fifth file (shifted per round) gets a new mode, every 23rd a new owner; mtimes kept. */
function changeMeta(root: string, r: number): string[] {
  const changed: string[] = [];
  files(root).forEach((p, i) => {
    if ((i + r) % 5 !== 0) return;
    const abs = path.join(root, p);
    const st = fs.lstatSync(abs, { bigint: true });
    if (i % 23 === 0) fs.chownSync(abs, 4000 + r, 5000 + r);
    fs.chmodSync(abs, MODES[(i + r) % MODES.length]!);
    setMtime(abs, st.mtimeNs);
    changed.push(p);
  });
  return changed;
}

function inodes(root: string): Map<string, bigint> {
  return new Map(files(root).map((p) => [p, fs.lstatSync(path.join(root, p), { bigint: true }).ino]));
}

function assertMetaAndContent(src: string, dst: string): void {
  for (const p of files(src)) {
    const s = fs.lstatSync(path.join(src, p), { bigint: true });
    const d = fs.lstatSync(path.join(dst, p), { bigint: true });
    assert.equal((d.mode & 0o7777n).toString(8), (s.mode & 0o7777n).toString(8), `${p}: mode`);
    assert.equal(`${d.uid}:${d.gid}`, `${s.uid}:${s.gid}`, `${p}: owner`);
    assert.equal(d.mtimeNs, s.mtimeNs, `${p}: mtime`);
    assert.ok(fs.readFileSync(path.join(dst, p)).equals(fs.readFileSync(path.join(src, p))), `${p}: content`);
  }
}

describe('a mode or owner change alone is applied without copying data (rsync -a)', function () {
  this.timeout(240_000);
  const fx = moduleFixture('blit-filemode-');

  for (const nativeBatch of [true, false]) {
    const env = nativeBatch ? CLI_ENV : { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' };
    const label = nativeBatch ? 'native batch' : 'BLIT_NATIVE_BATCH=0';
    for (const where of ['local', 'push', 'pull'] as const) {
      it(`${label}, ${where}: copy and mirror (quick check, --size-only, --checksum) chmod/chown only`, async () => {
        const src = where === 'pull' ? path.join(fx.moduleDir, 'src') : path.join(fx.dir, 'src');
        const dst = where === 'push' ? path.join(fx.moduleDir, 'dst') : path.join(fx.dir, 'dst');
        makeTree(src);
        if (where !== 'local') await fx.start(env);
        const from = where === 'pull' ? fx.remote('src') : src;
        const to = where === 'push' ? fx.remote('dst') : dst;
        const first = await fx.blit(['copy', `${from}/`, to, '--json'], env);
        assert.equal(first.code, 0, first.stderr);
        assertMetaAndContent(src, dst);
        const ino = inodes(dst);
        for (const [r, round] of ROUNDS.entries()) {
          const what = `round ${r}: ${round.cmd} ${round.flags.join(' ')}`;
          const changed = changeMeta(src, r + 1);
          assert.ok(changed.length > 40, what);
          const res = await fx.blit([round.cmd, `${from}/`, to, '--json', ...round.flags], env);
          assert.equal(res.code, 0, `${what}: ${res.stderr}`);
          const sum = JSON.parse(res.stdout.trim().split('\n').pop()!) as { filesTransferred: number; bytesTransferred: number; filesUnchanged: number };
          assert.equal(sum.bytesTransferred, 0, `${what}: no data copied`);
          assert.equal(sum.filesTransferred, 0, `${what}: nothing counted as transferred`);
          assert.equal(sum.filesUnchanged, 240, `${what}: every file unchanged in content`);
          assertMetaAndContent(src, dst);
          assert.deepEqual(inodes(dst), ino, `${what}: no file replaced`);
        }
      });
    }
  }
});

/**
 * An existing directory whose owner changed, and a symlink with the right target whose owner or
 * own mtime changed, get the source's again (rsync -a: chown, lchown, lutimes); before, only files
 * had their owner re-applied and such a link or directory stayed as it was on every run.
 */
describe('a directory\'s owner, a symlink\'s owner and mtime are re-applied on an existing destination (rsync -a)', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-dirlinkmeta-');

  const metaOf = (root: string, rel: string): string => {
    const st = fs.lstatSync(path.join(root, rel), { bigint: true });
    return `${rel} ${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs}`;
  };
  const both = (root: string): string[] => ['sub', 'sub/lnk', 'lnk'].map((r) => metaOf(root, r));

  for (const where of ['local', 'push', 'pull'] as const) {
    it(`${where}: a mirror chowns the directory, lchowns and lutimes the link; the next mirror changes nothing`, async function () {
      if (process.getuid?.() !== 0) this.skip(); // owners are kept as root only
      const src = where === 'pull' ? path.join(fx.moduleDir, 'src') : path.join(fx.dir, 'src');
      const dst = where === 'push' ? path.join(fx.moduleDir, 'dst') : path.join(fx.dir, 'dst');
      fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(src, 'sub', 'f'), 'f\n');
      fs.symlinkSync('f', path.join(src, 'sub', 'lnk'));
      fs.symlinkSync('sub', path.join(src, 'lnk'));
      fs.lchownSync(path.join(src, 'sub', 'lnk'), 2222, 3333);
      fs.lchownSync(path.join(src, 'lnk'), 2223, 3334);
      execFileSync('touch', ['-h', '-d', '2001-02-03 04:05:06.111111111', path.join(src, 'sub', 'lnk'), path.join(src, 'lnk')]);
      fs.chownSync(path.join(src, 'sub'), 4321, 8765);
      setMtime(path.join(src, 'sub'), 1_500_000_000_987_654_321n);
      if (where !== 'local') await fx.start();
      const from = where === 'pull' ? fx.remote('src') : src;
      const to = where === 'push' ? fx.remote('dst') : dst;
      const first = await fx.blit(['copy', `${from}/`, to]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(both(dst), both(src), 'first copy');
      fs.chownSync(path.join(dst, 'sub'), 7, 7);
      fs.lchownSync(path.join(dst, 'sub', 'lnk'), 9, 9);
      execFileSync('touch', ['-h', '-d', '2011-01-01 00:00:00', path.join(dst, 'lnk')]);
      const fix = await fx.blit(['mirror', `${from}/`, to, '--yes', '--json']);
      assert.equal(fix.code, 0, fix.stderr);
      assert.deepEqual(both(dst), both(src), 'after the mirror');
      const again = await fx.blit(['mirror', `${from}/`, to, '--yes', '--json']);
      assert.equal(again.code, 0, again.stderr);
      const sum = JSON.parse(again.stdout.trim().split('\n').pop()!) as { filesTransferred: number; symlinksCreated: number };
      assert.deepEqual([sum.filesTransferred, sum.symlinksCreated], [0, 0], 'a no-op mirror writes nothing');
      assert.deepEqual(both(dst), both(src), 'after the no-op mirror');
    });
  }
});

/**
 * A root:root file landing in an existing setgid destination directory keeps group 0, as with
 * rsync -a: the kernel gives a new file the setgid directory's group, and blit skipped the chown
 * of root:root files (it took every file root creates to be root:root). Small (batch) and big
 * (AtomicFile) files, native and node:fs, local, push and pull.
 */
describe('as root, a root:root file written into a setgid destination directory keeps group root', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-setgid-');

  for (const nativeBatch of [true, false]) {
    const env = nativeBatch ? CLI_ENV : { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' };
    const label = nativeBatch ? 'native batch' : 'BLIT_NATIVE_BATCH=0';
    for (const where of ['local', 'push', 'pull'] as const) {
      it(`${label}, ${where}: small and big files, new and updated`, async function () {
        if (process.getuid?.() !== 0) this.skip(); // owners are kept as root only
        const src = where === 'pull' ? path.join(fx.moduleDir, 'src') : path.join(fx.dir, 'src');
        const dst = where === 'push' ? path.join(fx.moduleDir, 'dst') : path.join(fx.dir, 'dst');
        const d = path.join(src, 'shared');
        fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(d, 'old'), 'old\n');
        fs.chownSync(d, 0, 5);
        fs.chmodSync(d, 0o2775);
        if (where !== 'local') await fx.start(env);
        const from = where === 'pull' ? fx.remote('src') : src;
        const to = where === 'push' ? fx.remote('dst') : dst;
        const first = await fx.blit(['copy', `${from}/`, to], env);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(fs.statSync(path.join(dst, 'shared')).gid, 5, 'the directory keeps its group');
        // Now the destination directory is setgid with group 5: what lands in it gets group 5 from the kernel.
        fs.writeFileSync(path.join(d, 'small'), 'small\n');
        fs.writeFileSync(path.join(d, 'big'), Buffer.alloc(3 << 20, 7));
        fs.writeFileSync(path.join(d, 'old'), 'changed\n');
        for (const n of ['small', 'big']) fs.chownSync(path.join(d, n), 0, 0); // the source's are root:root too
        const again = await fx.blit(['copy', `${from}/`, to], env);
        assert.equal(again.code, 0, again.stderr);
        for (const n of ['old', 'small', 'big']) {
          const st = fs.statSync(path.join(dst, 'shared', n));
          assert.equal(`${st.uid}:${st.gid}`, '0:0', `${n}: owner`);
          assert.equal((st.mode & 0o7777).toString(8), '644', `${n}: mode`);
        }
      });
    }
  }
});
