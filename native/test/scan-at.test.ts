/**
 * blit_scan_dir_at (native/src/batch.ts scanDirAt): the scan of a directory opened relative to a
 * directory fd with openat2 inside the native call. Same records as scanDir; with the RESOLVE
 * bits the daemon passes, a symlink on the way (ELOOP) or a path leaving the fd's directory
 * (EXDEV) fails the open, the kernel's refusal the daemon turns into PathEscape.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNativeBatch, loadOpenBeneath, AT_FDCWD, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, type NativeBatch } from '../src/index';
import { makeTempDir } from './helpers';

const RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
const ELOOP = 40;
const EXDEV = 18;
const ENOENT = 2;
const ENOTDIR = 20;

describe('native: scanDirAt (a listing opened beneath a directory fd)', () => {
  let batch: NativeBatch;
  let t: ReturnType<typeof makeTempDir>;
  let rootFd: number;
  before(() => {
    const b = loadNativeBatch();
    assert.ok(b, 'native batch library not loaded (built by npm ci)');
    batch = b;
    assert.ok(loadOpenBeneath().open, `openat2 is not available here (${loadOpenBeneath().error?.message})`);
  });
  beforeEach(() => {
    t = makeTempDir('scanat');
    fs.mkdirSync(path.join(t.dir, 'root/a/b'), { recursive: true });
    fs.writeFileSync(path.join(t.dir, 'root/a/b/f1'), 'one');
    fs.writeFileSync(path.join(t.dir, 'root/a/b/f2'), 'two!');
    fs.symlinkSync('f1', path.join(t.dir, 'root/a/b/ln'));
    fs.mkdirSync(path.join(t.dir, 'outside'));
    fs.writeFileSync(path.join(t.dir, 'outside/secret'), 's');
    fs.symlinkSync('../../outside', path.join(t.dir, 'root/a/out'));
    rootFd = loadOpenBeneath().open!(AT_FDCWD, Buffer.from(path.join(t.dir, 'root')), 0);
    assert.ok(rootFd >= 0);
  });
  afterEach(() => {
    fs.closeSync(rootFd);
    t.remove();
  });

  /** The records of the last scan as [name, err, mode, size, link]. */
  const records = (n: number): unknown[] => {
    const s = batch.scan;
    const out: unknown[] = [];
    for (let i = 0, off = 0; i < n; i++, off += s.u32[off >>> 2]!) {
      const nameLen = s.u32[(off + 4) >>> 2]!;
      const linkLen = s.u32[(off + 52) >>> 2]!;
      out.push([s.data.toString('latin1', off + 64, off + 64 + nameLen), s.i32[(off + 8) >>> 2], s.u32[(off + 12) >>> 2], s.f64[(off + 16) >>> 3], s.data.toString('latin1', off + 64 + nameLen, off + 64 + nameLen + linkLen)]);
    }
    return out;
  };

  it('gives the records scanDir gives for the same directory (names sorted, lstat, link targets)', () => {
    const n = batch.scanDir(Buffer.from(path.join(t.dir, 'root/a/b')), false);
    assert.equal(n, 3);
    const want = records(n);
    const m = batch.scanDirAt(rootFd, Buffer.from('a/b'), RESOLVE);
    assert.equal(m, 3);
    assert.deepEqual(records(m), want);
    assert.deepEqual(want.map((r) => (r as unknown[])[0]), ['f1', 'f2', 'ln']);
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('.'), RESOLVE), 1, 'the root itself as "."');
  });

  it("tells the listed directory's own st_dev and st_ino (ABI 8), for scanDir and scanDirAt, from the fd it read", () => {
    const id = (rel: string): bigint[] => {
      const st = fs.statSync(path.join(t.dir, 'root', rel), { bigint: true });
      return [st.dev, st.ino];
    };
    assert.equal(batch.scanDir(Buffer.from(path.join(t.dir, 'root/a/b')), false), 3);
    assert.deepEqual([...batch.scanDirId], id('a/b'));
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a'), RESOLVE), 2);
    assert.deepEqual([...batch.scanDirId], id('a'));
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('.'), RESOLVE), 1);
    assert.deepEqual([...batch.scanDirId], id('.'));
    // An empty directory has no record to carry it: the identity is still there.
    fs.mkdirSync(path.join(t.dir, 'root/empty'));
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('empty'), RESOLVE), 0);
    assert.deepEqual([...batch.scanDirId], id('empty'));
  });

  it('with the RESOLVE bits: a symlink on the way is ELOOP, a path out of the root is EXDEV; missing and non-directories as open(2) says', () => {
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a/out'), RESOLVE), -ELOOP, 'final component a symlink');
    fs.renameSync(path.join(t.dir, 'root/a/b'), path.join(t.dir, 'root/a/b.away'));
    fs.symlinkSync('../../outside', path.join(t.dir, 'root/a/b'));
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a/b'), RESOLVE), -ELOOP, 'a swapped directory');
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('../outside'), RESOLVE), -EXDEV, '.. above the root');
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a/missing'), RESOLVE), -ENOENT);
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a/b.away/f1'), RESOLVE), -ENOTDIR);
    // Without the bits the same calls follow the symlinks out (what the daemon must never pass).
    assert.equal(batch.scanDirAt(rootFd, Buffer.from('a/out'), 0), 1);
    assert.deepEqual(records(1).map((r) => (r as unknown[])[0]), ['secret']);
  });

  it('grows its buffer for a large directory (the scan runs again) and keeps every record', () => {
    const big = path.join(t.dir, 'root/big');
    fs.mkdirSync(big);
    const names = Array.from({ length: 5000 }, (_, i) => `file-with-a-long-name-${String(i).padStart(5, '0')}-${'x'.repeat(40)}`);
    for (const n of names) fs.writeFileSync(path.join(big, n), '');
    const n = batch.scanDirAt(rootFd, Buffer.from('big'), RESOLVE);
    assert.equal(n, names.length);
    assert.deepEqual(records(n).map((r) => (r as unknown[])[0]), [...names].sort());
  });
});
