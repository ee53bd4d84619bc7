/**
 * mirror deletion rules (--yes; no --yes without a terminal; refused on an incomplete scan) and
 * move (sources removed only after their copies; a failed copy keeps its source).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  blit, cleanupTemp, describeRun, exists, listTree, mountTmpfs, parseJsonStdout, read, tempDir, tempLeftovers, umount, writeTree,
} from './harness';

describe('cli: mirror deletions', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  function scene(): { src: string; dst: string } {
    const src = tempDir('mir-src');
    const dst = tempDir('mir-dst');
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    writeTree(dst, { 'a.txt': 'a', 'stale.txt': 's', 'sub/old.txt': 'o', 'olddir/x/y.txt': 'y' });
    fs.symlinkSync('a.txt', path.join(dst, 'stale-link'));
    return { src, dst };
  }

  it('with --yes deletes files, symlinks and directories that are not in the source', () => {
    const { src, dst } = scene();
    const r = blit(['mirror', '--yes', '--json', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), ['a.txt', 'sub/', 'sub/b.txt']);
    const j = parseJsonStdout(r);
    // every entry removed, as rsync itemizes them: stale.txt, stale-link, sub/old.txt, and
    // olddir with olddir/x and olddir/x/y.txt
    assert.equal(j['entriesDeleted'], 6);
    assert.equal(j['deletionsSkipped'], 0);
  });

  it('a source entry named like a warning code does not change what the mirror says (FIFO "ScanIncomplete")', () => {
    const { src, dst } = scene();
    execFileSync('mkfifo', [path.join(src, 'ScanIncomplete')]);
    const r = blit(['mirror', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /ScanIncomplete: skipped/);
    assert.ok(exists(dst, 'stale.txt'), 'nothing deleted without --yes');
    assert.match(r.stderr, /pass --yes to delete/);
  });

  it('without --yes and without a terminal copies but deletes nothing, and says how to delete', () => {
    const { src, dst } = scene();
    const r = blit(['mirror', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(read(dst, 'sub/b.txt'), 'b', 'the copy part still ran');
    for (const kept of ['stale.txt', 'stale-link', 'sub/old.txt', 'olddir/x/y.txt']) {
      assert.ok(exists(dst, kept), `${kept} kept`);
    }
    assert.match(r.stderr, /not deleted/);
    assert.match(r.stderr, /pass --yes to delete/);
    // The count in the message is the engine's count of held-back deletions.
    const again = scene();
    const j = parseJsonStdout(blit(['mirror', '--json', `${again.src}/`, again.dst]));
    assert.match(r.stderr, new RegExp(`\\b${j['deletionsSkipped']} entries in `));
  });

  it('without --yes, --json reports the skipped deletions', () => {
    const { src, dst } = scene();
    const r = blit(['mirror', '--json', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const j = parseJsonStdout(r);
    assert.equal(j['entriesDeleted'], 0);
    assert.ok((j['deletionsSkipped'] as number) > 0);
  });

  it('refuses every deletion when the source scan was incomplete (an unreadable source directory)', () => {
    const { src, dst } = scene();
    writeTree(src, { 'locked/secret.txt': 'x' });
    fs.chmodSync(path.join(src, 'locked'), 0o000);
    // root reads any directory: `unprivileged` runs blit without the DAC capabilities so it bites.
    const r = blit(['mirror', '--yes', `${src}/`, dst], { unprivileged: true });
    fs.chmodSync(path.join(src, 'locked'), 0o755);
    assert.equal(r.code, 2, describeRun(r));
    assert.ok(r.stderr.includes('locked'), `names the unreadable directory: ${r.stderr}`);
    assert.match(r.stderr, /PermissionDenied|permission denied/i);
    assert.equal(read(dst, 'sub/b.txt'), 'b', 'readable files were still copied');
    assert.ok(fs.existsSync(path.join(dst, 'stale.txt')), 'nothing deleted after an incomplete scan');
    assert.ok(fs.existsSync(path.join(dst, 'olddir/x/y.txt')));
  });
});

describe('cli: move', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('moves files: copies land intact, then the source files are gone', () => {
    const src = tempDir('mv-src');
    const dst = tempDir('mv-dst');
    writeTree(src, { 'a.txt': 'alpha', 'd/b.txt': 'beta', 'd/e/c.txt': 'gamma' });
    fs.symlinkSync('a.txt', path.join(src, 'link'));
    const r = blit(['move', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(read(dst, 'a.txt'), 'alpha');
    assert.equal(read(dst, 'd/e/c.txt'), 'gamma');
    assert.equal(fs.readlinkSync(path.join(dst, 'link')), 'a.txt');
    const leftFiles = listTree(src).filter((p) => !p.endsWith('/'));
    assert.deepEqual(leftFiles, [], 'no source file or symlink left');
  });

  it('keeps the source of a file whose copy failed (destination full); no partial file left', () => {
    const src = tempDir('mvfail-src');
    const mnt = tempDir('mvfail-mnt');
    const big = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    writeTree(src, { 'big.bin': big });
    mountTmpfs(mnt, '1m');
    try {
      const r = blit(['move', `${src}/`, mnt]);
      assert.notEqual(r.code, 0, describeRun(r));
      assert.ok(r.stderr.includes('big.bin'), `names the file: ${r.stderr}`);
      assert.match(r.stderr, /NoSpace/);
      assert.ok(fs.readFileSync(path.join(src, 'big.bin')).equals(big), 'source kept, untouched');
      assert.ok(!fs.existsSync(path.join(mnt, 'big.bin')), 'no partial file under the real name');
      assert.deepEqual(tempLeftovers(mnt), [], 'no temp file left');
    } finally {
      umount(mnt);
    }
  });
});
