/**
 * As root, a new file is chowned only when it was not created with its source's owner (root-chown,
 * 2026-11-22): root:root files landing in a directory that is not setgid (new, or existing with
 * another group) make no fchown; in a setgid directory (the kernel gives them its group) every
 * one is chowned back to 0:0. blit (local copy) or blitd (push) runs under strace -f -y, and the
 * chown calls on the temp files (`.blit.NAME.HEX.tmp`) are counted per destination directory.
 * Native batch and node:fs (BLIT_NATIVE_BATCH=0).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, runBlit, startDaemon, tempDir, type Daemon } from './harness';
import { CLI_ENV } from './module-fixture';
import { needStrace } from '../need-strace';
import { releaseTraced } from '../strace-stops';

const N = 40;
/** plain: created by the run; other: exists, group 5, not setgid; sgid: exists, group 5, setgid. */
const DIRS = ['plain', 'other', 'sgid'] as const;

function strace(out: string): string[] {
  return ['strace', '-f', '-qq', '-y', '-o', out, '-e', 'trace=chown,fchown,lchown,fchownat,open,openat', '--'];
}

/**
 * Temp files of destination directory `dir` created (by the fd open returned, `= 12<.../dir/.blit.x.tmp>`
 * with -y, on the line that ends the call) or chowned (counted at the call's first line, which
 * names its arguments: a call another thread interrupted goes on in a `<... resumed>` line
 * without them; by fd or path, or relative to the directory's fd: `<.../dir>, ".blit.`).
 */
function calls(trace: string, kind: 'chown' | 'create', dir: string): number {
  const created = new RegExp(`= \\d+<[^>]*/${dir}/\\.blit\\.`);
  const onTemp = (line: string): boolean => line.includes(`/${dir}/.blit.`) || line.includes(`/${dir}>, ".blit.`);
  let n = 0;
  for (const line of fs.readFileSync(trace, 'latin1').split('\n')) {
    if (kind === 'create' ? created.test(line) : /^\d+ +\w*chown\w*\(/.test(line) && onTemp(line)) n++;
  }
  return n;
}

function makeSource(src: string): void {
  for (const d of DIRS) {
    fs.mkdirSync(path.join(src, d), { recursive: true });
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, d, `f${i}`), `file ${d}/${i}\n`);
  }
  fs.chownSync(src, 0, 0);
}

/** The destination's `other` and `sgid` exist with group 5 before the run (their files get 0:0). */
function makeDestDirs(dst: string): void {
  for (const [d, mode] of [['other', 0o755], ['sgid', 0o2775]] as const) {
    fs.mkdirSync(path.join(dst, d), { recursive: true });
    fs.chownSync(path.join(dst, d), 0, 5);
    fs.chmodSync(path.join(dst, d), mode);
  }
}

function assertOutcome(trace: string, dst: string): void {
  for (const d of DIRS) {
    assert.equal(calls(trace, 'create', d), N, `${d}: every file's temp created (the trace saw the writes)`);
    for (let i = 0; i < N; i++) {
      const st = fs.statSync(path.join(dst, d, `f${i}`));
      assert.equal(`${st.uid}:${st.gid}`, '0:0', `${d}/f${i}: owner`);
    }
  }
  assert.deepEqual(
    DIRS.map((d) => `${d}: ${calls(trace, 'chown', d)}`),
    ['plain: 0', 'other: 0', 'sgid: 40'],
    'chowns of new files per destination directory (only the setgid one gives them another group)',
  );
}

describe('as root, a new file is chowned only when it was not created with its owner', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon | undefined;
  beforeEach(() => (tmp = tempDir('blit-root-chown-')));
  afterEach(async () => {
    if (daemon) await releaseTraced(daemon);
    daemon = undefined;
    tmp.cleanup();
  });

  for (const nativeBatch of [true, false]) {
    const env = nativeBatch ? CLI_ENV : { ...CLI_ENV, BLIT_NATIVE_BATCH: '0' };
    const label = nativeBatch ? 'native batch' : 'BLIT_NATIVE_BATCH=0';

    it(`${label}, local copy: no fchown in a directory that is not setgid, one per file in a setgid one`, function () {
      if (process.getuid?.() !== 0) this.skip(); // owners are kept as root only
      needStrace();
      const src = path.join(tmp.dir, 'src');
      const dst = path.join(tmp.dir, 'dst');
      makeSource(src);
      makeDestDirs(dst);
      const trace = path.join(tmp.dir, 'blit.trace');
      const [cmd, ...pre] = strace(trace);
      const r = spawnSync(cmd!, [...pre, process.execPath, BLIT, 'copy', `${src}/`, dst], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(r.status, 0, r.stderr);
      assertOutcome(trace, dst);
    });

    it(`${label}, push: no fchown in a directory that is not setgid, one per file in a setgid one`, async function () {
      if (process.getuid?.() !== 0) this.skip();
      needStrace();
      const mod = path.join(tmp.dir, 'module');
      const src = path.join(tmp.dir, 'src');
      makeSource(src);
      makeDestDirs(path.join(mod, 'd'));
      const trace = path.join(tmp.dir, 'blitd.trace');
      daemon = await startDaemon(['--port', '0', '--root', mod], { env, wrap: strace(trace) });
      const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`], { env });
      assert.equal(r.code, 0, r.stderr);
      await releaseTraced(daemon);
      daemon = undefined;
      assertOutcome(trace, path.join(mod, 'd'));
    });
  }
});
