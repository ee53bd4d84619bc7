/**
 * SIGHUP (the terminal or ssh session blit runs in went away) cancels a run like Ctrl-C: exit 1
 * [Cancelled], no `.blit.` temp file left on either side, no partial file under a real name.
 * Before, blit had no handler: Node's default ended it at once and its temps stayed. blitd
 * treats SIGHUP like SIGTERM: running transfers cancel cleanly (temps removed), exit 0.
 *
 * A python3 driver runs blit under strace, which slows each data read of the source (delay_exit:
 * the copy cannot end before the hang-up, whatever the machine's speed), in its own session with a
 * pty as controlling terminal (`setsid -c`: blit is the session leader, as a shell's job is for
 * the kernel's hang-up). Once a `.blit.` temp shows in the watched directory, the driver hangs up:
 * it closes the pty's master (the kernel sends SIGHUP to blit), or sends SIGHUP to a given process
 * (blit itself, or blitd).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT_BIN, cleanupTemp, listTree, tempDir, tempLeftovers } from './harness';
import { needStrace } from '../need-strace';
import { startDaemon, waitFor, type Daemon } from '../daemon/harness';

const DRIVER = String.raw`
import json, os, select, signal, subprocess, sys, time
cfg = json.loads(sys.argv[1])
master, slave = os.openpty()
cmd = ['strace', '-f', '-qq', '-o', cfg['trace'], '-P', cfg['hold'], '-e', 'trace=' + cfg['syscalls'],
       '-e', 'inject=%s:delay_exit=%d:when=%s' % (cfg['syscalls'], cfg['delayUs'], cfg['when']), '--',
       'setsid', '-c'] + cfg['argv']
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
os.close(slave)
screen = b''
def drain(t):
    global screen
    if select.select([master], [], [], t)[0]:
        try:
            screen += os.read(master, 65536)
        except OSError:
            pass
def temps():
    try:
        return [n for n in os.listdir(cfg['watch']) if n.startswith('.blit.')]
    except OSError:
        return []
end = time.monotonic() + 40
saw = []
while time.monotonic() < end and p.poll() is None and not saw:
    drain(0.01)
    saw = temps()
hung = False
if saw and p.poll() is None:
    if cfg['hangup'] == 'pty':
        os.close(master)
        master = None
    else:
        pid = cfg['hangup']
        if pid == 'blit':
            pid = int(open('/proc/%d/task/%d/children' % (p.pid, p.pid)).read().split()[0])
        os.kill(pid, signal.SIGHUP)
    hung = True
while master is not None and p.poll() is None:
    drain(0.05)
code = p.wait()
if master is not None:
    drain(0.1)
print(json.dumps({'code': code, 'sawTemp': saw, 'hung': hung, 'screen': screen.decode('utf8', 'replace'), 'trace': open(cfg['trace']).read()[-4000:]}))
`;

interface DriverResult {
  code: number;
  sawTemp: string[];
  hung: boolean;
  screen: string;
  trace: string;
}

/** A file of `mib` MiB (one random MiB repeated: the copy's speed does not depend on content). */
function bigFile(p: string, mib: number): Buffer {
  const block = crypto.randomBytes(1024 * 1024);
  const fd = fs.openSync(p, 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  return block;
}

function drive(cfg: { argv: string[]; hold: string; watch: string; hangup: 'pty' | 'blit' | number; syscalls: string; delayUs: number; when: string }): DriverResult {
  needStrace();
  for (const tool of ['python3', 'setsid']) {
    const r = spawnSync(tool, [tool === 'python3' ? '--version' : '-V'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`this test needs ${tool} (scripts/setup-deps.sh installs python3; setsid is util-linux): ${r.error?.message ?? r.stderr}`);
  }
  const work = tempDir('hup-work');
  fs.writeFileSync(path.join(work, 'driver.py'), DRIVER);
  const run = spawnSync('python3', [path.join(work, 'driver.py'), JSON.stringify({ ...cfg, trace: path.join(work, 'trace') })], {
    encoding: 'utf8',
    env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' },
    timeout: 80_000,
  });
  assert.equal(run.status, 0, `driver failed: ${run.error?.message ?? ''}\n${run.stderr}`);
  const r = JSON.parse(run.stdout) as DriverResult;
  const about = `exit ${r.code}\n--- terminal\n${r.screen}\n--- trace (end)\n${r.trace}`;
  assert.ok(r.sawTemp.length > 0 && r.hung, `no .blit. temp showed in ${cfg.watch} while blit ran: the hang-up did not fall inside the copy\n${about}`);
  return r;
}

/** Waits (bounded) until `dir` holds no `.blit.` temp; returns what is left. */
async function tempsGone(dir: string, ms = 20_000): Promise<string[]> {
  await waitFor(() => tempLeftovers(dir).length === 0, ms, `no temp in ${dir}`).catch(() => undefined);
  return tempLeftovers(dir);
}

describe('cli: SIGHUP (the terminal went away) cancels cleanly; blitd stops cleanly on SIGHUP', function () {
  this.timeout(120_000);
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    cleanupTemp();
  });

  // Local: copy_file_range in 64 MiB chunks, each held 1 s: 4 s for 256 MiB unless cancelled.
  const LOCAL = { syscalls: 'copy_file_range,sendfile,pread64,read', delayUs: 1_000_000, when: '1+' };

  it('local copy, the pty hangs up: exit 1 [Cancelled], no temp, no partial file', () => {
    const src = tempDir('hup-src');
    const dst = tempDir('hup-dst');
    bigFile(path.join(src, 'big.bin'), 256);
    const r = drive({ ...LOCAL, argv: [process.execPath, BLIT_BIN, 'copy', path.join(src, 'big.bin'), path.join(dst, 'big.bin')], hold: path.join(src, 'big.bin'), watch: dst, hangup: 'pty' });
    // Before the fix the hang-up killed blit (the driver saw -1: strace ended by the same SIGHUP).
    assert.equal(r.code, 1, `blit must cancel (exit 1), not die of the hang-up\nexit ${r.code}\n${r.screen}`);
    assert.deepEqual(listTree(dst), [], 'no temp file, no partial file under the real name');
  });

  it('local copy, SIGHUP sent to blit: exit 1, [Cancelled] named, no temp, no partial file', () => {
    const src = tempDir('hup-src');
    const dst = tempDir('hup-dst');
    bigFile(path.join(src, 'big.bin'), 256);
    const r = drive({ ...LOCAL, argv: [process.execPath, BLIT_BIN, 'copy', path.join(src, 'big.bin'), path.join(dst, 'big.bin')], hold: path.join(src, 'big.bin'), watch: dst, hangup: 'blit' });
    assert.equal(r.code, 1, `exit ${r.code}\n${r.screen}`);
    assert.match(r.screen, /SIGHUP: cancelling/);
    assert.match(r.screen, /\[Cancelled\]/);
    assert.deepEqual(listTree(dst), []);
  });

  // Push: the client reads the source with pread64 (1 MiB each, several threads); from each
  // thread's second read on, each is held 200 ms: several seconds for 128 MiB unless cancelled.
  const PUSH = { syscalls: 'pread64,read,sendfile,copy_file_range', delayUs: 200_000, when: '2+' };

  it('push to blitd, the pty hangs up: blit exits 1, blitd removes its temp, nothing under the real name', async () => {
    const src = tempDir('hup-src');
    const mod = tempDir('hup-mod');
    bigFile(path.join(src, 'big.bin'), 128);
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: { BLIT_FORCE_GRPC_DATA: '' } });
    const r = drive({ ...PUSH, argv: [process.execPath, BLIT_BIN, 'copy', path.join(src, 'big.bin'), `127.0.0.1:${daemon.port}:/default/big.bin`], hold: path.join(src, 'big.bin'), watch: mod, hangup: 'pty' });
    assert.equal(r.code, 1, `exit ${r.code}\n${r.screen}`);
    assert.deepEqual(await tempsGone(mod), [], 'blitd removed the push temp');
    assert.deepEqual(listTree(mod), []);
    assert.doesNotMatch(daemon.stderr(), /unhandled error|uncaught/i);
  });

  it('blitd gets SIGHUP during a push: it cancels the push cleanly (temp removed) and exits 0', async () => {
    const src = tempDir('hup-src');
    const mod = tempDir('hup-mod');
    bigFile(path.join(src, 'big.bin'), 128);
    daemon = await startDaemon(['--port', '0', '--root', mod], { env: { BLIT_FORCE_GRPC_DATA: '' } });
    const exited = new Promise<number | string>((resolve) => daemon!.proc.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
    const r = drive({ ...PUSH, argv: [process.execPath, BLIT_BIN, 'copy', path.join(src, 'big.bin'), `127.0.0.1:${daemon.port}:/default/big.bin`], hold: path.join(src, 'big.bin'), watch: mod, hangup: daemon.proc.pid! });
    // Before: blitd died of SIGHUP (exit state 'SIGHUP') and left its temp.
    assert.equal(await exited, 0, daemon.stderr());
    assert.match(daemon.stderr(), /shutting down.*SIGHUP/);
    assert.deepEqual(listTree(mod), [], 'no temp, no partial file under the real name');
    assert.notEqual(r.code, 0, 'the push did not claim success');
    assert.doesNotMatch(r.screen, /^copied /m);
  });
});
