/** The ffi-rs bindings on real files, pipes and loopback sockets. Linux only (CI is Linux). */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as native from '../src/index';
import {
  FADV_DONTNEED,
  FADV_SEQUENTIAL,
  FADV_WILLNEED,
  FALLOC_FL_KEEP_SIZE,
  isUnsupported,
  loadBindings,
  NativeError,
  O_CLOEXEC,
  POLLIN,
  POLLOUT,
  RENAME_NOREPLACE,
  SPLICE_F_MORE,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
  UnsupportedError,
  type NativeBindings,
} from '../src/index';
import { mappedLibc } from '../src/linux';
import { commonSuite } from './common-suite';
import { makeTempDir, randomBytes, socketFd, tcpPair, tick } from './helpers';

const KiB = 1024;

function withFds<T>(paths: [string, string][], run: (...fds: number[]) => T): T {
  const fds = paths.map(([p, flags]) => fs.openSync(p, flags));
  try {
    return run(...fds);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

function isEagain(err: unknown): boolean {
  return err instanceof NativeError && err.code === 'EAGAIN';
}

describe('native: Linux bindings (ffi-rs)', function () {
  let b: NativeBindings;
  let tmp: ReturnType<typeof makeTempDir>;

  before(function () {
    b = loadBindings();
    assert.equal(b.kind, 'linux', `ffi-rs bindings failed to load: ${String(native.nativeLoadError())}`);
  });
  beforeEach(() => (tmp = makeTempDir('linux')));
  afterEach(() => tmp.remove());

  it('loads on Linux and is what the module-level functions use', () => {
    assert.equal(native.nativeAvailable, true);
    assert.equal(native.platformSupportsZeroCopy(), true);
    assert.equal(loadBindings(), b, 'loading is idempotent');
    // A module-level function goes through the same bindings: an UnsupportedError class check.
    const p = tmp.file('f');
    fs.writeFileSync(p, 'abc');
    withFds([[p, 'r'], [tmp.file('g'), 'w']], (src, dst) => assert.equal(native.copyFileRange(src!, null, dst!, null, 10), 3));
  });

  it('copyFileRange copies exact bytes at explicit offsets and leaves file positions alone', () => {
    const data = randomBytes(300 * KiB);
    const src = tmp.file('src');
    const dst = tmp.file('dst');
    fs.writeFileSync(src, data);
    fs.writeFileSync(dst, Buffer.alloc(10, 0x55));
    withFds([[src, 'r'], [dst, 'r+']], (fin, fout) => {
      let done = 0;
      while (done < 200 * KiB) {
        const n = b.copyFileRange(fin!, 1000 + done, fout!, 5000 + done, 200 * KiB - done);
        assert.ok(n > 0);
        done += n;
      }
      assert.equal(b.copyFileRange(fin!, data.length, fout!, 0, 100), 0, '0 at end of input');
      // Positions untouched: a positionless read still starts at 0.
      const head = Buffer.alloc(4);
      fs.readSync(fin!, head, 0, 4, null);
      assert.deepEqual(head, data.subarray(0, 4));
    });
    const out = fs.readFileSync(dst);
    assert.equal(out.length, 5000 + 200 * KiB);
    assert.deepEqual(out.subarray(0, 10), Buffer.alloc(10, 0x55));
    assert.deepEqual(out.subarray(10, 5000), Buffer.alloc(4990), 'gap before the offset is zero-filled');
    assert.deepEqual(out.subarray(5000), data.subarray(1000, 1000 + 200 * KiB));
  });

  it('copyFileRange with null offsets uses and advances the file positions', () => {
    const data = randomBytes(150 * KiB + 7);
    const src = tmp.file('src');
    const dst = tmp.file('dst');
    fs.writeFileSync(src, data);
    withFds([[src, 'r'], [dst, 'w']], (fin, fout) => {
      let n: number;
      while ((n = b.copyFileRange(fin!, null, fout!, null, 64 * KiB)) > 0) assert.ok(n <= 64 * KiB);
    });
    assert.deepEqual(fs.readFileSync(dst), data);
  });

  it('copyFileRange to another filesystem (/dev/shm tmpfs) is exact or UnsupportedError, never partial', function () {
    if (!fs.existsSync('/dev/shm') || b.statfsType('/dev/shm') === b.statfsType(tmp.dir)) this.skip();
    const data = randomBytes(64 * KiB);
    const src = tmp.file('src');
    fs.writeFileSync(src, data);
    const dst = path.join('/dev/shm', `blit-native-xdev-${process.pid}`);
    try {
      withFds([[src, 'r'], [dst, 'w']], (fin, fout) => {
        try {
          let off = 0;
          while (off < data.length) off += b.copyFileRange(fin!, off, fout!, off, data.length - off);
          assert.deepEqual(fs.readFileSync(dst), data);
        } catch (err) {
          // Measured on kernel 6.x ext4 -> tmpfs: EXDEV.
          assert.ok(isUnsupported(err), String(err));
          assert.equal(fs.statSync(dst).size, 0, 'nothing written before the refusal');
          // The fallback primitive the engine would use next works across filesystems.
          let off = 0;
          while (off < data.length) off += b.sendfile(fout!, fin!, off, data.length - off);
          assert.deepEqual(fs.readFileSync(dst), data);
        }
      });
    } finally {
      fs.rmSync(dst, { force: true });
    }
  });

  it('copyFileRange between a file and a pipe is UnsupportedError (EINVAL means fall back)', () => {
    const src = tmp.file('src');
    fs.writeFileSync(src, 'abc');
    const [r, w] = b.pipe2(O_CLOEXEC);
    try {
      withFds([[src, 'r']], (fin) => {
        assert.throws(() => b.copyFileRange(fin!, 0, w, null, 3), (err: unknown) => err instanceof UnsupportedError);
      });
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
    }
  });

  it('sendfile copies into a file from an offset without moving the input position', () => {
    const data = randomBytes(100 * KiB);
    const src = tmp.file('src');
    const dst = tmp.file('dst');
    fs.writeFileSync(src, data);
    withFds([[src, 'r'], [dst, 'w']], (fin, fout) => {
      let off = 10;
      while (off < data.length) off += b.sendfile(fout!, fin!, off, data.length - off);
      assert.equal(b.sendfile(fout!, fin!, data.length, 10), 0);
      const head = Buffer.alloc(3);
      fs.readSync(fin!, head, 0, 3, null);
      assert.deepEqual(head, data.subarray(0, 3));
      // null offset: from (and advancing) the current position, now 3.
      assert.equal(b.sendfile(fout!, fin!, null, 5), 5);
      fs.readSync(fin!, head, 0, 3, null);
      assert.deepEqual(head, data.subarray(8, 11));
    });
    assert.deepEqual(fs.readFileSync(dst), Buffer.concat([data.subarray(10), data.subarray(3, 8)]));
  });

  it('sendfile streams a file into a real TCP socket on loopback', async () => {
    const data = randomBytes(512 * KiB);
    const src = tmp.file('src');
    fs.writeFileSync(src, data);
    const pair = await tcpPair();
    try {
      const received: Buffer[] = [];
      const ended = new Promise<void>((resolve) => pair.server.on('end', resolve));
      pair.server.on('data', (chunk: Buffer) => received.push(chunk));
      pair.server.resume();
      const fin = fs.openSync(src, 'r');
      try {
        const sock = socketFd(pair.client);
        let off = 0;
        while (off < data.length) {
          try {
            off += b.sendfile(sock, fin, off, data.length - off);
          } catch (err) {
            // Node's sockets are non-blocking: wait for the reader to drain.
            if (!isEagain(err)) throw err;
            await tick(2);
          }
        }
      } finally {
        fs.closeSync(fin);
      }
      pair.client.end();
      await ended;
      assert.deepEqual(Buffer.concat(received), data);
    } finally {
      pair.close();
    }
  });

  it('splice moves socket -> pipe -> file at an offset', async () => {
    const data = randomBytes(300 * KiB);
    const dst = tmp.file('dst');
    const pair = await tcpPair();
    const [pr, pw] = b.pipe2(O_CLOEXEC);
    const fout = fs.openSync(dst, 'w');
    try {
      assert.ok(b.fcntlSetPipeSize(pw, 256 * KiB) >= 256 * KiB);
      pair.client.end(data);
      const sock = socketFd(pair.server);
      let fileOff = 100;
      for (;;) {
        let moved: number;
        try {
          moved = b.splice(sock, null, pw, null, 256 * KiB, SPLICE_F_MOVE | SPLICE_F_MORE | SPLICE_F_NONBLOCK);
        } catch (err) {
          if (!isEagain(err)) throw err;
          await tick(2);
          continue;
        }
        if (moved === 0) break; // peer closed
        let left = moved;
        while (left > 0) {
          const n = b.splice(pr, null, fout, fileOff, left, SPLICE_F_MOVE);
          fileOff += n;
          left -= n;
        }
      }
    } finally {
      fs.closeSync(fout);
      fs.closeSync(pr);
      fs.closeSync(pw);
      pair.close();
    }
    const out = fs.readFileSync(dst);
    assert.deepEqual(out.subarray(0, 100), Buffer.alloc(100));
    assert.deepEqual(out.subarray(100), data);
  });

  it('splice between two regular files (no pipe) is UnsupportedError', () => {
    const src = tmp.file('src');
    fs.writeFileSync(src, 'abc');
    withFds([[src, 'r'], [tmp.file('dst'), 'w']], (fin, fout) => {
      assert.throws(() => b.splice(fin!, 0, fout!, 0, 3, 0), (err: unknown) => isUnsupported(err));
    });
  });

  it('poll reports readability of a real socket only once data is there; dup keeps the connection after the original closes', async () => {
    const pair = await tcpPair();
    try {
      const sock = socketFd(pair.server);
      assert.equal(b.poll(sock, POLLIN, 0), 0, 'nothing to read yet: timeout, 0');
      assert.equal(b.poll(sock, POLLOUT, 0) & POLLOUT, POLLOUT, 'writable at once');
      const started = Date.now();
      assert.equal(b.poll(sock, POLLIN, 30), 0);
      assert.ok(Date.now() - started >= 20, 'the timeout was waited');
      pair.client.write('hello');
      let revents = 0;
      for (let i = 0; i < 100 && revents === 0; i++) {
        revents = b.poll(sock, POLLIN, 0);
        if (revents === 0) await tick(2);
      }
      assert.equal(revents & POLLIN, POLLIN);
      const copy = b.dup(sock);
      try {
        assert.notEqual(copy, sock);
        const got = Buffer.alloc(16);
        assert.equal(fs.readSync(copy, got, 0, 16, null), 5, 'the duplicate reads the same connection');
        assert.equal(got.subarray(0, 5).toString(), 'hello');
      } finally {
        fs.closeSync(copy);
      }
      assert.throws(() => b.dup(-1), (err: unknown) => err instanceof NativeError && err.code === 'EBADF');
    } finally {
      pair.close();
    }
  });

  it('pipe2 returns two working descriptors', () => {
    const [r, w] = b.pipe2();
    try {
      fs.writeSync(w, 'ping');
      const got = Buffer.alloc(4);
      assert.equal(fs.readSync(r, got, 0, 4, null), 4);
      assert.equal(got.toString(), 'ping');
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
    }
  });

  for (const where of ['tmpdir', '/dev/shm']) {
    it(`ficlone (${where}) clones exactly or throws UnsupportedError leaving the destination empty`, function () {
      const dir = where === 'tmpdir' ? tmp.dir : '/dev/shm';
      if (!fs.existsSync(dir)) this.skip();
      const data = randomBytes(128 * KiB);
      const src = tmp.file('src');
      const dst = path.join(dir, `blit-native-clone-${process.pid}`);
      fs.writeFileSync(src, data);
      try {
        withFds([[src, 'r'], [dst, 'w']], (fin, fout) => {
          try {
            b.ficlone(fout!, fin!);
            assert.deepEqual(fs.readFileSync(dst), data);
          } catch (err) {
            // ext4 and tmpfs: EOPNOTSUPP; across filesystems: EXDEV.
            assert.ok(isUnsupported(err), String(err));
            assert.equal(fs.statSync(dst).size, 0);
          }
        });
        assert.deepEqual(fs.readFileSync(src), data, 'source untouched');
      } finally {
        fs.rmSync(dst, { force: true });
      }
    });
  }

  it('fallocate reserves blocks, with and without changing the size', () => {
    const p = tmp.file('f');
    withFds([[p, 'w']], (fd) => {
      b.fallocate(fd!, 0, 0, 1024 * KiB);
      let st = fs.fstatSync(fd!);
      assert.equal(st.size, 1024 * KiB);
      assert.ok(st.blocks * 512 >= 1024 * KiB, `only ${st.blocks} blocks`);
      b.fallocate(fd!, FALLOC_FL_KEEP_SIZE, 1024 * KiB, 512 * KiB);
      st = fs.fstatSync(fd!);
      assert.equal(st.size, 1024 * KiB);
      assert.ok(st.blocks * 512 >= 1536 * KiB);
    });
    withFds([[p, 'r']], (fd) => assert.throws(() => b.fallocate(fd!, 0, 0, 4096), { code: 'EBADF' }));
  });

  it('posixFadvise accepts each advice on a file and ignores pipes', () => {
    const p = tmp.file('f');
    fs.writeFileSync(p, randomBytes(64 * KiB));
    withFds([[p, 'r']], (fd) => {
      for (const advice of [FADV_SEQUENTIAL, FADV_WILLNEED, FADV_DONTNEED]) b.posixFadvise(fd!, 0, 0, advice);
    });
    const [r, w] = b.pipe2();
    try {
      b.posixFadvise(r, 0, 0, FADV_SEQUENTIAL);
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
    }
    withFds([[p, 'r']], (fd) => assert.throws(() => b.posixFadvise(fd!, 0, 0, 99), { code: 'EINVAL' }));
  });

  it('renameat2 RENAME_NOREPLACE refuses to replace and renames otherwise', () => {
    const a = Buffer.from(tmp.file('a'));
    const bb = Buffer.from(tmp.file('b'));
    const c = Buffer.from(tmp.file('c'));
    fs.writeFileSync(a, 'A');
    fs.writeFileSync(bb, 'B');
    assert.throws(() => b.renameat2(a, bb, RENAME_NOREPLACE), (err: unknown) => {
      assert.ok(err instanceof NativeError && !isUnsupported(err));
      assert.equal(err.code, 'EEXIST');
      return true;
    });
    assert.equal(fs.readFileSync(a, 'utf8'), 'A');
    assert.equal(fs.readFileSync(bb, 'utf8'), 'B');
    b.renameat2(a, c, RENAME_NOREPLACE);
    assert.equal(fs.existsSync(a), false);
    assert.equal(fs.readFileSync(c, 'utf8'), 'A');
  });

  it('back-to-back futimens/utimensat calls with different times and path lengths each land exactly', () => {
    // The timespec memory and the call requests are reused between calls; each file must still
    // get its own times, and each path its own length.
    const names = ['a', 'a-much-longer-name-than-the-first-one', 'b'];
    const expected = names.map((_, i) => 1_700_000_000_123_456_789n + BigInt(i) * 1_000_000_007n);
    for (const name of names) fs.writeFileSync(tmp.file(name), name);
    for (const [i, name] of names.entries()) {
      if (i % 2 === 0) b.utimensat(Buffer.from(tmp.file(name)), expected[i]! - 5n, expected[i]!, { noFollow: true });
      else withFds([[tmp.file(name), 'r+']], (fd) => b.futimens(fd!, expected[i]! - 5n, expected[i]!));
    }
    for (const [i, name] of names.entries()) {
      const st = fs.statSync(tmp.file(name), { bigint: true });
      assert.equal(st.mtimeNs, expected[i], name);
      assert.equal(st.atimeNs, expected[i]! - 5n, name);
    }
  });

  it('a path with a NUL byte is refused before reaching libc', () => {
    assert.throws(() => b.utimensat(Buffer.from('a\0b'), 0n, 0n, { noFollow: true }), { code: 'EINVAL' });
  });

  it('a bad fd on copyFileRange/sendfile/splice is EBADF, not Unsupported', () => {
    for (const call of [
      () => b.copyFileRange(1_000_000, null, 1_000_001, null, 1),
      () => b.sendfile(1_000_000, 1_000_001, 0, 1),
      () => b.splice(1_000_000, null, 1_000_001, null, 1, 0),
      () => b.ficlone(1_000_000, 1_000_001),
    ]) {
      assert.throws(call, (err: unknown) => err instanceof NativeError && err.code === 'EBADF' && !isUnsupported(err));
    }
  });

  describe('shared behaviour', () => commonSuite(() => loadBindings(), true));

  describe('loading ffi-rs', () => {
    it('tells glibc from musl by the mapped C library, as process.report does', () => {
      const glibc = Boolean((process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime);
      assert.equal(mappedLibc(), glibc ? 'glibc' : 'musl');
      const line = (p: string): string => `7f5c0a000000-7f5c0a028000 r--p 00000000 fe:00 1234   ${p}\n`;
      assert.equal(mappedLibc(line('/usr/lib/x86_64-linux-gnu/libc.so.6')), 'glibc');
      assert.equal(mappedLibc(line('/lib/ld-musl-x86_64.so.1')), 'musl');
      assert.equal(mappedLibc(line('/usr/lib/libc.musl-aarch64.so.1')), 'musl');
      assert.equal(mappedLibc(line('/usr/lib/libc.so.6.old')), undefined, 'not a mapped libc name');
      assert.equal(mappedLibc(line('/usr/lib/x86_64-linux-gnu/libc.so.6') + line('/lib/ld-musl-x86_64.so.1')), undefined, 'both: unclear');
      assert.equal(mappedLibc(''), undefined);
    });

    it('skips the process report ffi-rs asks for (in the main thread and a worker) and restores getReport', function () {
      this.timeout(30_000);
      const indexPath = path.join(__dirname, '..', 'src', 'index.js');
      const load = `
        const report = process.report, original = report.getReport;
        let calls = 0;
        report.getReport = function (...a) { calls++; return original.apply(this, a); };
        const wrapped = report.getReport;
        const n = require(${JSON.stringify(indexPath)});
        const kind = n.loadBindings().kind;
        console.log(require('node:worker_threads').isMainThread ? 'main' : 'worker', kind, calls, report.getReport === wrapped);`;
      const script = `${load}
        const { Worker } = require('node:worker_threads');
        new Worker(${JSON.stringify(load)}, { eval: true });`;
      const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^main linux 0 true$/m);
      assert.match(run.stdout, /^worker linux 0 true$/m);
    });
  });
});
