/**
 * Push and pull through a REAL blitd process with the REAL blit CLI, on loopback: byte-exact trees
 * with their metadata, the TCP data plane and the forced gRPC data path (asserted through the
 * summary flags), mirror deletions on the remote side and locally, dry runs.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { runBlit, startDaemon, tempDir, type Daemon } from './harness';
import { assertSameTree, jsonSummary, makeSourceTree, tempFilesIn } from './transfer-helpers';

describe('remote push and pull (real blitd and blit on loopback)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let src: string;
  let daemon: Daemon;
  let remote: (p: string) => string;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-xfer-');
    moduleDir = path.join(tmp.dir, 'module');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(moduleDir);
    fs.mkdirSync(src);
    makeSourceTree(src);
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
    remote = (p) => `127.0.0.1:${daemon.port}:/default${p ? `/${p}` : ''}`;
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    // Every failure above must have been handled: no crash path, no stray rejection.
    assert.doesNotMatch(log, /unhandled error|uncaught/i);
  });

  it('push copies a tree byte for byte with its metadata over the TCP data plane', async () => {
    const r = await runBlit(['copy', `${src}/`, remote('push1'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = jsonSummary(r.stdout);
    assert.equal(s.tcpDataPlane, true);
    assert.equal(s.zeroCopy, true, 'sendfile carried the payloads');
    assert.equal(s.filesTransferred, 7);
    assertSameTree(src, path.join(moduleDir, 'push1'));
    assert.deepEqual(tempFilesIn(moduleDir), []);
  });

  it('a second push transfers nothing', async () => {
    const r = await runBlit(['copy', `${src}/`, remote('push1'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = jsonSummary(r.stdout);
    assert.equal(s.filesTransferred, 0);
    assert.equal(s.filesUnchanged, 7);
  });

  it('SRC without a trailing slash lands as DST/SRC', async () => {
    const r = await runBlit(['copy', src, remote('named')], { env });
    assert.equal(r.code, 0, r.stderr);
    assertSameTree(src, path.join(moduleDir, 'named', 'src'));
  });

  it('pull copies it back byte for byte over the TCP data plane', async () => {
    const back = path.join(tmp.dir, 'back-tcp');
    const r = await runBlit(['copy', remote('push1/'), back, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = jsonSummary(r.stdout);
    assert.equal(s.tcpDataPlane, true);
    assert.equal(s.zeroCopy, true, 'the daemon sent with sendfile');
    assertSameTree(src, back);
  });

  it('--force-grpc-data sends push data over gRPC (summary says so), same result', async () => {
    const r = await runBlit(['copy', `${src}/`, remote('push-grpc'), '--json', '--force-grpc-data'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = jsonSummary(r.stdout);
    assert.equal(s.tcpDataPlane, false);
    assert.equal(s.zeroCopy, false);
    assert.equal(s.filesTransferred, 7);
    assertSameTree(src, path.join(moduleDir, 'push-grpc'));
  });

  it('BLIT_FORCE_GRPC_DATA=1 forces gRPC data for a pull', async () => {
    const back = path.join(tmp.dir, 'back-grpc');
    const r = await runBlit(['copy', remote('push1/'), back, '--json'], { env: { ...env, BLIT_FORCE_GRPC_DATA: '1' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).tcpDataPlane, false);
    assertSameTree(src, back);
  });

  it('blitd --force-grpc-data serves push and pull over gRPC', async () => {
    const mod2 = path.join(tmp.dir, 'module2');
    fs.mkdirSync(mod2);
    const d2 = await startDaemon(['--port', '0', '--root', mod2, '--force-grpc-data']);
    try {
      const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${d2.port}:/default/x`, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonSummary(r.stdout).tcpDataPlane, false);
      assertSameTree(src, path.join(mod2, 'x'));
      const back = path.join(tmp.dir, 'back-d2');
      const p = await runBlit(['copy', `127.0.0.1:${d2.port}:/default/x/`, back, '--json'], { env });
      assert.equal(p.code, 0, p.stderr);
      assert.equal(jsonSummary(p.stdout).tcpDataPlane, false);
      assertSameTree(src, back);
    } finally {
      await d2.stop();
    }
  });

  it('mirror push: deletes remote extras only with --yes, never excluded paths', async () => {
    const dst = path.join(moduleDir, 'mirror');
    let r = await runBlit(['copy', `${src}/`, remote('mirror')], { env });
    assert.equal(r.code, 0, r.stderr);
    fs.writeFileSync(path.join(dst, 'extra.txt'), 'extra');
    fs.mkdirSync(path.join(dst, 'docs/old/sub'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'docs/old/sub/x'), 'x');
    fs.writeFileSync(path.join(dst, 'keep.log'), 'excluded, must survive');

    // Without --yes (and no terminal): nothing deleted, the count is reported.
    r = await runBlit(['mirror', `${src}/`, remote('mirror'), '--exclude', '*.log', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    // Counted entry by entry as the confirmed pass deletes them: extra.txt, docs/old,
    // docs/old/sub and docs/old/sub/x, not the 2 top-level entries.
    const held = jsonSummary(r.stdout).deletionsSkipped;
    assert.equal(held, 4);
    assert.ok(fs.existsSync(path.join(dst, 'extra.txt')));
    assert.ok(fs.existsSync(path.join(dst, 'docs/old/sub/x')));

    // Dry run with --yes: lists the deletions, deletes nothing.
    r = await runBlit(['mirror', `${src}/`, remote('mirror'), '--exclude', '*.log', '--dry-run', '--yes'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /extra\.txt/);
    assert.ok(fs.existsSync(path.join(dst, 'extra.txt')));

    r = await runBlit(['mirror', `${src}/`, remote('mirror'), '--exclude', '*.log', '--yes', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).entriesDeleted, held, 'the prompt counted what the confirmed pass deletes');
    assert.ok(!fs.existsSync(path.join(dst, 'extra.txt')));
    assert.ok(!fs.existsSync(path.join(dst, 'docs/old')));
    assert.ok(fs.existsSync(path.join(dst, 'keep.log')), 'excluded file kept');
    assert.equal(fs.readFileSync(path.join(dst, 'keep.log'), 'utf8'), 'excluded, must survive');
    fs.rmSync(path.join(dst, 'keep.log'));
    assertSameTree(src, dst);
  });

  it('a mirror counts every entry it deletes, pushed, pulled or local: a dest-only directory of 3 is 4', async () => {
    const small = path.join(tmp.dir, 'count-src');
    fs.mkdirSync(small);
    fs.writeFileSync(path.join(small, 'kept.txt'), 'k');
    const extras = (root: string): void => {
      fs.mkdirSync(path.join(root, 'extra/deep'), { recursive: true });
      for (const f of ['extra/a', 'extra/deep/b']) fs.writeFileSync(path.join(root, f), f);
    };
    const counts: Record<string, number> = {};
    // push: the remote destination deletes
    fs.mkdirSync(path.join(moduleDir, 'count'));
    extras(path.join(moduleDir, 'count'));
    let r = await runBlit(['mirror', `${small}/`, remote('count'), '--yes', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    counts.push = jsonSummary(r.stdout).entriesDeleted as number;
    // pull: the local destination deletes
    const back = path.join(tmp.dir, 'count-back');
    fs.mkdirSync(back);
    extras(back);
    r = await runBlit(['mirror', remote('count/'), back, '--yes', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    counts.pull = jsonSummary(r.stdout).entriesDeleted as number;
    // local, with and without a filter
    for (const [name, extra] of [['local', []], ['local-filtered', ['--exclude', '*.nomatch']]] as const) {
      const dst = path.join(tmp.dir, `count-${name}`);
      fs.mkdirSync(dst);
      extras(dst);
      r = await runBlit(['mirror', `${small}/`, dst, '--yes', '--json', ...extra], { env });
      assert.equal(r.code, 0, r.stderr);
      counts[name] = jsonSummary(r.stdout).entriesDeleted as number;
    }
    assert.deepEqual(counts, { push: 4, pull: 4, local: 4, 'local-filtered': 4 });
  });

  it('mirror pull deletes local extras with --yes', async () => {
    const back = path.join(tmp.dir, 'back-mirror');
    let r = await runBlit(['copy', remote('push1/'), back], { env });
    assert.equal(r.code, 0, r.stderr);
    fs.writeFileSync(path.join(back, 'local-only'), 'x');
    r = await runBlit(['mirror', remote('push1/'), back, '--yes', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).entriesDeleted, 1);
    assertSameTree(src, back);
  });

  it('dry-run push lists what would change and writes nothing', async () => {
    const r = await runBlit(['copy', `${src}/`, remote('dry'), '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /top\.txt/);
    assert.ok(!fs.existsSync(path.join(moduleDir, 'dry')));
  });

  it('--checksum push re-sends a file whose content changed but size and mtime did not', async () => {
    const dst = path.join(moduleDir, 'push1', 'docs', 'a.md');
    const srcMtime = fs.statSync(path.join(src, 'docs/a.md'), { bigint: true }).mtimeNs;
    fs.writeFileSync(dst, '# b\n'.repeat(100));
    native.utimensat(Buffer.from(dst), srcMtime, srcMtime, { noFollow: false });
    let r = await runBlit(['copy', `${src}/`, remote('push1'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).filesTransferred, 0, 'the quick check cannot see it');
    r = await runBlit(['copy', `${src}/`, remote('push1'), '--json', '--checksum'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).filesTransferred, 1);
    assertSameTree(src, path.join(moduleDir, 'push1'));
  });

  it('move push removes each source file once the daemon has it, then the emptied directories (the root of SRC/ kept)', async () => {
    const moveSrc = path.join(tmp.dir, 'move-src');
    fs.mkdirSync(path.join(moveSrc, 'd'), { recursive: true });
    fs.writeFileSync(path.join(moveSrc, 'one'), '1');
    fs.writeFileSync(path.join(moveSrc, 'd/two'), '22');
    const r = await runBlit(['move', `${moveSrc}/`, remote('moved'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(moduleDir, 'moved/one'), 'utf8'), '1');
    assert.equal(fs.readFileSync(path.join(moduleDir, 'moved/d/two'), 'utf8'), '22');
    assert.ok(!fs.existsSync(path.join(moveSrc, 'one')));
    assert.ok(!fs.existsSync(path.join(moveSrc, 'd/two')));
    assert.deepEqual(fs.readdirSync(moveSrc), [], 'emptied d/ removed, as a local move');
  });

  it('move from a remote source (pull) removes each daemon-side file once this side committed it, then the emptied directories', async () => {
    const remoteSrc = path.join(moduleDir, 'to-move');
    fs.mkdirSync(path.join(remoteSrc, 'd'), { recursive: true });
    fs.writeFileSync(path.join(remoteSrc, 'one'), '1');
    fs.writeFileSync(path.join(remoteSrc, 'd/two'), '22');
    fs.writeFileSync(path.join(remoteSrc, 'same'), 'already here');
    const back = path.join(tmp.dir, 'move-back');
    fs.mkdirSync(back);
    fs.writeFileSync(path.join(back, 'same'), 'already here');
    const t = fs.statSync(path.join(remoteSrc, 'same'));
    fs.utimesSync(path.join(back, 'same'), t.atime, t.mtime);
    const r = await runBlit(['move', remote('to-move/'), back, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(back, 'one'), 'utf8'), '1');
    assert.equal(fs.readFileSync(path.join(back, 'd/two'), 'utf8'), '22');
    assert.ok(!fs.existsSync(path.join(remoteSrc, 'one')), 'moved source removed');
    assert.ok(!fs.existsSync(path.join(remoteSrc, 'd/two')));
    assert.ok(!fs.existsSync(path.join(remoteSrc, 'same')), 'identical at the destination: source removed too');
    assert.deepEqual(fs.readdirSync(remoteSrc), [], 'emptied d/ removed, the root of SRC/ kept (as a local move)');
  });

  it('move pull of a single file, and --dry-run move removes nothing', async () => {
    fs.writeFileSync(path.join(moduleDir, 'lonely.txt'), 'L');
    const back = path.join(tmp.dir, 'move-single');
    fs.mkdirSync(back);
    let r = await runBlit(['move', remote('lonely.txt'), back, '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(moduleDir, 'lonely.txt')));
    r = await runBlit(['move', remote('lonely.txt'), path.join(back, 'renamed.txt'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(back, 'renamed.txt'), 'utf8'), 'L');
    assert.ok(!fs.existsSync(path.join(moduleDir, 'lonely.txt')));
  });

  it('move pull keeps a source whose copy failed, and reports it', async () => {
    const remoteSrc = path.join(moduleDir, 'half-move');
    fs.mkdirSync(remoteSrc);
    fs.writeFileSync(path.join(remoteSrc, 'good'), 'g');
    fs.writeFileSync(path.join(remoteSrc, 'blocked'), 'b');
    const back = path.join(tmp.dir, 'half-back');
    // A directory where the file must land: the copy of 'blocked' fails at the destination.
    fs.mkdirSync(path.join(back, 'blocked', 'inner'), { recursive: true });
    const r = await runBlit(['move', remote('half-move/'), back, '--json'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /blocked/);
    assert.ok(!fs.existsSync(path.join(remoteSrc, 'good')), 'the good one moved');
    assert.equal(fs.readFileSync(path.join(remoteSrc, 'blocked'), 'utf8'), 'b', 'the failed one stays');
  });

  it('move pull reports a removal failure the daemon sends while data still flows (more than one committed batch)', async function () {
    this.timeout(120_000);
    // 1100 small files: the first 1024 are committed as one batch while a big sparse file is still
    // being received, so the daemon removes them, and reports the one it cannot remove, before
    // data_complete. The client used to drop a removal failure that came that early.
    const remoteSrc = path.join(moduleDir, 'early-failure');
    fs.mkdirSync(remoteSrc);
    for (let i = 0; i < 1100; i++) fs.writeFileSync(path.join(remoteSrc, `a${String(i).padStart(4, '0')}`), String(i));
    fs.writeFileSync(path.join(remoteSrc, 'z-big'), '');
    fs.truncateSync(path.join(remoteSrc, 'z-big'), 512 * 1024 * 1024);
    const stuck = path.join(remoteSrc, 'a0001');
    // Immutable: the daemon (root) cannot unlink it, a removal failure that needs no timing.
    const chattr = (flag: string): void => {
      const c = spawnSync('chattr', [flag, stuck], { encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`chattr ${flag} (needs root and a file system with the immutable flag): ${c.stderr}`);
    };
    chattr('+i');
    const back = path.join(tmp.dir, 'early-back');
    fs.mkdirSync(back);
    try {
      const r = await runBlit(['move', remote('early-failure/'), back, '--json'], { env, timeoutMs: 110_000 });
      assert.equal(r.code, 2, r.stderr);
      const failures = (JSON.parse(r.stdout) as { failures: { path: string; code: string }[] }).failures;
      assert.deepEqual(failures.map((f) => f.path), ['a0001'], r.stdout);
      assert.equal(fs.readFileSync(stuck, 'utf8'), '1', 'the source that could not be removed is still there');
      assert.ok(!fs.existsSync(path.join(remoteSrc, 'a0000')) && !fs.existsSync(path.join(remoteSrc, 'a1099')), 'the others moved');
      assert.equal(fs.statSync(path.join(back, 'z-big')).size, 512 * 1024 * 1024);
    } finally {
      chattr('-i');
      fs.rmSync(back, { recursive: true, force: true });
    }
  });

  it('a directory bigger than one manifest batch is mirrored whole, and a second mirror deletes nothing', async () => {
    const flat = path.join(tmp.dir, 'flat-src');
    fs.mkdirSync(flat);
    for (let i = 0; i < 2500; i++) fs.writeFileSync(path.join(flat, `f${i}`), String(i));
    for (const pass of [1, 2]) {
      const r = await runBlit(['mirror', `${flat}/`, remote('flat'), '--yes', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      const s = jsonSummary(r.stdout);
      assert.equal(s.entriesDeleted, 0, `pass ${pass}: nothing deleted`);
      assert.equal(s.filesTransferred, pass === 1 ? 2500 : 0, `pass ${pass}`);
    }
    assertSameTree(flat, path.join(moduleDir, 'flat'));
  });

  it('IPv6: push and pull through [::1] use the TCP data plane', async () => {
    const mod6 = path.join(tmp.dir, 'module6');
    fs.mkdirSync(mod6);
    const d6 = await startDaemon(['--port', '0', '--bind', '::1', '--root', mod6]);
    try {
      const r = await runBlit(['copy', `${src}/`, `[::1]:${d6.port}:/default/v6`, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonSummary(r.stdout).tcpDataPlane, true);
      assertSameTree(src, path.join(mod6, 'v6'));
      const back = path.join(tmp.dir, 'back-v6');
      const p = await runBlit(['copy', `[::1]:${d6.port}:/default/v6/`, back, '--json'], { env });
      assert.equal(p.code, 0, p.stderr);
      assert.equal(jsonSummary(p.stdout).tcpDataPlane, true);
      assertSameTree(src, back);
    } finally {
      await d6.stop();
    }
  });

  it('a refused pull (unknown module, missing path) fails clearly and creates nothing locally', async () => {
    const none = path.join(tmp.dir, 'never-created');
    let r = await runBlit(['copy', `127.0.0.1:${daemon.port}:/nomodule/x`, none], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown module 'nomodule'.*ModuleNotFound/);
    r = await runBlit(['copy', remote('does/not/exist'), none], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /default\/does\/not\/exist: source: no such file or directory/);
    assert.doesNotMatch(r.stderr, new RegExp(moduleDir), 'the daemon does not reveal its own paths');
    assert.ok(!fs.existsSync(none));
  });

  it('mirror --gitignore: ignored files are neither sent nor deleted on the remote side', async () => {
    const gsrc = path.join(tmp.dir, 'git-src');
    fs.mkdirSync(path.join(gsrc, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(gsrc, '.gitignore'), '*.tmp\n');
    fs.writeFileSync(path.join(gsrc, 'sub/.gitignore'), 'cache/\n');
    fs.writeFileSync(path.join(gsrc, 'keep.txt'), 'k');
    fs.writeFileSync(path.join(gsrc, 'local.tmp'), 'not sent');
    fs.mkdirSync(path.join(gsrc, 'sub/cache'));
    fs.writeFileSync(path.join(gsrc, 'sub/cache/c'), 'not sent');
    const dst = path.join(moduleDir, 'git');
    fs.mkdirSync(path.join(dst, 'sub/cache'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'remote.tmp'), 'ignored: must survive');
    fs.writeFileSync(path.join(dst, 'sub/cache/remote'), 'ignored: must survive');
    fs.writeFileSync(path.join(dst, 'stale.txt'), 'not ignored, not in source: deleted');
    const r = await runBlit(['mirror', `${gsrc}/`, remote('git'), '--gitignore', '--yes', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).entriesDeleted, 1);
    assert.ok(!fs.existsSync(path.join(dst, 'local.tmp')), 'ignored source file not sent');
    assert.ok(!fs.existsSync(path.join(dst, 'sub/cache/c')));
    assert.ok(fs.existsSync(path.join(dst, 'remote.tmp')));
    assert.ok(fs.existsSync(path.join(dst, 'sub/cache/remote')));
    assert.ok(!fs.existsSync(path.join(dst, 'stale.txt')));
    assert.equal(fs.readFileSync(path.join(dst, 'keep.txt'), 'utf8'), 'k');
  });
});
