/**
 * A destination directory without owner rwx, the second time round. `blit copy` keeps a source's
 * `0555` directory as `0555` (as `rsync -a`), so the next run into it, as a user, found every
 * update, create or deletion inside it refused (`PermissionDenied`, exit 2), and a mirror could
 * not empty a destination-only `0555` directory either. Now the run makes such a directory u+rwx
 * for itself and restores the mode after its children (rsync's "dir tweaking"; rsync's
 * delete_dir_contents for the one it deletes): locally, on a push (blitd writes) and on a pull
 * (the client writes). Run without the capabilities that bypass file permissions (no-dac.ts), so
 * the modes bite as root too; as a user, as that user.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { blit as blitUnprivileged, mountTmpfs, umount } from '../cli/harness';
import { waitFor, writeTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { assertSameTree } from './transfer-helpers';

/** Every directory under (and including) `root` set to `mode`, deepest first. */
function chmodDirs(root: string, mode: number): void {
  if (!fs.existsSync(root)) return;
  fs.chmodSync(root, 0o755);
  for (const e of fs.readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) chmodDirs(path.join(root, e.name), mode);
  fs.chmodSync(root, mode);
}

/** The first source: every directory 0555 (the root too), with a subtree the second one lacks. */
function firstSource(src: string): void {
  writeTree(src, { 'ro/a': 'alpha', 'ro/b': 'beta', 'ro/sub/s': 'sigma', 'ro/gone/g': 'gamma', 'ro/gone/x/y': 'ypsilon' });
  chmodDirs(src, 0o555);
}

/** The second: ro/a changed, ro/n new, ro/b and ro/gone/ deleted; every directory 0555 again. */
function secondSource(src: string): void {
  chmodDirs(src, 0o755);
  fs.writeFileSync(path.join(src, 'ro/a'), 'alpha, changed');
  fs.writeFileSync(path.join(src, 'ro/n'), 'new');
  fs.rmSync(path.join(src, 'ro/b'));
  fs.rmSync(path.join(src, 'ro/gone'), { recursive: true });
  chmodDirs(src, 0o555);
}

const isMountPoint = (p: string): boolean => spawnSync('mountpoint', ['-q', p]).status === 0;

const modeOf = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8);

/** After a second plain copy: updated and created inside, nothing deleted, every mode 0555 again. */
function assertCopied(dst: string): void {
  assert.equal(fs.readFileSync(path.join(dst, 'ro/a'), 'utf8'), 'alpha, changed');
  assert.equal(fs.readFileSync(path.join(dst, 'ro/n'), 'utf8'), 'new');
  assert.equal(fs.readFileSync(path.join(dst, 'ro/b'), 'utf8'), 'beta', 'a copy deletes nothing');
  assert.equal(fs.readFileSync(path.join(dst, 'ro/gone/x/y'), 'utf8'), 'ypsilon');
  for (const d of ['', 'ro', 'ro/sub', 'ro/gone', 'ro/gone/x']) assert.equal(modeOf(path.join(dst, d)), '555', `${d || '.'}: mode`);
}

