/**
 * The receiver's final pass over directory metadata (Destination.applyDirMeta): with the native
 * library, chunks of directories go through blit_dir_meta_batch, each addressed through its pinned
 * fd (held by the anchor for the call); otherwise node:fs per directory. Real blitd, both paths:
 * more directories than the anchor caches (1,300: several chunks, evictions) arrive with exact
 * modes (setgid, 0500...) and ns mtimes, push and pull; a directory whose metadata cannot be set
 * (immutable: chmod fails with EPERM even for root) is a failure naming that directory, and every
 * other directory still gets its metadata.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { assertSameTree, setMtime } from './transfer-helpers';

const MODES = [0o755, 0o700, 0o2775, 0o750, 0o1777, 0o711, 0o500];

/** `tops` x `subs` directories (a file in every fourth), modes cycling, distinct ns mtimes. */
function makeDirs(root: string, tops: number, subs: number): void {
  for (let t = 0; t < tops; t++) {
    for (let s = 0; s < subs; s++) {
      const d = path.join(root, `t${t}`, `s${s}`);
      fs.mkdirSync(d, { recursive: true });
      if (s % 4 === 0) fs.writeFileSync(path.join(d, 'f.txt'), `${t}/${s}\n`);
    }
  }
  const dirs = listTree(root).filter((p) => fs.lstatSync(path.join(root, p)).isDirectory());
  dirs.sort((a, b) => b.split('/').length - a.split('/').length);
  let ns = 1_500_000_000_987_654_321n;
  dirs.forEach((d, i) => {
    const abs = path.join(root, d);
    fs.chmodSync(abs, MODES[i % MODES.length]!);
    setMtime(abs, (ns += 1_000_003n));
  });
}

describe('directory metadata at the end of a remote transfer (real blitd)', function () {
  this.timeout(120_000);
  const immutable: string[] = [];
  const fx = moduleFixture('blit-dirmeta-', {
    beforeCleanup: (dir) => {
      for (const d of immutable.splice(0)) execFileSync('chattr', ['-i', d]);
      // Modes such as 0500 keep the tree from being removed: open it up first.
      for (const p of listTree(dir)) {
        const abs = path.join(dir, p);
        if (fs.lstatSync(abs).isDirectory()) fs.chmodSync(abs, 0o755);
      }
    },
  });
  let src: string;

  beforeEach(() => {
    src = path.join(fx.dir, 'src');
    fs.mkdirSync(src);
  });

  for (const nativeBatch of [true, false]) {
    const e = nativeBatch ? CLI_ENV : { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' };
    const label = nativeBatch ? 'native batch' : 'BLIT_NATIVE_BATCH=0';

    it(`${label}: 1,300 directories, push and pull, every mode and ns mtime exact`, async () => {
      makeDirs(src, 26, 49);
      await fx.start(e);
      await fx.pushPull(src, 'pushed', e);
    });

    it(`${label}: a directory whose metadata cannot be set fails naming it; the others still get theirs`, async () => {
      makeDirs(src, 6, 60);
      const dst = path.join(fx.moduleDir, 'dst');
      fs.cpSync(src, dst, { recursive: true });
      // Every directory differs from the source in mode and mtime (all need their metadata); one,
      // in the middle of the deepest-first order, is immutable (chmod: EPERM, even as root).
      for (const p of listTree(dst)) {
        const abs = path.join(dst, p);
        if (!fs.lstatSync(abs).isDirectory()) continue;
        fs.chmodSync(abs, 0o777);
        setMtime(abs, 1_000_000_000_000_000_000n);
      }
      const stuck = path.join(dst, 't3', 's30');
      fs.rmSync(path.join(stuck, 'f.txt'), { force: true });
      fs.rmSync(path.join(src, 't3', 's30', 'f.txt'), { force: true });
      execFileSync('chattr', ['+i', stuck]);
      immutable.push(stuck);
      await fx.start(e);
      const r = await fx.blit(['copy', `${src}/`, fx.remote('dst')], e);
      assert.notEqual(r.code, 0, 'the failure is reported');
      assert.match(r.stderr, /t3\/s30.*cannot set directory metadata|cannot set directory metadata.*t3\/s30/);
      assert.equal((fs.lstatSync(stuck).mode & 0o7777).toString(8), '777', 'the immutable directory is untouched');
      execFileSync('chattr', ['-i', stuck]);
      immutable.length = 0;
      // Everything else is exact: give the stuck directory the source's metadata and compare all.
      const want = fs.lstatSync(path.join(src, 't3', 's30'), { bigint: true });
      fs.chmodSync(stuck, Number(want.mode) & 0o7777);
      setMtime(stuck, want.mtimeNs);
      assertSameTree(src, dst);
    });
  }
});
