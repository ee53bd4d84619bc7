/**
 * `blit copy FILE NEWDIR/` (hunt-cli): a file into a destination that ends in '/' and does not
 * exist yet creates that directory (its parent must exist) and lands the file in it, as rsync
 * does and a push did; locally and on pull it was refused as "destination parent directory does
 * not exist" [InvalidPath].
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, runBlit, writeTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';

describe('hunt-cli: a file into a new DST/ lands as DST/FILE, locally, on push and on pull', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-hunt-paths-');

  it('copy, mirror and move create DST and put the file in it; a missing parent is still refused', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    const out = path.join(fx.dir, 'out');
    fs.mkdirSync(out);
    for (const verb of ['copy', 'mirror', 'move']) {
      writeTree(src, { 'f.txt': verb });
      writeTree(fx.moduleDir, { [`src/${verb}.txt`]: verb });
      const runs = [
        ['local', [verb, '--yes', path.join(src, 'f.txt'), path.join(out, `local-${verb}`) + '/']],
        ['push', [verb, '--yes', path.join(src, 'f.txt'), fx.remote(`push-${verb}/`)]],
        ['pull', [verb, '--yes', fx.remote(`src/${verb}.txt`), path.join(out, `pull-${verb}`) + '/']],
      ] as const;
      for (const [side, args] of runs) {
        if (side === 'push') writeTree(src, { 'f.txt': verb });
        const r = await fx.blit([...args]);
        assert.equal(r.code, 0, `${side} ${verb}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      }
      assert.deepEqual(listTree(path.join(out, `local-${verb}`)), ['f.txt'], verb);
      assert.deepEqual(listTree(path.join(fx.moduleDir, `push-${verb}`)), ['f.txt'], verb);
      assert.deepEqual(listTree(path.join(out, `pull-${verb}`)), [`${verb}.txt`], verb);
    }
    writeTree(src, { 'f.txt': 'x' });
    const missing = await fx.blit(['copy', path.join(src, 'f.txt'), path.join(out, 'no/such/') ]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /no: destination parent directory does not exist \[InvalidPath\]/);
  });

  // One rule for dirsCreated, rsync's (--stats "dir: N"): the transfer's directories it created,
  // its root included; not the directory DST it was created in (`d NEW`: NEW), nor --mkpath's
  // parents, nor a single file's NEWDIR/. For `copy d NEW` local said 2, push and pull 1 (they
  // left out the root they created), and `FILE NEWDIR/` locally 1.
  it('dirsCreated counts the same directories locally, on push, on pull and in rsync --stats', async () => {
    await fx.start();
    const tree = { 'd/sub/f': 'f', 'd/g': 'g', 'file1': '1' };
    const src = path.join(fx.dir, 'src');
    writeTree(src, tree);
    writeTree(path.join(fx.moduleDir, 'src'), tree);
    const out = path.join(fx.dir, 'out');
    fs.mkdirSync(path.join(out, 'rsync'), { recursive: true });
    const cases: Array<{ name: string; from: string; to: string; flags?: string[]; dirs: number }> = [
      { name: 'd NEW', from: 'd', to: 'new', dirs: 2 },
      { name: 'd/ NEW', from: 'd/', to: 'new', dirs: 2 },
      { name: 'd EXISTING', from: 'd', to: 'existing', dirs: 2 },
      { name: '--mkpath d A/B/C', from: 'd', to: 'a/b/c', flags: ['--mkpath'], dirs: 2 },
      { name: 'FILE NEWDIR/', from: 'file1', to: 'newdir/', dirs: 0 },
    ];
    for (const [i, c] of cases.entries()) {
      const flags = c.flags ?? [];
      const at = (side: string): string => `${side}${i}/${c.to}`;
      for (const side of ['local', 'pull', 'rsync']) fs.mkdirSync(path.join(out, `${side}${i}`, c.to === 'existing' ? 'existing' : ''), { recursive: true });
      fs.mkdirSync(path.join(fx.moduleDir, `push${i}`, c.to === 'existing' ? 'existing' : ''), { recursive: true });
      const runs: Array<[string, string[]]> = [
        ['local', [path.join(src, c.from), path.join(out, at('local'))]],
        ['push', [path.join(src, c.from), fx.remote(at('push'))]],
        ['pull', [fx.remote(`src/${c.from}`), path.join(out, at('pull'))]],
      ];
      const counts: Record<string, number> = {};
      for (const [side, args] of runs) {
        const r = await fx.blit(['copy', '--json', ...flags, ...args]);
        assert.equal(r.code, 0, `${c.name} ${side}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        counts[side] = (JSON.parse(r.stdout) as { dirsCreated: number }).dirsCreated;
      }
      const rs = spawnSync('rsync', ['-a', '--stats', ...flags, path.join(src, c.from), path.join(out, at('rsync'))], { encoding: 'utf8' });
      assert.equal(rs.status, 0, rs.stderr);
      counts.rsync = Number(/Number of created files: .*?dir: (\d+)/.exec(rs.stdout)?.[1] ?? 0);
      assert.deepEqual(counts, { local: c.dirs, push: c.dirs, pull: c.dirs, rsync: c.dirs }, c.name);
    }
  });

  // One wording (errors.ts notADirectory): a push said `default/t/D/d: destination: a path
  // component is not a directory (ENOTDIR)` for a directory onto a file, and `/abs/f/.: source:
  // ...` for `FILE/`, where local and pull said what was wrong with which path.
  it('a directory onto a file, and FILE/, are refused in the same words locally, on push and on pull, with --mkpath or without', async () => {
    await fx.start();
    const tree = { 'd/g': 'g', 'file1': '1', 'T/D': 'a file' };
    writeTree(path.join(fx.dir, 'src'), tree);
    writeTree(path.join(fx.moduleDir, 'src'), tree);
    const local = (p: string): string => path.join(fx.dir, 'src', p);
    const cases: Array<[string, string, string, string]> = [
      // source, destination, the words, the path named (local form)
      ['d', 'T/D', 'destination exists and is not a directory', 'T/D'],
      ['d/', 'T/D', 'destination exists and is not a directory', 'T/D'],
      ['d/', 'T/D/', 'destination exists and is not a directory', 'T/D/'],
      ['file1/', 'T/x', 'source ends in / but is not a directory', 'file1/'],
      // Locally `destination ends in / but is not a directory`; the pull named /abs/.../T/D.
      ['file1', 'T/D/', 'destination exists and is not a directory', 'T/D/'],
    ];
    for (const [from, to, words, named] of cases) {
      const runs: Array<[string, string[], string]> = [
        ['local', [local(from), local(to)], local(named)],
        // A push names its own source as given, the module's destination as module/path.
        ['push', [local(from), fx.remote(`src/${to}`)], from === 'file1/' ? local(named) : `default/src/${named.replace(/\/$/, '')}`],
        ['pull', [fx.remote(`src/${from}`), local(to)], from === 'file1/' ? fx.remote('src/file1') : local(named)],
      ];
      // --mkpath only creates missing parents: a push with it said `default/src/T/D/d: destination:
      // a path component is not a directory (ENOTDIR)` (the DST check was skipped with it).
      for (const [side, args, shown] of runs) {
        for (const mkpath of [[], ['--mkpath']]) {
          const r = await fx.blit(['copy', ...mkpath, ...args]);
          const what = `${from} ${to} ${side} ${mkpath.join('')}: exit ${r.code}\n${r.stderr}`;
          assert.equal(r.code, 1, what);
          assert.ok(r.stderr.includes(`${side === 'push' && from !== 'file1/' ? `127.0.0.1:${fx.daemon.port}: ` : ''}${shown}: ${words} [NotADirectory]`), what);
        }
      }
    }
  });

  // rsync's rule: `SRC/.` and `.` name the contents, as `SRC/` does. Locally `copy d/. NEW`
  // landed as NEW/d (path.resolve dropped the '.', then the basename was taken) and `move d/.`
  // removed d itself; push and pull already followed rsync. Compared with rsync -a, side by side.
  it('SRC/. and . copy the contents like SRC/, locally, on push and on pull, and a move keeps SRC', async () => {
    await fx.start();
    const tree = { 'd/sub/f': 'f', 'd/g': 'g' };
    const src = path.join(fx.dir, 'src');
    const out = path.join(fx.dir, 'out');
    fs.mkdirSync(out);
    writeTree(src, tree);
    writeTree(path.join(fx.moduleDir, 'src'), tree);
    const rs = spawnSync('rsync', ['-a', `${src}/d/.`, path.join(out, 'rsync')], { encoding: 'utf8' });
    assert.equal(rs.status, 0, rs.stderr);
    const want = listTree(path.join(out, 'rsync'));
    assert.deepEqual(want, ['g', 'sub', 'sub/f']);
    const runs: Array<[string, string[], string, string?]> = [
      ['local d/.', ['copy', `${src}/d/.`, path.join(out, 'local')], path.join(out, 'local')],
      ['push d/.', ['copy', `${src}/d/.`, fx.remote('push')], path.join(fx.moduleDir, 'push')],
      ['pull d/.', ['copy', fx.remote('src/d/.'), path.join(out, 'pull')], path.join(out, 'pull')],
      ['local .', ['copy', '.', path.join(out, 'dot')], path.join(out, 'dot'), path.join(src, 'd')],
      ['push .', ['copy', '.', fx.remote('pushdot')], path.join(fx.moduleDir, 'pushdot'), path.join(src, 'd')],
    ];
    for (const [name, args, where, cwd] of runs) {
      const r = await runBlit(args, { env: CLI_ENV, cwd: cwd ?? fx.dir });
      assert.equal(r.code, 0, `${name}: exit ${r.code}\n${r.stderr}`);
      assert.deepEqual(listTree(where), want, name);
    }
    // move d/.: the contents go, d itself stays (as move d/ does), locally and on push.
    for (const side of ['local', 'push']) {
      writeTree(src, tree);
      const r = await fx.blit(['move', `${src}/d/.`, side === 'local' ? path.join(out, 'mv') : fx.remote('mv')]);
      assert.equal(r.code, 0, `${side} move: ${r.stderr}`);
      assert.deepEqual(listTree(path.join(src, 'd')), [], `${side} move d/. keeps d, empty`);
    }
    const pm = await fx.blit(['move', fx.remote('src/d/.'), path.join(out, 'pmv')]);
    assert.equal(pm.code, 0, pm.stderr);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'src/d')), [], 'pull move d/. keeps d, empty');
  });
});
