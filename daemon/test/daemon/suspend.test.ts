/**
 * A transfer survives either side being suspended mid-transfer (Ctrl-Z on blit, a laptop asleep,
 * blitd under a debugger or in a paused VM) for longer than the old keepalive window: real blitd,
 * real blit, the suspended side stopped with SIGSTOP for STOP_MS, then SIGCONT. Before
 * 2026-11-21 both sides pinged every 30 s and dropped the connection after 10 s without an answer:
 * every one of these transfers failed with `14 UNAVAILABLE: Connection dropped` (DEVLOG susp).
 *
 * The stops are deterministic, not timed: blit runs under strace (../strace-stops.ts), which stops
 * it (SIGSTOP injected) at a chosen system call mid-transfer, big.bin not yet sent. To suspend
 * blitd instead, the test stops blitd while blit is held, then lets blit go. The four scenarios run
 * at once (one daemon each): the suite pays one STOP_MS, not four.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, startDaemon, stopped, tempDir, type Daemon } from './harness';
import { jsonSummary, tempFilesIn } from './transfer-helpers';
import { needStrace } from '../need-strace';
import { runStoppedAt, type StoppedRun } from '../strace-stops';

/** Longer than the old window (a ping every 30 s, dropped 10 s later without an answer). */
const STOP_MS = 50_000;
const ENV = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Side = 'client' | 'daemon';

describe('a transfer survives a suspended side (SIGSTOP longer than the old keepalive window)', function () {
  this.timeout(STOP_MS + 120_000);
  let t: { dir: string; cleanup: () => void };
  let src: string;
  const daemons: Daemon[] = [];
  const results = new Map<string, Promise<{ out: StoppedRun; dst: string; log: () => string }>>();

  before(function () {
    needStrace();
    t = tempDir('blit-suspend-');
    src = path.join(t.dir, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'big.bin'), crypto.randomBytes(24 * 1024 * 1024));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.txt`), crypto.randomBytes(1000 + i * 777));
    // All four at once; each `it` awaits its own.
    for (const dir of ['push', 'pull'] as const) {
      for (const side of ['client', 'daemon'] as const) {
        const p = scenario(dir, side);
        p.catch(() => undefined);
        results.set(`${dir}/${side}`, p);
      }
    }
  });

  after(async () => {
    for (const daemon of daemons) {
      if (daemon.proc.exitCode === null) process.kill(daemon.proc.pid!, 'SIGCONT');
      await daemon.stop();
    }
    t?.cleanup();
  });

  /**
   * One transfer of `src` with `side` suspended for STOP_MS while it runs. blit runs under strace
   * and is held mid-transfer, the TCP data plane connected: in a push when it opens big.bin to send
   * it (it opens `SRC/./big.bin`), in a pull at its first pwrite64 (big.bin is written with
   * pwrite64: it cannot be complete yet, and the daemon cannot finish sending it).
   * The suspended side is either blit itself (held STOP_MS), or blitd: stopped then, blit let go,
   * blitd resumed STOP_MS later.
   */
  async function scenario(dir: 'push' | 'pull', side: Side): Promise<{ out: StoppedRun; dst: string; log: () => string }> {
    const base = path.join(t.dir, `${dir}-${side}`);
    const moduleDir = path.join(base, 'module');
    fs.mkdirSync(moduleDir, { recursive: true });
    if (dir === 'pull') fs.cpSync(src, path.join(moduleDir, 'src'), { recursive: true });
    const daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env: ENV });
    daemons.push(daemon);
    const daemonPid = daemon.proc.pid!;
    const remote = `127.0.0.1:${daemon.port}:/default/`;
    const dst = dir === 'push' ? path.join(moduleDir, 'dst') : path.join(base, 'dst');
    const args = dir === 'push' ? ['copy', `${src}/`, `${remote}dst`, '--json'] : ['copy', `${remote}src/`, dst, '--json'];
    // push: when blit opens big.bin to send it (as `SRC/./big.bin`); pull: at its first pwrite64
    const paths = dir === 'push' ? [path.join(src, 'big.bin'), `${src}/./big.bin`] : [];
    const calls = dir === 'push' ? 'open,openat' : 'pwrite64';
    const suspend = async (): Promise<void> => {
      if (side === 'client') return sleep(STOP_MS);
      await stopped(daemonPid);
      setTimeout(() => process.kill(daemonPid, 'SIGCONT'), STOP_MS);
    };
    const out = await runStoppedAt([process.execPath, BLIT, ...args], {
      calls, paths, env: { ...process.env, ...ENV }, timeoutMs: STOP_MS + 110_000, onFirstStop: suspend,
    });
    return { out, dst, log: () => daemon.stderr() };
  }

  /** Byte-identical tree, exit 0, no temp file left, over the TCP data plane. */
  async function check(key: string): Promise<void> {
    const { out, dst, log } = await results.get(key)!;
    const what = `${key}: exit ${out.code}, ${out.stops} stop(s)\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${log()}`;
    assert.ok(out.stops >= 1, `the sender never opened big.bin: ${what}`);
    assert.equal(out.code, 0, what);
    const summary = jsonSummary(out.stdout);
    assert.equal(summary.tcpDataPlane, true, what);
    const files = ['big.bin', ...Array.from({ length: 20 }, (_, i) => `sub/f${i}.txt`)];
    for (const f of files) assert.ok(fs.readFileSync(path.join(dst, f)).equals(fs.readFileSync(path.join(src, f))), `${key}: ${f} differs`);
    assert.deepEqual(fs.readdirSync(dst).sort(), ['big.bin', 'sub']);
    assert.equal(fs.readdirSync(path.join(dst, 'sub')).length, 20);
    assert.deepEqual(tempFilesIn(dst), []);
  }

  it('push, blit suspended while it sends', () => check('push/client'));
  it('push, blitd suspended while it receives', () => check('push/daemon'));
  it('pull, blit suspended while it receives', () => check('pull/client'));
  it('pull, blitd suspended while it sends', () => check('pull/daemon'));
});
