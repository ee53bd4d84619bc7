/**
 * Ctrl-C (SIGINT) during a run cancels it cleanly: exit 1 with Cancelled, every file under a real
 * name in DST is complete, no temp file left, the source untouched.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT_BIN, cleanupTemp, listTree, tempDir, tempLeftovers } from './harness';

describe('cli: Ctrl-C', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('SIGINT mid-run cancels: exit 1 [Cancelled], only complete files in DST, no temp files', async () => {
    const src = tempDir('int-src');
    const dst = path.join(tempDir('int-dst'), 'out');
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(src, `d${d}`));
      for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), Buffer.alloc(8192, (d * 100 + i) % 251));
    }
    const before = listTree(src);
    const child = spawn(process.execPath, [BLIT_BIN, 'copy', '-v', `${src}/`, dst], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' },
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      // The first itemized line means the run is under way: interrupt it as a user would.
      if (!interrupted && stdout.includes('create  ')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.ok(interrupted, 'the run was interrupted while running');
    assert.equal(code, 1, `exit ${code}\n${stderr}`);
    assert.match(stderr, /\[Cancelled\]/);
    assert.doesNotMatch(stdout, /^copied /m, 'no success total after a cancel');
    if (fs.existsSync(dst)) {
      assert.deepEqual(tempLeftovers(dst), []);
      for (const rel of listTree(dst).filter((p) => !p.endsWith('/'))) {
        assert.ok(fs.readFileSync(path.join(dst, rel)).equals(fs.readFileSync(path.join(src, rel))), `${rel} complete`);
      }
    }
    assert.deepEqual(listTree(src), before, 'source untouched');
  });
});
