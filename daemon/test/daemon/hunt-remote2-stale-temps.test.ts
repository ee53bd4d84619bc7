/**
 * Temp files of a remote transfer whose receiver was SIGKILLed mid-file (hunt-remote2): blitd on a
 * push, blit on a pull. Before: the next copy or mirror into that directory left them forever
 * (the remote destination ignored the differ's temp names; the local engine removed stale ones).
 * Now a temp not written for STALE_TEMP_MS (15 min, engine/atomic.ts) is removed by the next
 * transfer that lists its directory; a fresh one (a transfer running right now) is left alone.
 * The age is real, the rule's age shortened for the second run (BLIT_TEST_STALE_TEMP_MS): the
 * rule reads the ctime too, which cannot be backdated. The kill itself is real.
 * Deterministic: strace stops the sender at its first sendfile(2), the receiver then has the temp.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, runBlit, startDaemon, tempDir, waitFor, writeTree } from './harness';
import { CLI_ENV } from './module-fixture';
import { tempFilesIn } from './transfer-helpers';
import { readOr, releaseTraced, runStoppedAt, stopAtWrap, waitStopped } from '../strace-stops';
import { needStrace } from '../need-strace';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const FRESH = '.blit.other.0123456789ab.tmp';

/** The first temp file in `dir` once there is one; a timeout shows `what()` (blitd's log). */
async function waitForTemp(dir: string, what: () => string): Promise<string> {
  let t: string[] = [];
  await waitFor(() => (t = fs.existsSync(dir) ? tempFilesIn(dir) : []).length > 0, 60_000, `a temp file in ${dir}`).catch((e: Error) => {
    throw new Error(`${e.message}\n${what()}`);
  });
  return t[0]!;
}

/**
 * The stale-temp age for the second run (BLIT_TEST_STALE_TEMP_MS): the rule reads the ctime too,
 * which cannot be backdated, so `file` grows this old for real. Long enough that the FRESH temp
 * written after the wait stays younger while a loaded machine starts blitd and blit.
 */
const STALE_MS = 5000;
const STALE_ENV: NodeJS.ProcessEnv = { ...CLI_ENV, BLIT_TEST_STALE_TEMP_MS: String(STALE_MS) };

/** Waits until `file` (a temp of the killed run) was last changed STALE_MS ago. */
async function age(file: string): Promise<void> {
  const st = fs.statSync(file);
  await sleep(Math.max(0, Math.max(st.mtimeMs, st.ctimeMs) + STALE_MS + 100 - Date.now()));
}

describe('remote: temps left by a receiver SIGKILLed mid-transfer (hunt-remote2)', function () {
  this.timeout(120_000);
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => (tmp = tempDir('blit-hunt-temps-')));
  afterEach(() => tmp.cleanup());

  it('push: blitd killed mid-file; the next push removes its stale temp, not a fresh one', async () => {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    const src = path.join(tmp.dir, 'src');
    writeTree(src, { 'big.bin': Buffer.alloc(40 << 20, 3), 'a.txt': 'a' });
    fs.mkdirSync(mod);
    const dst = path.join(mod, 'd');
    let daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV });
    let stale = '';
    const out = await runStoppedAt([process.execPath, BLIT, 'copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`], {
      calls: 'sendfile',
      env: { ...process.env, ...CLI_ENV },
      timeoutMs: 100_000,
      onFirstStop: async () => {
        stale = await waitForTemp(dst, () => daemon.stderr());
        daemon.proc.kill('SIGKILL');
        await daemon.stop();
      },
    });
    assert.notEqual(out.code, 0, out.stderr);
    assert.deepEqual(tempFilesIn(dst), [stale], 'SIGKILL leaves the temp');
    await age(stale);
    fs.writeFileSync(path.join(dst, FRESH), 'live');
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: STALE_ENV });
    try {
      const again = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`], { env: CLI_ENV });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(tempFilesIn(dst), [path.join(dst, FRESH)], 'the stale temp is removed, the fresh one kept');
      assert.equal(fs.statSync(path.join(dst, 'big.bin')).size, 40 << 20);
      // A mirror never lists or deletes the fresh temp as an extra (kept fresh: the copy may have
      // taken longer than STALE_MS on a loaded machine).
      fs.writeFileSync(path.join(dst, FRESH), 'live');
      const m = await runBlit(['mirror', '--yes', '--json', `${src}/`, `127.0.0.1:${daemon.port}:/default/d/`], { env: CLI_ENV });
      assert.equal(m.code, 0, m.stderr);
      assert.deepEqual(tempFilesIn(dst), [path.join(dst, FRESH)]);
    } finally {
      await daemon.stop();
    }
  });

  it('pull: blit killed mid-file; the next pull removes its stale temp, not a fresh one', async () => {
    needStrace();
    const mod = path.join(tmp.dir, 'module');
    writeTree(path.join(mod, 'v'), { 'big.bin': Buffer.alloc(40 << 20, 4), 'a.txt': 'a' });
    const trace = path.join(tmp.dir, 'trace');
    const held = await startDaemon(['--port', '0', '--root', mod, '--data-streams', '1'], {
      env: CLI_ENV,
      wrap: stopAtWrap(trace, 'sendfile'),
    });
    const dst = path.join(tmp.dir, 'dst');
    let stale: string;
    try {
      const pull = runBlit(['copy', `127.0.0.1:${held.port}:/default/v/`, dst], { env: CLI_ENV, timeoutMs: 90_000 });
      await waitStopped(trace, 60_000, 'blitd to stop at sendfile');
      stale = await waitForTemp(dst, () => held.stderr());
      // runBlit's child is blit itself: find it by its command line (pull to this dst).
      for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        const cmd = readOr(`/proc/${p}/cmdline`).split('\0');
        if (cmd.includes(BLIT) && cmd.includes(dst)) process.kill(Number(p), 'SIGKILL');
      }
      const out = await pull;
      assert.notEqual(out.code, 0, out.stderr);
    } finally {
      await releaseTraced(held); // still stopped at its sendfile
    }
    assert.deepEqual(tempFilesIn(dst), [stale], 'SIGKILL leaves the temp');
    await age(stale);
    fs.writeFileSync(path.join(dst, FRESH), 'live');
    const daemon = await startDaemon(['--port', '0', '--root', mod], { env: CLI_ENV });
    try {
      const again = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/v/`, dst], { env: STALE_ENV });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(tempFilesIn(dst), [path.join(dst, FRESH)], 'the stale temp is removed, the fresh one kept');
      assert.equal(fs.statSync(path.join(dst, 'big.bin')).size, 40 << 20);
    } finally {
      await daemon.stop();
    }
  });
});
