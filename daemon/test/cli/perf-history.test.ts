import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// A real local `blit copy` records one run in the local performance history, and
// BLIT_DISABLE_PERF_HISTORY=1 keeps it from recording; `blit diagnostics perf --json` shows it.
const BLIT = path.resolve(__dirname, '../../../bin/blit.js');

function blit(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BLIT, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('blit copy records local runs in the perf history', () => {
  let base: string;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-perfhist-'));
    fs.mkdirSync(path.join(base, 'src/sub'), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(base, 'src/sub', `f${i}`), `data ${i}\n`);
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('appends one record per run under XDG_CONFIG_HOME/blit and diagnostics lists it', () => {
    const env = { XDG_CONFIG_HOME: path.join(base, 'cfg'), HOME: base };
    const r = blit(['copy', path.join(base, 'src') + '/', path.join(base, 'dst')], env);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(base, 'cfg', 'blit', 'perf_local.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!);
    assert.equal(rec.files, 20);
    assert.equal(rec.signature.mode, 'local');
    const d = blit(['diagnostics', 'perf', '--json'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(JSON.parse(d.stdout).totalRuns, 1);
  });

  it('records nothing with BLIT_DISABLE_PERF_HISTORY=1', () => {
    const env = { XDG_CONFIG_HOME: path.join(base, 'cfg'), HOME: base, BLIT_DISABLE_PERF_HISTORY: '1' };
    const r = blit(['copy', path.join(base, 'src') + '/', path.join(base, 'dst')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(base, 'cfg', 'blit', 'perf_local.jsonl')), false);
  });
});
