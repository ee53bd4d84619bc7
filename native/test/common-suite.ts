/**
 * Behaviour both implementations (ffi-rs and node:fs fallback) must share: metadata calls, sparse
 * seeks, fs type, error shape. Registered once per implementation by the *.test.ts files.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUnsupported, NativeError, type NativeBindings } from '../src/index';
import { makeTempDir } from './helpers';

const MiB = 1024 * 1024;

/** Nanosecond timestamps need exact equality natively; the fallback goes through a double. */
function assertTimeNs(actual: bigint, expected: bigint, exact: boolean): void {
  if (exact) assert.equal(actual, expected);
  else assert.ok(actual - expected < 1000n && expected - actual < 1000n, `${actual} not within 1 µs of ${expected}`);
}

export function commonSuite(getBindings: () => NativeBindings, exactNs: boolean): void {
  let tmp: ReturnType<typeof makeTempDir>;
  let b: NativeBindings;
  beforeEach(() => {
    tmp = makeTempDir('common');
    b = getBindings();
  });
  afterEach(() => tmp.remove());

  it('futimens sets atime and mtime to the nanosecond, also before 1970', () => {
    const p = tmp.file('f');
    fs.writeFileSync(p, 'x');
    const fd = fs.openSync(p, 'r+');
    try {
      b.futimens(fd, 1_600_000_000_111_222_333n, 1_700_000_000_123_456_789n);
      let st = fs.statSync(p, { bigint: true });
      assertTimeNs(st.atimeNs, 1_600_000_000_111_222_333n, exactNs);
      assertTimeNs(st.mtimeNs, 1_700_000_000_123_456_789n, exactNs);
      b.futimens(fd, 0n, -1_500_000_000n);
      st = fs.statSync(p, { bigint: true });
      assertTimeNs(st.mtimeNs, -1_500_000_000n, exactNs);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('utimensat follows symlinks by default and sets the link itself with noFollow', () => {
    const target = tmp.file('target');
    const link = tmp.file('link');
    fs.writeFileSync(target, 'x');
    fs.symlinkSync('target', link);
    b.utimensat(Buffer.from(link), 1_000_000_000_000_000_001n, 1_100_000_000_000_000_007n, { noFollow: false });
    assertTimeNs(fs.statSync(target, { bigint: true }).mtimeNs, 1_100_000_000_000_000_007n, exactNs);

    b.utimensat(Buffer.from(link), 1_200_000_000_000_000_003n, 1_300_000_000_000_000_009n, { noFollow: true });
    assertTimeNs(fs.lstatSync(link, { bigint: true }).mtimeNs, 1_300_000_000_000_000_009n, exactNs);
    assertTimeNs(fs.statSync(target, { bigint: true }).mtimeNs, 1_100_000_000_000_000_007n, exactNs);
  });

  it('utimensat reaches a file whose name is not valid UTF-8, byte-exact', () => {
    const name = Buffer.concat([Buffer.from(tmp.dir + path.sep), Buffer.from([0x66, 0xff, 0xfe, 0x80])]);
    fs.writeFileSync(name, 'x');
    b.utimensat(name, 1_500_000_000_000_000_000n, 1_500_000_000_000_000_042n, { noFollow: false });
    assertTimeNs(fs.statSync(name, { bigint: true }).mtimeNs, 1_500_000_000_000_000_042n, exactNs);
  });

  it('fchmod sets the permission bits', () => {
    const p = tmp.file('f');
    fs.writeFileSync(p, 'x', { mode: 0o600 });
    const fd = fs.openSync(p, 'r');
    try {
      b.fchmod(fd, 0o751);
      assert.equal(fs.statSync(p).mode & 0o7777, 0o751);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('fchown and lchown to our own uid/gid succeed and keep ownership', function () {
    if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') this.skip();
    const uid = process.getuid!();
    const gid = process.getgid!();
    const p = tmp.file('f');
    const link = tmp.file('l');
    fs.writeFileSync(p, 'x');
    fs.symlinkSync('f', link);
    const fd = fs.openSync(p, 'r');
    try {
      b.fchown(fd, uid, gid);
      b.fchown(fd, -1, -1);
    } finally {
      fs.closeSync(fd);
    }
    b.lchown(Buffer.from(link), uid, gid);
    const st = fs.lstatSync(link);
    assert.equal(st.uid, uid);
    assert.equal(st.gid, gid);
  });

  it('lseekData/lseekHole walk a sparse file (or report it as one data extent)', () => {
    const p = tmp.file('sparse');
    const fd = fs.openSync(p, 'w+');
    try {
      fs.writeSync(fd, Buffer.alloc(64 * 1024, 1), 0, 64 * 1024, 0);
      fs.writeSync(fd, Buffer.alloc(64 * 1024, 2), 0, 64 * 1024, MiB);
      fs.ftruncateSync(fd, 2 * MiB);
      assert.equal(b.lseekData(fd, 0), 0);
      const firstHole = b.lseekHole(fd, 0);
      if (firstHole === 2 * MiB) {
        // No hole tracking (fallback, or a filesystem without SEEK_HOLE support).
        assert.equal(b.lseekData(fd, 100), 100);
      } else {
        assert.equal(firstHole, 64 * 1024);
        assert.equal(b.lseekData(fd, firstHole), MiB);
        assert.equal(b.lseekHole(fd, MiB), MiB + 64 * 1024);
        assert.equal(b.lseekData(fd, MiB + 64 * 1024), -1, 'trailing hole: no more data');
      }
      assert.equal(b.lseekData(fd, 2 * MiB), -1, 'at EOF: ENXIO -> -1');
      assert.equal(b.lseekHole(fd, 2 * MiB), -1, 'at EOF: ENXIO -> -1');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('statfsType names the filesystem', function () {
    if (process.platform !== 'linux') this.skip();
    assert.equal(b.statfsType('/proc'), 'proc');
    if (fs.existsSync('/dev/shm')) assert.equal(b.statfsType(Buffer.from('/dev/shm')), 'tmpfs');
    assert.doesNotMatch(b.statfsType(tmp.dir), /^0x/);
  });

  it('a bad fd raises NativeError EBADF with the syscall named', () => {
    const badFd = 1_000_000;
    for (const call of [() => b.futimens(badFd, 0n, 0n), () => b.fchmod(badFd, 0o644), () => b.lseekData(badFd, 0)]) {
      assert.throws(call, (err: unknown) => {
        assert.ok(err instanceof NativeError, String(err));
        assert.equal(err.code, 'EBADF');
        assert.equal(err.errno, 9);
        assert.ok(err.syscall.length > 0);
        assert.equal(isUnsupported(err), false);
        return true;
      });
    }
    assert.throws(() => b.posixFadvise(badFd, 0, 0, 0), { code: 'EBADF' });
  });

  it('a missing path raises NativeError ENOENT naming the path', () => {
    const missing = tmp.file('missing');
    assert.throws(() => b.utimensat(Buffer.from(missing), 0n, 0n, { noFollow: true }), (err: unknown) => {
      assert.ok(err instanceof NativeError);
      assert.equal(err.code, 'ENOENT');
      assert.ok(err.message.includes(missing), err.message);
      return true;
    });
    assert.throws(() => b.lchown(Buffer.from(missing), 0, 0), { code: 'ENOENT' });
    assert.throws(() => b.statfsType(missing), { code: 'ENOENT' });
  });

  it('rejects offsets ffi would truncate with a RangeError naming the argument', () => {
    assert.throws(() => b.lseekData(0, 1.5), /offset must be an integer/);
    assert.throws(() => b.posixFadvise(0, -1, 0, 0), /offset must be an integer/);
  });
}
