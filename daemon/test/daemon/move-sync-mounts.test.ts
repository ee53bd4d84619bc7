/**
 * A move syncs every filesystem it wrote into before removing sources (move-sync, 2026-11-21):
 * a destination tree with a tmpfs mounted inside it is two filesystems, and one syncfs through
 * the first file's directory (what the remote move did) leaves the other one's files unsynced.
 * Local, push and pull, each under strace (move-trace.ts): every source unlink follows a syncfs
 * of the filesystem its copy is on. Needs mount (root); skipped where it is refused, as the
 * other tmpfs tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { CLI_ENV } from './module-fixture';
import { assertDurableFirst, parseTrace, stopTraced, strace } from './move-trace';
import { needStrace } from '../need-strace';

/** Files in the destination's own filesystem (a/) and in the tmpfs mounted on m/; distinct base names. */
function sourceFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let f = 0; f < 6; f++) {
    files[`a/a-${f}`] = `on the tree's filesystem ${f}\n`.repeat(f + 1);
    files[`m/m-${f}`] = `on the mounted tmpfs ${f}\n`.repeat(f + 1);
  }
  return files;
}

describe('move: every destination filesystem synced before sources go (move-sync)', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon | undefined;
  let mounted: string | undefined;
  beforeEach(() => (tmp = tempDir('blit-move-mounts-')));
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    if (mounted) execFileSync('umount', [mounted]);
    mounted = undefined;
    tmp.cleanup();
  });

  const t2020 = new Date('2020-01-01T00:00:00Z');

  /** `dst` with `same` in it (identical to the source's) and a tmpfs on `dst/m`; false if mount is refused. */
  function destination(dst: string): boolean {
    writeTree(dst, { same: 'already there\n' });
    fs.utimesSync(path.join(dst, 'same'), t2020, t2020);
    fs.mkdirSync(path.join(dst, 'm'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', path.join(dst, 'm')], { stdio: 'ignore' });
    } catch {
      return false;
    }
    mounted = path.join(dst, 'm');
    return true;
  }

  function source(src: string): Record<string, string> {
    const files = sourceFiles();
    writeTree(src, { ...files, same: 'already there\n' });
    fs.utimesSync(path.join(src, 'same'), t2020, t2020);
    return files;
  }

  function traced(trace: string, args: string[]): void {
    const r = spawnSync(strace(trace)[0]!, [...strace(trace).slice(1), process.execPath, BLIT, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...CLI_ENV },
    });
    assert.equal(r.status, 0, r.stderr);
  }

  function assertMoved(files: Record<string, string>, src: string, dst: string): void {
    for (const rel of Object.keys(files)) assert.equal(fs.readFileSync(path.join(dst, rel), 'utf8'), files[rel]);
    const left = fs.readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((p) => !fs.statSync(path.join(src, p)).isDirectory());
    assert.deepEqual(left, [], 'sources left');
  }

  it('local: a syncfs of the tree and one of the tmpfs mounted inside it', function () {
    needStrace();
    const src = path.join(tmp.dir, 'src');
    const dst = path.join(tmp.dir, 'dst');
    if (!destination(dst)) this.skip();
    const files = source(src);
    const trace = path.join(tmp.dir, 'blit.trace');
    traced(trace, ['move', `${src}/`, dst]);
    assertMoved(files, src, dst);
    const calls = parseTrace(trace);
    assertDurableFirst(Object.keys(files), calls, calls, (rel) => `${src}/${rel}`, fs.realpathSync(dst), [fs.realpathSync(mounted!)]);
  });

  it('push: blitd syncs the module and the tmpfs mounted inside it', async function () {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const src = path.join(tmp.dir, 'src');
    if (!destination(path.join(mod, 'd'))) this.skip();
    const files = source(src);
    const dTrace = path.join(tmp.dir, 'blitd.trace');
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV, wrap: strace(dTrace) });
    traced(path.join(tmp.dir, 'blit.trace'), ['move', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`]);
    await stopTraced(daemon);
    daemon = undefined;
    assertMoved(files, src, path.join(mod, 'd'));
    const dst = fs.realpathSync(path.join(mod, 'd'));
    assertDurableFirst(Object.keys(files), parseTrace(path.join(tmp.dir, 'blit.trace')), parseTrace(dTrace), (rel) => `${src}/./${rel}`, dst, [path.join(dst, 'm')]);
  });

  it('pull: blit syncs its destination and the tmpfs mounted inside it', async function () {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const dst = path.join(tmp.dir, 'dst');
    if (!destination(dst)) this.skip();
    const files = source(path.join(mod, 's'));
    const dTrace = path.join(tmp.dir, 'blitd.trace');
    const cTrace = path.join(tmp.dir, 'blit.trace');
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV, wrap: strace(dTrace) });
    traced(cTrace, ['move', `127.0.0.1:${daemon.port}:/default/s/`, `${dst}/`]);
    await stopTraced(daemon);
    daemon = undefined;
    assertMoved(files, path.join(mod, 's'), dst);
    // blitd unlinks through its pinned directory: "/proc/self/fd/N/NAME".
    const real = fs.realpathSync(dst);
    assertDurableFirst(Object.keys(files), parseTrace(dTrace), parseTrace(cTrace), (rel) => `/${path.basename(rel)}`, real, [path.join(real, 'm')]);
  });
});
