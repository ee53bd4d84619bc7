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
import { needStrace } from '../need-strace';

interface Call {
  name: string;
  args: string;
  start: number;
  end: number;
}

const TRACED = 'trace=syncfs,fdatasync,rename,renameat,renameat2,unlink,unlinkat';

/** strace -f -ttt -T -y output → successful calls with start and end times. */
function parseTrace(file: string): Call[] {
  const open = new Map<string, { text: string; start: number }>();
  const calls: Call[] = [];
  for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ts, rest] = m as unknown as [string, string, string, string];
    const t = Number(ts);
    const unfinished = /^(\w+\(.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, { text: unfinished[1]!, start: t });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    const begun = resumed ? open.get(pid) : undefined;
    if (resumed) open.delete(pid);
    const full = resumed ? `${begun?.text ?? `${resumed[1]}(`}${resumed[2]}` : rest;
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+).*<(\d+\.\d+)>$/.exec(full);
    if (!call || call[3] === '-1') continue;
    const start = resumed ? (begun?.start ?? t) : t;
    calls.push({ name: call[1]!, args: call[2]!, start, end: resumed ? t : t + Number(call[4]) });
  }
  return calls;
}

function strace(out: string): string[] {
  return ['strace', '-f', '-qq', '-y', '-ttt', '-T', '-o', out, '-e', TRACED, '--'];
}

/** 3 x 12 files with distinct base names (blitd renames through /proc/self/fd/N/NAME). */
function sourceFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let d = 0; d < 3; d++) for (let f = 0; f < 12; f++) files[`d${d}/n${d}-${f}`] = `content ${d}/${f}\n`.repeat(f + 1);
  return files;
}

/**
 * Each file of `files` (and `same`, identical at the destination before the move): its source
 * unlink (in `unlinks`, matched by `srcName`) starts after the end of a syncfs in `syncs` of a
 * directory under `dstRoot`, which started after the last rename onto its name.
 */
function assertDurableFirst(files: string[], unlinks: Call[], syncs: Call[], srcName: (rel: string) => string, dstRoot: string): void {
  const dstFs = syncs.filter((c) => c.name === 'syncfs' && c.args.includes(`<${dstRoot}`));
  for (const rel of [...files, 'same']) {
    const gone = unlinks.find((c) => /^unlink/.test(c.name) && c.args.includes(`${srcName(rel)}"`));
    assert.ok(gone, `no unlink of the source ${rel}`);
    const base = path.basename(rel);
    const renames = syncs.filter((c) => /^rename/.test(c.name) && c.args.endsWith(`/${base}"`) && c.end < gone.start);
    if (rel !== 'same') assert.ok(renames.length > 0, `no rename onto ${rel} before its source was unlinked`);
    const named = renames.length > 0 ? renames[renames.length - 1]!.end : 0;
    assert.ok(
      dstFs.some((s) => s.start >= named && s.end <= gone.start),
      `${rel}: source unlinked at ${gone.start} without a syncfs of the destination between its rename (${named}) and then`,
    );
  }
}

/** strace does not end on SIGTERM while its tracee runs: stop blitd itself (strace's child). */
async function stopTraced(daemon: Daemon): Promise<void> {
  const blitdPid = Number(fs.readFileSync(`/proc/${daemon.proc.pid}/task/${daemon.proc.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  assert.ok(blitdPid > 0, 'blitd runs under strace');
  const exited = new Promise((resolve) => daemon.proc.once('exit', resolve));
  process.kill(blitdPid, 'SIGTERM');
  await exited;
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
    assert.deepEqual(fs.readdirSync(src).map((d) => [d, fs.readdirSync(path.join(src, d)).length]), [['d0', 0], ['d1', 0], ['d2', 0]]);
    assertDurableFirst(Object.keys(files), parseTrace(cTrace), parseTrace(dTrace), (rel) => `${src}/./${rel}`, fs.realpathSync(mod));
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
    assert.deepEqual(fs.readdirSync(path.join(mod, 's')).map((d) => [d, fs.readdirSync(path.join(mod, 's', d)).length]), [['d0', 0], ['d1', 0], ['d2', 0]]);
    // blitd unlinks through its pinned directory: "/proc/self/fd/N/NAME".
    assertDurableFirst(Object.keys(files), parseTrace(dTrace), parseTrace(cTrace), (rel) => `/${path.basename(rel)}`, fs.realpathSync(dst));
  });
});
