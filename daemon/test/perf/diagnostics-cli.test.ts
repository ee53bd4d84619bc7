import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PerfHistory, PERF_HISTORY_FILE } from '../../src/engine/perf/history';
import { fsTypeOf } from '../../src/engine/perf/fstype';
import { record, settings, tempDir } from './helpers';

// The real `blit` binary, run as a user would, with its config dir pointed at a temp dir.
const BLIT = path.resolve(__dirname, '../../../bin/blit.js');

function blit(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BLIT, ...args], {
    env: { PATH: process.env.PATH, HOME: env.XDG_CONFIG_HOME, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('blit diagnostics perf (real binary, real history file)', () => {
  let cfg: string;
  let env: NodeJS.ProcessEnv;
  let historyFile: string;
  beforeEach(async () => {
    cfg = tempDir('diag');
    env = { XDG_CONFIG_HOME: cfg };
    const h = PerfHistory.open({ dir: path.join(cfg, 'blit') });
    historyFile = h.file;
    await h.append(record({ files: 100_000, bytes: 471_859_200, copyMs: 5200, plannerMs: 800, workers: 2 }));
    await h.append(record({ files: 1, bytes: 1 << 30, copyMs: 410, workers: 3, primitive: 'copy_file_range' }));
    await h.append(record({ signature: { fsType: 'ext4', dstFsType: 'tmpfs', mode: 'local' }, files: 20_000, bytes: 1 << 30,
      copyMs: 3000, workers: 4, primitive: 'sendfile', stallEvents: 1, outcome: 'partial' }));
  });
  afterEach(() => fs.rmSync(cfg, { recursive: true, force: true }));

  it('--json lists the recorded runs and what was learned per segment', () => {
    const r = blit(['diagnostics', 'perf', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.file, historyFile);
    assert.equal(out.recording, true);
    assert.equal(out.totalRuns, 3);
    assert.deepEqual(out.runs.map((x: { files: number }) => x.files), [100_000, 1, 20_000]);
    assert.equal(out.runs[2].stallEvents, 1);
    assert.deepEqual(out.learned.map((s: { segment: string }) => s.segment), ['local:ext4>ext4', 'local:ext4>tmpfs']);
    assert.equal(out.learned[0].samples, 2);
  });

  it('prints a table with one row per run', () => {
    const r = blit(['diagnostics', 'perf'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Performance history: .*perf_local\.jsonl$/m);
    assert.match(r.stdout, /Last 3 of 3 runs/);
    const header = r.stdout.split('\n').find((l) => l.startsWith('time'))!;
    assert.match(header, /mode\s+filesystems\s+files\s+bytes\s+plan\s+copy\s+rate\s+workers\s+primitive\s+stalls\s+outcome/);
    assert.match(r.stdout, /local\s+ext4>tmpfs\s+20000\s+1\.00 GiB.*sendfile\s+1\s+partial/);
    assert.match(r.stdout, /local:ext4>ext4\s+2 /);
  });

  it('--limit N shows only the newest N runs', () => {
    const r = blit(['diagnostics', 'perf', '--json', '--limit', '1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).runs.map((x: { files: number }) => x.files), [20_000]);
  });

  it('rejects a bad --limit with a usage error naming the flag', () => {
    for (const bad of ['0', 'abc', '-3', '1.5']) {
      const r = blit(['diagnostics', 'perf', '--limit', bad], env);
      assert.equal(r.code, 64, `--limit ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--limit: expected a positive whole number/);
    }
  });

  it('--clear empties the history', () => {
    const r = blit(['diagnostics', 'perf', '--clear'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cleared/);
    assert.equal(fs.existsSync(historyFile), false);
    const after = JSON.parse(blit(['diagnostics', 'perf', '--json'], env).stdout);
    assert.equal(after.totalRuns, 0);
    assert.match(blit(['diagnostics', 'perf'], env).stdout, /No runs recorded yet/);
  });

  it('survives a corrupt history file and says how many lines it skipped', () => {
    fs.appendFileSync(historyFile, '{"truncated": \n\u0000garbage\n');
    const r = blit(['diagnostics', 'perf', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.totalRuns, 3);
    assert.equal(out.skippedLines, 2);
    assert.match(blit(['diagnostics', 'perf'], env).stdout, /2 unreadable line\(s\) skipped/);
  });

  it('reports recording off under BLIT_DISABLE_PERF_HISTORY=1', () => {
    const r = blit(['diagnostics', 'perf', '--json'], { ...env, BLIT_DISABLE_PERF_HISTORY: '1' });
    assert.equal(JSON.parse(r.stdout).recording, false);
    assert.equal(fs.readdirSync(path.join(cfg, 'blit')).join(), PERF_HISTORY_FILE);
  });
});

describe('perf history end to end (real blit copy, then diagnostics perf)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = tempDir('e2e');
    fs.mkdirSync(path.join(tmp, 'src', 'sub'), { recursive: true });
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(tmp, 'src', 'sub', `f${i}.txt`), `file ${i}\n`.repeat(100));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a local copy records one run that diagnostics perf then shows', () => {
    const env = { XDG_CONFIG_HOME: path.join(tmp, 'cfg') };
    const copy = blit(['copy', `${tmp}/src/`, `${tmp}/dst/`, '--json', '--no-progress'], env);
    assert.equal(copy.code, 0, copy.stderr);
    const out = JSON.parse(blit(['diagnostics', 'perf', '--json'], env).stdout);
    assert.equal(out.totalRuns, 1);
    const run = out.runs[0];
    assert.equal(run.files, 5);
    assert.equal(run.bytes, 5 * 700);
    assert.equal(run.outcome, 'ok');
    assert.equal(run.signature.mode, 'local');
    assert.equal(run.signature.fsType, run.signature.dstFsType);
    assert.ok(run.settings.workers >= 1);
  });

  it('the next run warm-starts from what the history learned (worker count)', async () => {
    const cfg = path.join(tmp, 'cfg');
    const fsType = await fsTypeOf(tmp);
    const sig = { fsType, dstFsType: fsType, mode: 'local' as const };
    const h = PerfHistory.open({ dir: path.join(cfg, 'blit') });
    // Learned: for small files on this filesystem, 1 worker beat 2 by far.
    await h.append(record({ signature: sig, files: 1000, bytes: 4_000_000, copyMs: 2000, settings: settings(2) }));
    await h.append(record({ signature: sig, files: 1000, bytes: 4_000_000, copyMs: 500, settings: settings(1) }));
    const copy = blit(['copy', `${tmp}/src/`, `${tmp}/dst/`, '--json', '--no-progress'], { XDG_CONFIG_HOME: cfg });
    assert.equal(copy.code, 0, copy.stderr);
    const runs = PerfHistory.open({ dir: path.join(cfg, 'blit') }).recent();
    assert.equal(runs.length, 3);
    assert.equal(runs[2]!.settings.workers, 1, 'the new run used the learned worker count');
  });

  it('BLIT_DISABLE_PERF_HISTORY=1 copies but records nothing', () => {
    const env = { XDG_CONFIG_HOME: path.join(tmp, 'cfg'), BLIT_DISABLE_PERF_HISTORY: '1' };
    const copy = blit(['copy', `${tmp}/src/`, `${tmp}/dst/`, '--json', '--no-progress'], env);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(fs.readFileSync(path.join(tmp, 'dst', 'sub', 'f4.txt'), 'utf8'), 'file 4\n'.repeat(100));
    assert.equal(fs.existsSync(path.join(tmp, 'cfg', 'blit', 'perf_local.jsonl')), false);
  });
});
