/**
 * A remote move removes a source only once its copy is on disk at the other end (move-remote,
 * 2026-11-21). Push: blitd syncfs'es the module before it reports files committed (blit then
 * unlinks the sources); pull: blit syncfs'es its destination before it asks blitd to remove them.
 * A power cut cannot be staged in a test: blit and blitd each run under strace -ttt -T, and every
 * source unlink (by the side that holds the source) must start after a syncfs of the destination
 * filesystem (by the other side) ended, that syncfs having started after the file's rename onto
 * its real name. Both processes are on this machine: one clock.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { CLI_ENV } from './module-fixture';
import { assertDurableFirst, assertSyncfsOffMainThread, parseTrace, stopTraced, strace } from './move-trace';
import { needStrace } from '../need-strace';

/** 3 x 12 files with distinct base names (blitd renames through /proc/self/fd/N/NAME). */
function sourceFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let d = 0; d < 3; d++) for (let f = 0; f < 12; f++) files[`d${d}/n${d}-${f}`] = `content ${d}/${f}\n`.repeat(f + 1);
  return files;
}

describe('remote: move makes each copy durable before its source is removed (move-remote)', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon | undefined;
  beforeEach(() => (tmp = tempDir('blit-move-remote-')));
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    tmp.cleanup();
  });

  const t2020 = new Date('2020-01-01T00:00:00Z');

  it('push: blitd syncs the module before blit unlinks each source', async () => {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const src = path.join(tmp.dir, 'src');
    const files = sourceFiles();
    writeTree(src, { ...files, same: 'already there\n' });
    writeTree(path.join(mod, 'd'), { same: 'already there\n' });
    fs.utimesSync(path.join(src, 'same'), t2020, t2020);
    fs.utimesSync(path.join(mod, 'd', 'same'), t2020, t2020);
    const dTrace = path.join(tmp.dir, 'blitd.trace');
    const cTrace = path.join(tmp.dir, 'blit.trace');
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV, wrap: strace(dTrace) });
    const r = spawnSync(strace(cTrace)[0]!, [...strace(cTrace).slice(1), process.execPath, BLIT, 'move', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`], {
      encoding: 'utf8',
      env: { ...process.env, ...CLI_ENV },
    });
    assert.equal(r.status, 0, r.stderr);
    await stopTraced(daemon);
    daemon = undefined;
    for (const rel of Object.keys(files)) assert.equal(fs.readFileSync(path.join(mod, 'd', rel), 'utf8'), files[rel]);
    // The emptied directories go too, as a local move (move-remote2); the root of `src/` stays.
    assert.deepEqual(fs.readdirSync(src), []);
    assertDurableFirst(Object.keys(files), parseTrace(cTrace), parseTrace(dTrace), (rel) => `${src}/./${rel}`, fs.realpathSync(mod));
    assertSyncfsOffMainThread(parseTrace(dTrace), 'blitd');
  });

  it('pull: blit syncs its destination before blitd unlinks each source', async () => {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const dst = path.join(tmp.dir, 'dst');
    const files = sourceFiles();
    writeTree(path.join(mod, 's'), { ...files, same: 'already there\n' });
    writeTree(dst, { same: 'already there\n' });
    fs.utimesSync(path.join(mod, 's', 'same'), t2020, t2020);
    fs.utimesSync(path.join(dst, 'same'), t2020, t2020);
    const dTrace = path.join(tmp.dir, 'blitd.trace');
    const cTrace = path.join(tmp.dir, 'blit.trace');
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV, wrap: strace(dTrace) });
    const r = spawnSync(strace(cTrace)[0]!, [...strace(cTrace).slice(1), process.execPath, BLIT, 'move', `127.0.0.1:${daemon.port}:/default/s/`, `${dst}/`], {
      encoding: 'utf8',
      env: { ...process.env, ...CLI_ENV },
    });
    assert.equal(r.status, 0, r.stderr);
    await stopTraced(daemon);
    daemon = undefined;
    for (const rel of Object.keys(files)) assert.equal(fs.readFileSync(path.join(dst, rel), 'utf8'), files[rel]);
    assert.deepEqual(fs.readdirSync(path.join(mod, 's')), []);
    // blitd unlinks through its pinned directory: "/proc/self/fd/N/NAME".
    assertDurableFirst(Object.keys(files), parseTrace(dTrace), parseTrace(cTrace), (rel) => `/${path.basename(rel)}`, fs.realpathSync(dst));
    assertSyncfsOffMainThread(parseTrace(cTrace), 'blit');
  });
});