describe('a destination directory without owner rwx, as a user (rsync dir tweaking)', function () {
  this.timeout(120_000);
  /** Mounted in a test below the test's directory (busyDir), unmounted before cleanup. */
  let busyMounts: string[] = [];
  const fx = moduleFixture('blit-ro-dirs-', {
    beforeCleanup: (dir) => {
      for (const m of busyMounts.splice(0).reverse()) umount(m);
      for (const m of ['mnt', 'module']) if (isMountPoint(path.join(dir, m))) umount(path.join(dir, m));
      chmodDirs(dir, 0o755);
    },
  });
  const src = (): string => path.join(fx.dir, 'src');

  /** `blit ARGS` locally, without the DAC capabilities. */
  const local = (args: string[]): ReturnType<typeof blitUnprivileged> => blitUnprivileged(args, { unprivileged: true });

  for (const mode of ['copy', 'mirror'] as const) {
    const args = mode === 'mirror' ? ['mirror', '--yes'] : ['copy'];
    const check = (dst: string): void => (mode === 'mirror' ? assertSameTree(src(), dst) : assertCopied(dst));

    it(`local ${mode}: the second run updates, creates and deletes inside 0555 directories, modes kept`, () => {
      firstSource(src());
      const dst = path.join(fx.dir, 'dst');
      let r = local(['copy', `${src()}/`, dst]);
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(src(), dst);
      secondSource(src());
      r = local([...args, `${src()}/`, dst]);
      assert.equal(r.code, 0, r.stderr);
      check(dst);
    });

    it(`push ${mode}: blitd (as a user) does the same in the module`, async () => {
      firstSource(src());
      await fx.start({}, { unprivileged: true });
      let r = await fx.blit(['copy', `${src()}/`, fx.remote('t')]);
      assert.equal(r.code, 0, r.stderr);
      secondSource(src());
      r = await fx.blit([...args, `${src()}/`, fx.remote('t')]);
      assert.equal(r.code, 0, r.stderr);
      check(path.join(fx.moduleDir, 't'));
    });

    it(`pull ${mode}: the client (as a user) does the same in its destination`, async () => {
      firstSource(path.join(fx.moduleDir, 'src'));
      await fx.start();
      const dst = path.join(fx.dir, 'back');
      const pull = (a: string[]): ReturnType<typeof blitUnprivileged> => blitUnprivileged([...a, fx.remote('src/'), dst], { unprivileged: true, env: { ...CLI_ENV } as Record<string, string> });
      let r = pull(['copy']);
      assert.equal(r.code, 0, r.stderr);
      secondSource(path.join(fx.moduleDir, 'src'));
      r = pull(args);
      assert.equal(r.code, 0, r.stderr);
      if (mode === 'mirror') assertSameTree(path.join(fx.moduleDir, 'src'), dst);
      else assertCopied(dst);
    });
  }

  // A dest-only 0555 directory is made u+rwx to be emptied; when it stays all the same (its own
  // rmdir refused: here it is a mount point, EBUSY) the mode found goes back, as locally.
  /** `dir/busy`, dest-only: an empty tmpfs mounted there, mode 0555 (rmdir says EBUSY). */
  const busyDir = (dir: string): string => {
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy, { recursive: true });
    mountTmpfs(busy, '64k');
    busyMounts.push(busy);
    fs.chmodSync(busy, 0o555);
    return busy;
  };
  const assertKeptBusy = (r: { code: number | null; stderr: string }, busy: string): void => {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /busy: cannot delete: .*\[/, r.stderr);
    assert.equal(modeOf(busy), '555', 'busy/: the mode found, back');
  };

  it('push mirror: a dest-only 0555 directory whose rmdir fails gets its mode back', async () => {
    writeTree(src(), { keep: 'k' });
    const busy = busyDir(path.join(fx.moduleDir, 't'));
    await fx.start({}, { unprivileged: true });
    const r = await fx.blit(['mirror', '--yes', `${src()}/`, fx.remote('t')]);
    assertKeptBusy(r, busy);
  });

  it('pull mirror: a dest-only 0555 directory whose rmdir fails gets its mode back', async () => {
    writeTree(path.join(fx.moduleDir, 'src'), { keep: 'k' });
    const busy = busyDir(path.join(fx.dir, 'back'));
    await fx.start();
    const r = blitUnprivileged(['mirror', '--yes', fx.remote('src/'), path.join(fx.dir, 'back')], { unprivileged: true, env: { ...CLI_ENV } as Record<string, string> });
    assertKeptBusy(r, busy);
  });

  // A run that ends early (here on a full destination: NoSpace ends a run) has not applied the
  // directories' metadata; the modes it tweaked go back to what it found all the same.
  const BIG = Buffer.alloc(2 * 1024 * 1024, 0x5a);
  const addBig = (root: string): void => {
    chmodDirs(root, 0o755);
    fs.writeFileSync(path.join(root, 'ro/big'), BIG);
    chmodDirs(root, 0o555);
  };

  it('local: a run that ends on NoSpace puts back the modes it tweaked', () => {
    firstSource(src());
    const mnt = path.join(fx.dir, 'mnt');
    fs.mkdirSync(mnt);
    mountTmpfs(mnt, '1m');
    const dst = path.join(mnt, 'dst');
    let r = local(['copy', `${src()}/`, dst]);
    assert.equal(r.code, 0, r.stderr);
    addBig(src());
    r = local(['copy', `${src()}/`, dst]);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /NoSpace/);
    for (const d of ['', 'ro']) assert.equal(modeOf(path.join(dst, d)), '555', `${d || '.'}: mode`);
  });

  it('push: a transfer that ends on NoSpace puts back the modes blitd tweaked', async () => {
    firstSource(src());
    mountTmpfs(fx.moduleDir, '1m');
    await fx.start({}, { unprivileged: true });
    let r = await fx.blit(['copy', `${src()}/`, fx.remote('t')]);
    assert.equal(r.code, 0, r.stderr);
    addBig(src());
    r = await fx.blit(['copy', `${src()}/`, fx.remote('t')]);
    // blitd's NoSpace, not the client's broken data stream (named-failures.test.ts forces that race).
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /NoSpace/);
    // blitd puts them back when its side of the transfer closes, which the client does not wait for.
    const t = path.join(fx.moduleDir, 't');
    await waitFor(() => modeOf(t) === '555' && modeOf(path.join(t, 'ro')) === '555', 10_000, `t and t/ro back to 0555 (${modeOf(t)}, ${modeOf(path.join(t, 'ro'))})`);
  });
});
