/**
 * The one-file CLI bundle (scripts/bundle-cli.js → daemon/dist/blit-cli.js) that daemon/bin/blit.js
 * loads when it is fresh: built here from the current dist, then a push, a pull and a local copy
 * through the REAL bin/blit.js and a REAL blitd must behave as from dist (worker scripts and the
 * native library found through the rewritten __dirname: zeroCopy true, trees exact), and a bundle
 * older than the last `tsc -b` must not be loaded.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, BLITD, runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { assertSameTree, jsonSummary } from './transfer-helpers';

const REPO = path.resolve(__dirname, '../../../..');
const BUNDLE = path.join(REPO, 'daemon', 'dist', 'blit-cli.js');
const BLITD_BUNDLE = path.join(REPO, 'daemon', 'dist', 'blitd-bundle.js');
const TSBUILDINFO = path.join(REPO, 'daemon', 'dist', 'tsconfig.tsbuildinfo');

/**
 * Which file a run of bin/blit.js (or bin/blitd.js with `daemon`) loaded: a preload reports it from
 * require.cache at exit.
 */
function loadedCli(tmp: string, env: NodeJS.ProcessEnv = {}, daemon = false): 'bundle' | 'dist' | 'none' {
  const preload = path.join(tmp, 'which-cli.js');
  const [bundleName, distEntry] = daemon ? ['blitd-bundle.js', 'daemon/main.js'] : ['blit-cli.js', 'cli/main.js'];
  fs.writeFileSync(preload, `process.on('exit', () => {
    const ks = Object.keys(require.cache);
    process.stderr.write('LOADED=' + (ks.some((k) => k.endsWith(${JSON.stringify(bundleName)})) ? 'bundle' : ks.some((k) => k.endsWith(${JSON.stringify(distEntry)})) ? 'dist' : 'none') + '\\n');
  });\n`);
  const r = spawnSync(process.execPath, ['-r', preload, daemon ? BLITD : BLIT, '--version'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /LOADED=(\w+)/.exec(r.stderr);
  return (m?.[1] as 'bundle' | 'dist' | 'none') ?? 'none';
}

describe('blit CLI bundle (scripts/bundle-cli.js)', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon;
  let moduleDir: string;
  let src: string;
  let hadEsbuild = true;

  before(async function () {
    try {
      require.resolve('esbuild', { paths: [REPO] });
    } catch {
      hadEsbuild = false;
      this.skip(); // an install without dev dependencies: blit runs from dist (covered by every other CLI test)
    }
    const b = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'bundle-cli.js')], { encoding: 'utf8' });
    assert.equal(b.status, 0, `bundle-cli failed: ${b.stderr}`);
    tmp = tempDir('blit-bundle-');
    moduleDir = path.join(tmp.dir, 'module');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(moduleDir);
    writeTree(src, { 'a.txt': 'alpha\n', 'd/b.bin': Buffer.alloc(300_000, 7) /* > 256 KiB: sent with sendfile, not write */, 'd/e/c.txt': 'gamma' });
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
  });

  after(async () => {
    await daemon?.stop();
    tmp?.cleanup();
  });

  it('bin/blit.js loads the fresh bundle, and dist with BLIT_NO_BUNDLE=1', () => {
    assert.equal(loadedCli(tmp.dir), 'bundle');
    assert.equal(loadedCli(tmp.dir, { BLIT_NO_BUNDLE: '1' }), 'dist');
  });

  it('a bundle older than the last tsc -b is not loaded (dist is)', () => {
    for (const [file, daemon] of [[BUNDLE, false], [BLITD_BUNDLE, true]] as const) {
      const st = fs.statSync(file);
      const info = fs.statSync(TSBUILDINFO);
      try {
        fs.utimesSync(file, st.atime, new Date(info.mtimeMs - 60_000));
        assert.equal(loadedCli(tmp.dir, {}, daemon), 'dist');
      } finally {
        fs.utimesSync(file, st.atime, st.mtime);
      }
      assert.equal(loadedCli(tmp.dir, {}, daemon), 'bundle');
    }
  });

  it('bin/blitd.js loads its fresh bundle, and dist with BLIT_NO_BUNDLE=1; a bundled blitd serves and writes its cache', async () => {
    assert.equal(loadedCli(tmp.dir, {}, true), 'bundle');
    assert.equal(loadedCli(tmp.dir, { BLIT_NO_BUNDLE: '1' }, true), 'dist');
    // The suite's daemon (startDaemon spawns bin/blitd.js) ran from the bundle; stopping one writes
    // the daemon's code cache once, tied to the bundle like the CLI's.
    const cache = `${BLITD_BUNDLE}.daemon.v8cache`;
    fs.rmSync(cache, { force: true });
    const d = await startDaemon(['--port', '0', '--root', moduleDir]);
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${d.port}:/default/by-bundled-blitd`, '--json']);
    await d.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).tcpDataPlane, true);
    assertSameTree(src, path.join(moduleDir, 'by-bundled-blitd'));
    const raw = fs.readFileSync(cache);
    const head = JSON.parse(raw.subarray(0, raw.indexOf(10)).toString()) as { key: string; kinds: string[] };
    assert.deepEqual(head.kinds, ['blitd']);
    assert.equal(JSON.parse(head.key).size, fs.statSync(BLITD_BUNDLE).size);
  });

  it('push and pull through the bundle: trees exact, sendfile worker found (zeroCopy)', async () => {
    assert.ok(hadEsbuild);
    const push = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/p`, '--json']);
    assert.equal(push.code, 0, push.stderr);
    const ps = jsonSummary(push.stdout);
    assert.equal(ps.tcpDataPlane, true);
    assert.equal(ps.zeroCopy, true, 'the sendfile worker script was found beside remote/ in dist');
    assertSameTree(src, path.join(moduleDir, 'p'));

    const back = path.join(tmp.dir, 'back');
    const pull = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/p/`, back, '--json']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(jsonSummary(pull.stdout).filesTransferred, 3);
    assertSameTree(src, back);
  });

  it('V8 code cache: one per group of runs, written per kind of run, tied to the bundle, a broken cache only means compiling', async () => {
    const cacheFile = (group: string): string => `${BUNDLE}.${group}.v8cache`;
    const head = (group: string): { key: string; kinds: string[] } => {
      const raw = fs.readFileSync(cacheFile(group));
      return JSON.parse(raw.subarray(0, raw.indexOf(10)).toString()) as { key: string; kinds: string[] };
    };
    for (const g of ['other', 'local', 'remote']) fs.rmSync(cacheFile(g), { force: true });
    assert.equal((await runBlit(['--version'])).code, 0);
    assert.deepEqual(head('other').kinds, ['--version']);
    assert.ok(!fs.existsSync(cacheFile('remote')) && !fs.existsSync(cacheFile('local')));
    const st = fs.statSync(BUNDLE);
    assert.deepEqual(JSON.parse(head('other').key), { size: st.size, mtimeMs: st.mtimeMs, node: process.version, arch: process.arch });
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/cached`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(head('remote').kinds, ['copy@remote']);
    assert.deepEqual(head('other').kinds, ['--version']);
    assertSameTree(src, path.join(moduleDir, 'cached'));
    const r2 = await runBlit(['mirror', `${src}/`, `127.0.0.1:${daemon.port}:/default/cached`, '--yes']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(head('remote').kinds, ['copy@remote', 'mirror@remote']);
    // The --version cache holds only what --version compiled: smaller than the remote one.
    assert.ok(fs.statSync(cacheFile('other')).size < fs.statSync(cacheFile('remote')).size / 2);
    // A cache of another build (same kinds, other key) or garbage is ignored and replaced.
    fs.writeFileSync(cacheFile('other'), `${JSON.stringify({ key: 'another build', kinds: ['--version'] })}\nnot V8 data`);
    const v = await runBlit(['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    assert.deepEqual(head('other').kinds, ['--version']);
    assert.equal(JSON.parse(head('other').key).size, st.size);
    fs.writeFileSync(cacheFile('local'), 'garbage');
    const dst = path.join(tmp.dir, 'after-garbage');
    const g = await runBlit(['copy', `${src}/`, dst]);
    assert.equal(g.code, 0, g.stderr);
    assertSameTree(src, dst);
    assert.deepEqual(head('local').kinds, ['copy']);
  });

  it('the bundles are ASCII (read as latin1), and a rebuild removes the old caches', () => {
    for (const file of [BUNDLE, BLITD_BUNDLE]) assert.equal(fs.readFileSync(file).findIndex((b) => b > 0x7f), -1, file);
    const stale = `${BUNDLE}.other.v8cache`;
    fs.writeFileSync(stale, 'old');
    const b = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'bundle-cli.js')], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    assert.ok(!fs.existsSync(stale));
    assert.equal(loadedCli(tmp.dir), 'bundle');
  });

  it('worker threads start from their own bundles through code caches, from dist while a worker bundle is stale', async () => {
    const dist = path.join(REPO, 'daemon', 'dist');
    const cacheOf = (name: string): string => path.join(dist, `${name}-bundle.js.v8cache`);
    const writesOf = (name: string): number | undefined => {
      try {
        const raw = fs.readFileSync(cacheOf(name));
        const head = JSON.parse(raw.subarray(0, raw.indexOf(10)).toString()) as { key: string; writes: number };
        assert.equal(JSON.parse(head.key).size, fs.statSync(path.join(dist, `${name}-bundle.js`)).size);
        return head.writes;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    };
    /** A worker writes its cache as its thread exits, which may come just after the run's answer. */
    const waitWrites = async (name: string, want = (w: number | undefined) => w !== undefined): Promise<number | undefined> => {
      for (let i = 0; i < 400 && !want(writesOf(name)); i++) await new Promise((r) => setTimeout(r, 50));
      return writesOf(name);
    };
    for (const w of ['copy-worker', 'dest-lister-worker', 'recv-worker', 'sendfile-worker', 'small-file-worker']) {
      assert.ok(fs.existsSync(path.join(dist, `${w}-bundle.js`)) && fs.existsSync(path.join(dist, `${w}-boot.js`)), w);
      fs.rmSync(cacheOf(w), { force: true });
    }
    // A pull of a big file: blitd sends it with its sendfile worker, blit receives it in its
    // stream worker (files of HANDOVER_MIN = 32 MiB or more); both threads ran from their boot files.
    const bigSrc = path.join(moduleDir, 'big');
    writeTree(bigSrc, { 'big.bin': Buffer.alloc(33 * 1024 * 1024, 5), 'small.txt': 'x' });
    const pull = async (to: string): Promise<void> => {
      const r = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/big/`, path.join(tmp.dir, to), '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonSummary(r.stdout).zeroCopy, true);
      assertSameTree(bigSrc, path.join(tmp.dir, to));
    };
    await pull('big-1');
    assert.equal(await waitWrites('recv-worker'), 1);
    assert.ok(((await waitWrites('sendfile-worker')) ?? 0) >= 1);
    // A worker bundle older than the last tsc -b is not started: dist's recv-worker.js receives
    // (no cache written), and the bundle again once it is fresh.
    const bundle = path.join(dist, 'recv-worker-bundle.js');
    const st = fs.statSync(bundle);
    fs.rmSync(cacheOf('recv-worker'));
    try {
      fs.utimesSync(bundle, st.atime, new Date(fs.statSync(TSBUILDINFO).mtimeMs - 60_000));
      await pull('big-2');
    } finally {
      fs.utimesSync(bundle, st.atime, st.mtime);
    }
    assert.equal(writesOf('recv-worker'), undefined);
    await pull('big-3');
    assert.equal(await waitWrites('recv-worker'), 1);
    // A cache V8 rejects (same key, broken data) only means compiling, and a new cache (writes 1).
    const good = fs.readFileSync(cacheOf('recv-worker'));
    const { key } = JSON.parse(good.subarray(0, good.indexOf(10)).toString()) as { key: string };
    fs.writeFileSync(cacheOf('recv-worker'), `${JSON.stringify({ key, writes: 2 })}\nnot V8 data`);
    await pull('big-4');
    assert.equal(await waitWrites('recv-worker', (w) => w === 1), 1);
  });

  it('a local copy through the bundle is exact', async () => {
    const dst = path.join(tmp.dir, 'local');
    const r = await runBlit(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, r.stderr);
    assertSameTree(src, dst);
  });
});
