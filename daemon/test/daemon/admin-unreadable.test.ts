/**
 * `blit du` / `blit find` over a module holding a directory blitd cannot read (mode 000) and one
 * it can list but not search (mode 0400: its entries cannot be lstat'ed). GNU du reports `cannot
 * read directory 'b'` and `cannot access 'r/x'`, prints the rest and exits 1; blit used to log the
 * skip on blitd only and exit 0 with a short count. Now blitd sends each (FindResponse /
 * DiskUsageResponse `unreadable`), the CLI warns naming it as typed with its cause and code, prints
 * everything else and exits 2 (blit's "completed, what was left out named"), with the native scan
 * and with its node:fs fallback. blitd runs without the capabilities that bypass file permissions
 * (no-dac.ts), so the modes bite under root too. `ls` of such a directory was already an error
 * naming it; one below it said `cannot resolve path (EACCES) [IoError]`, without the errno's text.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withoutDacCaps } from '../no-dac';
import { writeTree } from './harness';
import { moduleFixture } from './module-fixture';

describe('du and find name what blitd cannot read below the start', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-unreadable-', {
    beforeCleanup: (dir) => {
      for (const d of ['b', 'r', 'many']) if (fs.existsSync(path.join(dir, 'module', d))) fs.chmodSync(path.join(dir, 'module', d), 0o755);
    },
  });

  /** a/f (2 bytes); b (mode 000) holding g and c/h; r (mode 0400) holding x. */
  function unreadableModule(): void {
    writeTree(fx.moduleDir, { 'a/f': '1\n', 'b/g': '22\n', 'b/c/h': '333\n', 'r/x': 'x\n' });
    fs.chmodSync(path.join(fx.moduleDir, 'b'), 0o000);
    fs.chmodSync(path.join(fx.moduleDir, 'r'), 0o400);
  }

  const unreadable = [
    { path: 'b', code: 'PermissionDenied', reason: 'cannot read directory: permission denied (EACCES)' },
    { path: 'r/x', code: 'PermissionDenied', reason: 'cannot stat: permission denied (EACCES)' },
  ];
  const warnings = (): string[] => unreadable.map((u) => `blit: warning: ${fx.remote(u.path)}: ${u.reason} [${u.code}]\n`);
  const byPath = (list: { path: string }[]): { path: string }[] => [...list].sort((x, y) => x.path.localeCompare(y.path));

  for (const [label, env] of [
    ['native scan', {}],
    ['node:fs fallback (BLIT_NATIVE_BATCH=0)', { BLIT_NATIVE_BATCH: '0' }],
  ] as const) {
    it(`warn naming each with its cause, print the rest, exit 2; --json carries the list (${label})`, async () => {
      unreadableModule();
      await fx.start(env, { unprivileged: true });
      const du = await fx.blit(['du', fx.remote(''), '--json']);
      assert.equal(du.code, 2, du.stderr);
      for (const w of warnings()) assert.ok(du.stderr.includes(w), du.stderr);
      const sums = JSON.parse(du.stdout) as { files: number; bytes: number; dirs: number; unreadable: { path: string }[] };
      // What GNU du counts there: a/f; the root, a, b and r themselves; nothing below b, not r/x.
      assert.deepEqual([sums.files, sums.bytes, sums.dirs], [1, 2, 4]);
      assert.deepEqual(byPath(sums.unreadable), unreadable);
      const text = await fx.blit(['du', fx.remote('')]);
      assert.equal(text.code, 2, text.stderr);
      assert.match(text.stdout, / in 1 files, 4 dirs, 0 symlinks: /);
      for (const w of warnings()) assert.ok(text.stderr.includes(w), text.stderr);

      const find = await fx.blit(['find', fx.remote(''), '--pattern', '*']);
      assert.equal(find.code, 2, find.stderr);
      assert.deepEqual(find.stdout.split('\n').filter(Boolean).sort(), ['a/', 'a/f', 'b/', 'r/']);
      for (const w of warnings()) assert.ok(find.stderr.includes(w), find.stderr);
      const found = await fx.blit(['find', fx.remote(''), '--pattern', '*', '--json']);
      assert.equal(found.code, 2, found.stderr);
      assert.deepEqual(byPath((JSON.parse(found.stdout) as { unreadable: { path: string }[] }).unreadable), unreadable);
    });
  }

  /**
   * `many` (mode 0400) holding MAX_LEFT_OUT_NAMED + 5 files: listable, none lstat-able, and the
   * directory itself is counted, not named. blitd used to send (and log) every one: a million
   * there was a ~100 MB DiskUsageResponse, past the client's receive limit.
   */
  const NAMED = 1000;
  function manyUnreadable(): void {
    const tree: Record<string, string> = {};
    for (let i = 0; i < NAMED + 5; i++) tree[`many/f${i}`] = '';
    writeTree(fx.moduleDir, tree);
    fs.chmodSync(path.join(fx.moduleDir, 'many'), 0o400);
  }
  const more = (): string => `blit: warning: ${fx.remote('')}: 5 more entries left out (unreadable or loops), not named\n`;
  /** The per-entry warnings: NAMED distinct entries of many/, each its cause and code. */
  function assertNamed(stderr: string): void {
    const named = stderr.split('\n').filter((l) => l.endsWith(': cannot stat: permission denied (EACCES) [PermissionDenied]'));
    assert.equal(named.length, NAMED, stderr.slice(-500));
    assert.equal(new Set(named).size, NAMED);
    for (const l of named) assert.ok(l.startsWith(`blit: warning: ${fx.remote('many/f')}`), l);
    assert.ok(stderr.endsWith(more()), stderr.slice(-500));
  }

  for (const [label, env] of [
    ['native scan', {}],
    ['node:fs fallback (BLIT_NATIVE_BATCH=0)', { BLIT_NATIVE_BATCH: '0' }],
  ] as const) {
    it(`name the first ${NAMED} left out, count the rest in one warning (--json leftOutUnnamed), exit 2; blitd logs one line for the rest (${label})`, async () => {
      manyUnreadable();
      const logFile = path.join(fx.dir, 'blitd.log');
      await fx.start(env, { unprivileged: true, args: ['--log', logFile] });
      const du = await fx.blit(['du', fx.remote(''), '--json']);
      assert.equal(du.code, 2, du.stderr.slice(-500));
      assertNamed(du.stderr);
      const sums = JSON.parse(du.stdout) as { files: number; dirs: number; unreadable: unknown[]; leftOutUnnamed: number };
      assert.deepEqual([sums.files, sums.dirs, sums.unreadable.length, sums.leftOutUnnamed], [0, 2, NAMED, 5]);
      const text = await fx.blit(['du', fx.remote('')]);
      assert.equal(text.code, 2);
      assertNamed(text.stderr);

      const find = await fx.blit(['find', fx.remote(''), '--pattern', '*']);
      assert.equal(find.code, 2, find.stderr.slice(-500));
      assert.equal(find.stdout, 'many/\n');
      assertNamed(find.stderr);
      const found = await fx.blit(['find', fx.remote(''), '--pattern', '*', '--json']);
      assert.equal(found.code, 2);
      const res = JSON.parse(found.stdout) as { unreadable: unknown[]; leftOutUnnamed: number };
      assert.deepEqual([res.unreadable.length, res.leftOutUnnamed], [NAMED, 5]);

      const log = fs.readFileSync(logFile, 'utf8');
      assert.doesNotMatch(log, /unhandled error|uncaught/i);
      for (const verb of ['du', 'find']) {
        assert.equal(log.match(new RegExp(`WARN ${verb}: skipped error=`, 'g'))?.length, 2 * NAMED, log.slice(-500));
        assert.equal(log.match(new RegExp(`WARN ${verb}: skipped more, not named .*entries=5$`, 'gm'))?.length, 2, log.slice(-500));
      }
    });
  }

  it('--json carries no leftOutUnnamed when everything left out is named', async () => {
    unreadableModule();
    await fx.start({}, { unprivileged: true });
    for (const args of [['du'], ['find', '--pattern', '*']]) {
      const r = await fx.blit([...args, fx.remote(''), '--json']);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!('leftOutUnnamed' in (JSON.parse(r.stdout) as object)), r.stdout);
      assert.ok(!r.stderr.includes('not named'), r.stderr);
    }
  });

  it('GNU du reports the same two paths under the same permissions (what blit is held to)', function () {
    unreadableModule();
    const [cmd, ...pre] = [...withoutDacCaps(), 'du', '-a', fx.moduleDir];
    const r = spawnSync(cmd!, pre, { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot read directory '[^']*\/module\/b': Permission denied/);
    assert.match(r.stderr, /cannot access '[^']*\/module\/r\/x': Permission denied/);
  });

  it('ls of an unreadable directory, or of a path below it, fails naming it with the errno text and PermissionDenied', async () => {
    unreadableModule();
    await fx.start({}, { unprivileged: true });
    const ls = await fx.blit(['ls', fx.remote('b')]);
    assert.equal(ls.code, 1, ls.stderr);
    assert.match(ls.stderr, /^blit: error: default\/b: cannot list: permission denied \(EACCES\) \[PermissionDenied\]$/m);
    const below = await fx.blit(['ls', fx.remote('b/c')]);
    assert.equal(below.code, 1, below.stderr);
    assert.match(below.stderr, /^blit: error: default\/b\/c: cannot resolve path: permission denied \(EACCES\) \[PermissionDenied\]$/m);
  });
});
