/**
 * The blit client pulling from a hostile server (hostile-server.ts): manifest names that leave
 * the destination, and symlinks that a later entry would be written through (rsync's
 * CVE-2024-12087 shape). The standard: nothing is written outside DST (a sentinel directory next
 * to it stays as it was), each refused entry is named, the run ends with its exit code.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { fingerprint, runBlit, type RunResult } from './harness';
import { dirEntry, fileEntry, hostilePullFixture, symlinkEntry, type PullSession } from './hostile-server';

describe('hunt-server: manifest paths and symlinks from a hostile server (real blit CLI)', function () {
  this.timeout(60_000);
  const fx = hostilePullFixture('blit-hunt-server-');
  let outside: string;
  let before0: string;

  beforeEach(() => {
    outside = path.join(fx.dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep'), 'sentinel');
    before0 = fingerprint(outside);
  });

  /** Offers `entries` and sends every file the client asks for (its content: its size in `z`). */
  const serve =
    (entries: pb.FileEntry[], batches?: pb.FileEntry[][]) =>
    async (s: PullSession): Promise<void> => {
      await s.offer(entries, batches ? { batches } : {});
      await s.untilNeedComplete();
      const all = entries.concat(...(batches ?? []));
      for (const i of s.needs) s.sendFileGrpc(i, Buffer.alloc(Number(all[i]!.size), 'z'));
      await s.finish();
    };

  const pull = (mode: 'copy' | 'mirror' = 'copy'): Promise<RunResult> =>
    runBlit([mode, fx.source, `${fx.dst}/`, '--no-progress', ...(mode === 'mirror' ? ['--yes'] : [])]);

  function outsideUntouched(r: RunResult): void {
    assert.equal(fingerprint(outside), before0, `the sentinel outside DST changed\nstderr: ${r.stderr}`);
    assert.ok(!fs.existsSync(path.join(fx.dir, 'x')), `x was written beside DST\nstderr: ${r.stderr}`);
  }

  it('names that leave DST, are not in normal form, hold a NUL or are too long: each refused by name, exit 2, the good file lands', async () => {
    const long255 = 'n'.repeat(256);
    const longPath = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    const bad = ['../x', 'a/../../x', `${fx.dir}/x`, 'a//b', 'a\0b', '.', './c', 'e/', long255, longPath];
    fx.script = serve([fileEntry('ok', 5), ...bad.map((n) => fileEntry(n, 3))]);
    const r = await pull();
    assert.equal(r.code, 2, r.stderr);
    outsideUntouched(r);
    assert.equal(fs.readFileSync(path.join(fx.dst, 'ok'), 'utf8'), 'zzzzz');
    assert.deepEqual(fs.readdirSync(fx.dst), ['ok'], r.stderr);
    for (const shown of ['../x', 'a/../../x', 'a//b', 'a\\x00b']) assert.ok(r.stderr.includes(shown), `${shown} named\n${r.stderr}`);
    assert.match(r.stderr, /\[InvalidPath\]|\[PathEscape\]|\[NameTooLong\]/);
  });

  for (const where of ['one batch', 'two batches'] as const) {
    it(`symlink a -> the sentinel, then file a/x and directory a/d (${where}): nothing written through it`, async () => {
      const link = symlinkEntry('a', outside);
      const rest = [fileEntry('a/x', 4), dirEntry('a/d'), fileEntry('a/d/y', 4)];
      fx.script = where === 'one batch' ? serve([link, ...rest]) : serve([], [[link], rest]);
      const r = await pull();
      outsideUntouched(r);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(fs.readlinkSync(path.join(fx.dst, 'a')), outside);
      assert.match(r.stderr, /a\/x: .*\[(PathEscape|NotADirectory)\]/);
    });
  }

  it('symlink a -> .., then file a/x: nothing written beside DST', async () => {
    fx.script = serve([symlinkEntry('a', '..'), fileEntry('a/x', 4)]);
    const r = await pull();
    outsideUntouched(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /a\/x/);
  });

  it('DST already holds a -> the sentinel; the server sends directory a with a/x and a/d/y: the link is replaced, nothing written through it', async () => {
    fs.symlinkSync(outside, path.join(fx.dst, 'a'));
    fx.script = serve([dirEntry('a'), fileEntry('a/x', 4), dirEntry('a/d'), fileEntry('a/d/y', 4)]);
    const r = await pull();
    outsideUntouched(r);
    assert.equal(r.code, 0, r.stderr);
    // As rsync: a directory in the source replaces the destination's symlink of that name.
    assert.ok(fs.lstatSync(path.join(fx.dst, 'a')).isDirectory());
    assert.equal(fs.readFileSync(path.join(fx.dst, 'a/d/y'), 'utf8'), 'zzzz');
  });

  it('DST already holds a -> the sentinel; the server sends only a/x (no entry for a): nothing written through it', async () => {
    fs.symlinkSync(outside, path.join(fx.dst, 'a'));
    fx.script = serve([fileEntry('a/x', 4)]);
    const r = await pull();
    outsideUntouched(r);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /a\/x/);
  });

  it('mirror: DST holds a -> the sentinel, the server lists a as a directory with nothing in it: no deletion follows the link', async () => {
    fs.symlinkSync(outside, path.join(fx.dst, 'a'));
    fx.script = serve([dirEntry('a')]);
    const r = await pull('mirror');
    outsideUntouched(r);
    // The symlink itself is replaced by the directory the server announced (or kept): never followed.
    assert.ok(fs.lstatSync(path.join(fx.dst, 'a')).isDirectory() || fs.lstatSync(path.join(fx.dst, 'a')).isSymbolicLink());
  });

  it('mirror: dest-only entries beside a symlink that points out are deleted without following it', async () => {
    fs.symlinkSync(outside, path.join(fx.dst, 'link'));
    fs.mkdirSync(path.join(fx.dst, 'only'));
    fs.writeFileSync(path.join(fx.dst, 'only', 'f'), 'x');
    fx.script = serve([fileEntry('ok', 5)]);
    const r = await pull('mirror');
    assert.equal(r.code, 0, r.stderr);
    outsideUntouched(r);
    assert.deepEqual(fs.readdirSync(fx.dst), ['ok']);
  });
});
