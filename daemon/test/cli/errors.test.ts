/**
 * Bad input through the real binary: each case ends with a message naming the path and the cause,
 * the documented exit code (0 done, 2 some files failed, 1 fatal, 64 usage), no half-written file
 * under a real name, and an untouched source.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BLIT_BIN, blit, blitStoppedAtOpen, cleanupTemp, describeRun, exists, listTree, mountTmpfs, parseJsonStdout, read, setMtime, shellQuote, tempDir,
  tempLeftovers, umount, writeTree,
} from './harness';

describe('cli: bad input and exit codes', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('a missing source is fatal (exit 1), named, and creates no destination', () => {
    const root = tempDir('nosrc');
    const missing = path.join(root, 'does-not-exist');
    const dst = path.join(root, 'out');
    const r = blit(['copy', missing, dst]);
    assert.equal(r.code, 1, describeRun(r));
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.match(r.stderr, /^blit: error: .*\[SourceNotFound\]$/m);
    assert.ok(!fs.existsSync(dst));
  });

  it('--json on a fatal error still prints one object, with the error', () => {
    const root = tempDir('nosrc-json');
    const r = blit(['copy', '--json', path.join(root, 'nope'), path.join(root, 'out')]);
    assert.equal(r.code, 1, describeRun(r));
    const j = parseJsonStdout(r);
    assert.equal(j['ok'], false);
    assert.equal((j['error'] as Record<string, unknown>)['code'], 'SourceNotFound');
  });

  it('a destination inside the source is refused before anything is written', () => {
    const src = tempDir('inside');
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const before = listTree(src);
    for (const dst of [path.join(src, 'sub/copy'), path.join(src, 'sub'), src]) {
      const r = blit(['mirror', '--yes', `${src}/`, dst]);
      assert.equal(r.code, 1, `${dst}: ${describeRun(r)}`);
      assert.match(r.stderr, /\[DestinationInsideSource\]/);
      assert.deepEqual(listTree(src), before, 'source untouched');
    }
  });

  it('an unreadable source file fails alone (exit 2, named with the cause); the rest is copied; source untouched', () => {
    // As root, chmod 000 does not stop reads, so blit runs without the DAC capabilities (setpriv).
    const src = tempDir('unread-src');
    const dst = tempDir('unread-dst');
    writeTree(src, { 'ok.txt': 'fine', 'secret.txt': 'hidden', 'more/ok2.txt': 'fine too' });
    fs.chmodSync(path.join(src, 'secret.txt'), 0o000);
    const r = blit(['copy', '--json', `${src}/`, dst], { unprivileged: true });
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /secret\.txt.*\[PermissionDenied\]/);
    const j = parseJsonStdout(r);
    const failures = j['failures'] as Array<Record<string, string>>;
    assert.equal(failures.length, 1);
    assert.match(failures[0]!['path']!, /secret\.txt$/);
    assert.equal(failures[0]!['code'], 'PermissionDenied');
    assert.equal(read(dst, 'ok.txt'), 'fine');
    assert.equal(read(dst, 'more/ok2.txt'), 'fine too');
    assert.ok(!exists(dst, 'secret.txt'), 'no file under the real name');
    assert.deepEqual(tempLeftovers(dst), []);
    const st = fs.statSync(path.join(src, 'secret.txt'));
    assert.equal(st.mode & 0o777, 0o000, 'source mode untouched');
    fs.chmodSync(path.join(src, 'secret.txt'), 0o644);
    assert.equal(read(src, 'secret.txt'), 'hidden');
  });

  it('a full destination disk ends with NoSpace naming the file; no partial or temp file is left', () => {
    const src = tempDir('full-src');
    const mnt = tempDir('full-mnt');
    const big = Buffer.alloc(2 * 1024 * 1024, 0x42);
    writeTree(src, { 'big.bin': big, 'small.txt': 'small' });
    mountTmpfs(mnt, '1m');
    try {
      const r = blit(['copy', `${src}/`, mnt]);
      assert.ok(r.code === 1 || r.code === 2, describeRun(r));
      assert.match(r.stderr, /big\.bin.*\[NoSpace\]/);
      assert.ok(!exists(mnt, 'big.bin'), 'no partial file under the real name');
      assert.deepEqual(tempLeftovers(mnt), [], 'temp file removed');
      assert.ok(fs.readFileSync(path.join(src, 'big.bin')).equals(big), 'source untouched');
    } finally {
      umount(mnt);
    }
  });

  it('a file that changes while it is copied fails as SourceChanged; the destination keeps its old version', async () => {
    const src = tempDir('chg-src');
    const dst = tempDir('chg-dst');
    writeTree(src, { 'steady.txt': 'steady', 'growing.log': 'start\n' });
    writeTree(dst, { 'growing.log': 'old version\n' });
    setMtime(path.join(dst, 'growing.log'), '1000000000.0');
    // blit is stopped right after it opens the source (the scan has listed it, nothing is read
    // yet); the file grows then, so the copy reads what the scan did not see, however loaded the
    // machine. (A writer appending every millisecond lost that race under load: exit 0.)
    const r = await blitStoppedAtOpen(['copy', `${src}/`, dst], path.join(src, 'growing.log'), () => fs.appendFileSync(path.join(src, 'growing.log'), 'more\n'));
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /growing\.log.*changed.*\[SourceChanged\]/);
    assert.equal(read(dst, 'growing.log'), 'old version\n', 'destination left as it was');
    assert.equal(read(dst, 'steady.txt'), 'steady');
    assert.deepEqual(tempLeftovers(dst), []);
    assert.equal(read(src, 'growing.log'), 'start\nmore\n', 'source untouched by blit');
  });

  it('a path longer than PATH_MAX at the destination (but not at the source) fails as NameNotSupported, named; the rest is copied', () => {
    // ext4 and tmpfs both cap a name at 255 bytes, so a 256-byte name cannot exist in any source
    // here. What a destination really cannot hold, and that we can build, is a path: the same
    // relative path fits under a short source root and exceeds PATH_MAX (4096) under a long
    // destination root.
    const src = tempDir('long-src');
    const rel = Array.from({ length: 19 }, (_, i) => String.fromCharCode(97 + i).repeat(200)).join('/');
    writeTree(src, { [`${rel}/deep.txt`]: 'deep', 'short.txt': 'short' });
    const dstRoot = tempDir('long-dst');
    const dst = path.join(dstRoot, 'x'.repeat(250), 'y'.repeat(250));
    fs.mkdirSync(dst, { recursive: true });
    assert.ok(Buffer.byteLength(path.join(dst, rel)) > 4096, 'destination path exceeds PATH_MAX');

    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /\[NameNotSupported\]/);
    assert.match(r.stderr, /too long/);
    assert.equal(read(dst, 'short.txt'), 'short');
  });

  it('usage errors exit 64 in blit form: conflicting flags (both named), unknown flag, missing argument', () => {
    const src = tempDir('usage');
    let r = blit(['copy', '--checksum', '--size-only', src, `${src}-x`]);
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /^blit: error: --checksum cannot be used together with --size-only \[Usage\]$/m);
    r = blit(['mirror', '--frobnicate', src, `${src}-x`]);
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /^blit: error: unknown option '--frobnicate' \[Usage\]$/m);
    r = blit(['move', src]);
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /^blit: error: missing required argument 'dst' \[Usage\]$/m);
    r = blit(['copy', 'host:99999:/mod', src]);
    assert.equal(r.code, 64, describeRun(r));
    assert.ok(!fs.existsSync(`${src}-x`));
  });

  it('a reader that closes stdout early (| head) does not stop the transfer or crash blit', () => {
    const src = tempDir('epipe-src');
    const dst = tempDir('epipe-dst');
    const files: Record<string, string> = {};
    // More itemized output than a pipe buffers (64 KiB), so blit really writes into a closed pipe.
    for (let i = 0; i < 1500; i++) files[`d${i % 4}/file-with-a-long-name-so-the-list-outgrows-the-pipe-${i}.txt`] = `${i}`;
    writeTree(src, files);
    const cmd = `${shellQuote(process.execPath)} ${shellQuote(BLIT_BIN)} copy -v ${shellQuote(`${src}/`)} ${shellQuote(dst)} | head -1; exit \${PIPESTATUS[0]}`;
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' } });
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/);
    assert.equal(listTree(dst).filter((p) => !p.endsWith('/')).length, 1500, 'every file copied');
  });

  it('a remote side dispatches to the remote client: unreachable daemon is fatal and named; remote to remote is a usage error', () => {
    const src = tempDir('remote-src');
    writeTree(src, { 'a.txt': 'a' });
    let r = blit(['copy', '--json', `${src}/`, '127.0.0.1:1:/mod/dir']);
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /127\.0\.0\.1:1.*\[Unreachable\]/);
    assert.equal((parseJsonStdout(r)['error'] as Record<string, unknown>)['code'], 'Unreachable');
    r = blit(['mirror', 'hostA:/mod/x', '[::1]:9999:/mod/y']);
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /one side must be a local path \[Usage\]/);
  });

  it('no progress display when stderr is piped', () => {
    const src = tempDir('pipe-src');
    const dst = tempDir('pipe-dst');
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`d${i % 5}/f${i}.txt`] = 'x'.repeat(i * 100);
    writeTree(src, files);
    const r = blit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stderr, '', 'nothing on stderr');
    assert.doesNotMatch(r.stdout, /\r|\x1b\[|ETA/);
    assert.match(r.stdout, /^copied 50 files/);
  });
});
