/**
 * `blit copy` on real trees: contents and metadata kept (mtime ns, mode, symlinks, empty dirs,
 * sparse files, owner, non-UTF-8 names), rsync path semantics, a second run that does nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IS_ROOT, blit, cleanupTemp, describeRun, listTree, parseJsonStdout, read, setMtime, tempDir, writeTree } from './harness';

function sha(p: string | Buffer): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

const MiB = 1024 * 1024;

/** 8 MiB file with 4 KiB of data at each end and a hole between. */
function makeSparse(p: string): void {
  const fd = fs.openSync(p, 'w');
  try {
    fs.writeSync(fd, Buffer.alloc(4096, 0x61), 0, 4096, 0);
    fs.writeSync(fd, Buffer.alloc(4096, 0x62), 0, 4096, 8 * MiB - 4096);
  } finally {
    fs.closeSync(fd);
  }
}

describe('cli: blit copy keeps contents and metadata', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('copies contents byte for byte, mtime to the nanosecond, permission bits, owner as root', () => {
    const src = tempDir('meta-src');
    const dst = tempDir('meta-dst');
    writeTree(src, {
      'a.txt': { content: 'alpha\n', mode: 0o640, mtime: '1577934245.123456789' },
      'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: '1600000000.000000001' },
      'deep/er/still/z.bin': { content: Buffer.from([0, 1, 2, 255, 254]), mode: 0o600, mtime: '1700000000.987654321' },
    });
    fs.chmodSync(path.join(src, 'deep'), 0o750);
    setMtime(path.join(src, 'deep/er'), '1500000000.5');
    if (IS_ROOT) fs.chownSync(path.join(src, 'a.txt'), 1234, 5678);

    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), listTree(src));
    for (const rel of ['a.txt', 'bin/run.sh', 'deep/er/still/z.bin']) {
      const s = fs.statSync(path.join(src, rel), { bigint: true });
      const d = fs.statSync(path.join(dst, rel), { bigint: true });
      assert.equal(sha(path.join(dst, rel)), sha(path.join(src, rel)), `${rel} content`);
      assert.equal(d.mtimeNs, s.mtimeNs, `${rel} mtime ns`);
      assert.equal(d.mode & 0o7777n, s.mode & 0o7777n, `${rel} mode`);
    }
    assert.equal(fs.statSync(path.join(dst, 'deep')).mode & 0o7777, 0o750, 'directory mode');
    assert.equal(
      fs.statSync(path.join(dst, 'deep/er'), { bigint: true }).mtimeNs,
      fs.statSync(path.join(src, 'deep/er'), { bigint: true }).mtimeNs,
      'directory mtime (applied after its children were written)',
    );
    if (IS_ROOT) {
      const d = fs.statSync(path.join(dst, 'a.txt'));
      assert.deepEqual([d.uid, d.gid], [1234, 5678], 'owner kept when running as root');
    }
  });

  it('copies symlinks as symlinks with the same target text (never followed), and empty dirs', () => {
    const src = tempDir('link-src');
    const dst = tempDir('link-dst');
    writeTree(src, { 'real/file.txt': 'real\n' });
    fs.symlinkSync('real/file.txt', path.join(src, 'rel-link'));
    fs.symlinkSync('/nonexistent/dangling/target', path.join(src, 'dangling'));
    fs.symlinkSync('real', path.join(src, 'dir-link'));
    fs.mkdirSync(path.join(src, 'empty/nested-empty'), { recursive: true });

    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    for (const [name, target] of [['rel-link', 'real/file.txt'], ['dangling', '/nonexistent/dangling/target'], ['dir-link', 'real']]) {
      const st = fs.lstatSync(path.join(dst, name!));
      assert.ok(st.isSymbolicLink(), `${name} is a symlink`);
      assert.equal(fs.readlinkSync(path.join(dst, name!)), target);
    }
    assert.ok(fs.statSync(path.join(dst, 'empty/nested-empty')).isDirectory());
    assert.deepEqual(fs.readdirSync(path.join(dst, 'empty/nested-empty')), []);
    // dir-link was not followed: no real directory with the file's copy under it.
    assert.ok(!fs.lstatSync(path.join(dst, 'dir-link')).isDirectory());
  });

  it('keeps a sparse file sparse (holes are not written out)', () => {
    const src = tempDir('sparse-src');
    const dst = tempDir('sparse-dst');
    makeSparse(path.join(src, 'sparse.img'));
    const srcBlocks = fs.statSync(path.join(src, 'sparse.img')).blocks;
    assert.ok(srcBlocks * 512 < 1 * MiB, 'the source really is sparse on this filesystem');

    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const d = fs.statSync(path.join(dst, 'sparse.img'));
    assert.equal(d.size, 8 * MiB);
    assert.equal(sha(path.join(dst, 'sparse.img')), sha(path.join(src, 'sparse.img')));
    assert.ok(d.blocks * 512 < 1 * MiB, `copy allocates ${d.blocks * 512} bytes for 8 MiB with 8 KiB of data`);
  });

  it('keeps names that are not valid UTF-8 byte-exact', () => {
    const src = tempDir('bytes-src');
    const dst = tempDir('bytes-dst');
    const badFile = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]); // f\xff\xfe.txt
    const badDir = Buffer.from([0x64, 0xc3, 0x28]); // d + invalid 2-byte sequence
    const latin1 = Buffer.from('caf\xe9', 'latin1'); // café in Latin-1
    const srcB = Buffer.from(src);
    const j = (...parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('/'), p])));
    fs.writeFileSync(j(srcB, badFile), 'one');
    fs.mkdirSync(j(srcB, badDir));
    fs.writeFileSync(j(srcB, badDir, latin1), 'two');

    // The itemized list shows invalid bytes escaped, never as replacement characters.
    const dry = blit(['copy', '-n', `${src}/`, dst]);
    assert.equal(dry.code, 0, describeRun(dry));
    assert.match(dry.stdout, /^create  f\\xff\\xfe\.txt$/m);
    assert.match(dry.stdout, /^create  d\\xc3\(\/caf\\xe9$/m);
    assert.ok(!dry.stdout.includes('\ufffd'));

    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const dstB = Buffer.from(dst);
    const top = fs.readdirSync(dstB, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
    assert.deepEqual(top, [badFile.toString('hex'), badDir.toString('hex')].sort());
    const inner = fs.readdirSync(j(dstB, badDir), { encoding: 'buffer' });
    assert.deepEqual(inner.map((b) => b.toString('hex')), [latin1.toString('hex')]);
    assert.equal(fs.readFileSync(j(dstB, badFile), 'utf8'), 'one');
    assert.equal(fs.readFileSync(j(dstB, badDir, latin1), 'utf8'), 'two');
  });

  it('SRC/ copies the contents; SRC without a slash lands as DST/SRC in an existing DST', () => {
    const root = tempDir('slash');
    const src = path.join(root, 'photos');
    writeTree(src, { 'a.jpg': 'a', 'sub/b.jpg': 'b' });
    const withSlash = path.join(root, 'with-slash');
    const without = path.join(root, 'without');
    fs.mkdirSync(withSlash);
    fs.mkdirSync(without);

    let r = blit(['copy', `${src}/`, withSlash]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(withSlash), ['a.jpg', 'sub/', 'sub/b.jpg']);

    r = blit(['copy', src, without]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(without), ['photos/', 'photos/a.jpg', 'photos/sub/', 'photos/sub/b.jpg']);
    assert.equal(read(without, 'photos/sub/b.jpg'), 'b');
  });

  it('copies a single file into an existing directory', () => {
    const root = tempDir('single');
    writeTree(root, { 'one.txt': 'just me', 'out/.keep': '' });
    const r = blit(['copy', path.join(root, 'one.txt'), path.join(root, 'out')]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(read(root, 'out/one.txt'), 'just me');
  });

  it('blit accepts the hidden debug overrides (one worker, a forced primitive) and copies correctly with them', () => {
    const src = tempDir('dbg-src');
    writeTree(src, { 'small.txt': 'small', 'big.bin': Buffer.alloc(3 * MiB + 17, 0x33) });
    for (const primitive of ['readwrite', 'sendfile']) {
      const dst = tempDir(`dbg-${primitive}`);
      const r = blit(['copy', '--debug-workers', '1', '--debug-primitive', primitive, `${src}/`, dst]);
      assert.equal(r.code, 0, `${primitive}: ${describeRun(r)}`);
      assert.equal(sha(path.join(dst, 'big.bin')), sha(path.join(src, 'big.bin')), primitive);
      assert.equal(read(dst, 'small.txt'), 'small');
    }
  });

  it('a second run transfers nothing', () => {
    const src = tempDir('again-src');
    const dst = tempDir('again-dst');
    writeTree(src, { 'a': 'a', 'b/c': 'c', 'b/d': 'dd' });
    fs.symlinkSync('a', path.join(src, 'l'));
    fs.mkdirSync(path.join(src, 'e'));
    const first = blit(['copy', '--json', `${src}/`, dst]);
    assert.equal(first.code, 0, describeRun(first));
    const one = parseJsonStdout(first);
    assert.equal(one['filesTransferred'], 3);
    assert.equal(one['bytesTransferred'], 4);

    const second = blit(['copy', '--json', `${src}/`, dst]);
    assert.equal(second.code, 0, describeRun(second));
    const two = parseJsonStdout(second);
    assert.equal(two['filesTransferred'], 0);
    assert.equal(two['bytesTransferred'], 0);
    assert.equal(two['firstByteMs'], null);
  });
});
