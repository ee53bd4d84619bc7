/**
 * blitd's ls/find/du read each directory in one native call (DirAnchor.scanDir: openat2 beneath
 * the module root, entries lstat'ed relative to the fd it opened), not by a readdir of
 * `/proc/self/fd/N` and an lstat per entry through that path. Proved on a real blitd under
 * strace: no system call names an entry through `/proc/self/fd/N/...`, and each entry is
 * lstat'ed relative to a directory fd. The node:fs fallback (BLIT_NATIVE_BATCH=0) gives the
 * same answers, byte for byte.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, tempDir, type Daemon } from './harness';
import { assertOpenBeneath, CLI_ENV } from './module-fixture';
import { needStrace } from '../need-strace';
import { releaseTraced, tracedPid } from '../strace-stops';

const FILES = 120;

function makeModule(root: string): void {
  for (const d of ['tree', 'tree/sub-a', 'tree/sub-b/deeper']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(root, d, `entry-${String(i).padStart(4, '0')}.txt`), 'x'.repeat(i));
  }
  fs.symlinkSync('entry-0001.txt', path.join(root, 'tree/link-one'));
  spawnSync('mkfifo', [path.join(root, 'tree/fifo')]);
}

describe('blitd ls/find/du: one contained native scan per directory (real blitd)', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof tempDir>;
  let daemon: Daemon | undefined;
  before(assertOpenBeneath);
  beforeEach(() => {
    t = tempDir('blit-admin-scan-');
    fs.mkdirSync(path.join(t.dir, 'module'));
    makeModule(path.join(t.dir, 'module'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    t.cleanup();
  });

  const verbs = (port: number): string[][] => {
    const r = (p: string): string => `127.0.0.1:${port}:/default/${p}`;
    return [
      ['ls', r('tree'), '--json'],
      ['ls', r('tree/sub-b/deeper')],
      ['find', r('tree'), '--pattern', 'entry-00[0-4]*', '--json'],
      ['find', r(''), '--pattern', '*link*'],
      ['du', r('tree'), '--json'],
      ['du', r('')],
    ];
  };
  const runAll = async (port: number): Promise<string[]> => {
    const out: string[] = [];
    for (const args of verbs(port)) {
      const res = await runBlit(args, { env: CLI_ENV });
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      out.push(res.stdout.replaceAll(`127.0.0.1:${port}:`, '127.0.0.1:PORT:'));
    }
    return out;
  };

  it('no entry is addressed through /proc/self/fd/N: each is lstat-ed relative to its directory fd', async () => {
    needStrace();
    const trace = path.join(t.dir, 'trace');
    daemon = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'module')], {
      env: CLI_ENV,
      wrap: ['strace', '-f', '-qq', '-o', trace, '-e', 'trace=%stat,%file,openat2,getdents64', '--'],
    });
    assert.ok(tracedPid(daemon.proc.pid!) > 0, 'blitd runs under strace');
    const out = await runAll(daemon.port);
    const du = JSON.parse(out[4]!) as { files: number; dirs: number; symlinks: number };
    assert.equal(du.files, FILES * 3);
    assert.equal(du.dirs, 4);
    assert.equal(du.symlinks, 1);
    assert.match(out[0]!, /entry-0119\.txt/);
    await releaseTraced(daemon); // the trace complete: strace ends after blitd
    daemon = undefined;
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const viaProc = lines.filter((l) => /\/proc\/self\/fd\/\d+\/entry-/.test(l));
    assert.deepEqual(viaProc.slice(0, 5), [], `${viaProc.length} calls named an entry through /proc/self/fd`);
    // fstatat(dirfd, "entry-0007.txt", ..., AT_SYMLINK_NOFOLLOW): relative to an fd, not AT_FDCWD.
    const relative = lines.filter((l) => /(newfstatat|fstatat64|statx)\((\d+), "entry-0007\.txt"/.test(l));
    // ls tree, ls deeper, find tree (3 dirs), find '' (3 dirs), du tree (3 dirs), du '' (3 dirs).
    assert.ok(relative.length >= 2 + 4 * 3, `entry-0007.txt lstat-ed relative to a directory fd ${relative.length} times:\n${relative.join('\n')}`);
  });

  it('the node:fs fallback (BLIT_NATIVE_BATCH=0) answers the same, byte for byte', async () => {
    daemon = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'module')], { env: CLI_ENV });
    const scanned = await runAll(daemon.port);
    await daemon.stop();
    daemon = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'module')], { env: { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' } });
    const plain = await runAll(daemon.port);
    for (let i = 0; i < scanned.length; i++) assert.ok(scanned[i] === plain[i], `${verbs(0)[i]!.join(' ')}:\n${scanned[i]}\n---\n${plain[i]}`);
    assert.match(scanned[2]!, /entry-0040/);
    assert.match(scanned[3]!, /link-one/);
  });
});
