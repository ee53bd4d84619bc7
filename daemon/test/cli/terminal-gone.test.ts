/**
 * blit's terminal goes away during a copy: the pty's master is closed while the progress display
 * draws, so every later write to the terminal (frames, the summary) fails with EIO. The copy must
 * go to its end (destination complete, byte for byte, no temp file) and blit must exit as
 * cli/stdio.ts says for lost output: 74, not a crash.
 *
 * A python3 driver is the terminal (os.openpty): blit runs in its own session with the pty's slave
 * as stdin, stdout and stderr and without it as controlling terminal (as a job started with `&` and
 * `disown`, or under a multiplexer that lost its client), so the hang-up reaches it as EIO, not
 * SIGHUP. strace holds the open of one big source file (delay_enter) so that the copy cannot end
 * before the close, whatever the machine's speed; the display keeps drawing meanwhile (the open runs
 * off the main thread). The driver closes the master at the first frame it sees and records whether
 * the held open had returned by then (it must not have: that proves the copy was still running).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT_BIN, cleanupTemp, tempDir, writeTree } from './harness';
import { needStrace } from '../need-strace';

const DRIVER = String.raw`
import fcntl, json, os, re, select, struct, subprocess, sys, termios, time
cfg = json.loads(sys.argv[1])
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
cmd = ['strace', '-f', '-qq', '-o', cfg['trace'], '-P', cfg['hold'], '-e', 'trace=open,openat',
       '-e', 'inject=open,openat:delay_enter=%d' % cfg['holdUs'], '--'] + cfg['argv']
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=dict(os.environ, TERM='xterm'))
os.close(slave)
screen = b''
frame = re.compile(rb'\] \d+/\d+\+? files')
end = time.monotonic() + 40
while not frame.search(screen) and time.monotonic() < end and p.poll() is None:
    if select.select([master], [], [], 0.05)[0]:
        try:
            screen += os.read(master, 65536)
        except OSError:
            break
trace = open(cfg['trace']).read() if os.path.exists(cfg['trace']) else ''
held_open_returned = re.search(r'\) += ', trace) is not None
os.close(master)
code = p.wait()
print(json.dumps({'code': code, 'screen': screen.decode('utf8', 'replace'), 'framed': frame.search(screen) is not None, 'heldOpenReturned': held_open_returned, 'trace': trace}))
`;

interface DriverResult {
  code: number;
  screen: string;
  framed: boolean;
  heldOpenReturned: boolean;
  trace: string;
}

function filesUnder(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((n) => fs.statSync(path.join(root, n)).isFile()).sort();
}

describe('cli: the terminal goes away during a copy', function () {
  this.timeout(90_000);
  afterEach(cleanupTemp);

  it('EIO on the terminal while the progress display draws: the copy goes to its end, exit 74 (not a crash)', () => {
    needStrace();
    const py = spawnSync('python3', ['--version'], { encoding: 'utf8' });
    if (py.error || py.status !== 0) throw new Error(`this test needs python3 (scripts/setup-deps.sh installs it): ${py.error?.message ?? py.stderr}`);
    const src = tempDir('gone-src');
    const dst = tempDir('gone-dst');
    const work = tempDir('gone-work');
    const files: Record<string, Buffer> = { 'big.bin': crypto.randomBytes(16 * 1024 * 1024) };
    for (let i = 0; i < 40; i++) files[`small/f${i}.txt`] = crypto.randomBytes(1000 + i);
    writeTree(src, files);
    fs.writeFileSync(path.join(work, 'driver.py'), DRIVER);
    const cfg = {
      trace: path.join(work, 'trace'),
      hold: path.join(src, 'big.bin'),
      holdUs: 4_000_000,
      argv: [process.execPath, BLIT_BIN, 'copy', `${src}/`, dst],
    };
    const run = spawnSync('python3', [path.join(work, 'driver.py'), JSON.stringify(cfg)], {
      encoding: 'utf8',
      env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' },
      timeout: 80_000,
    });
    assert.equal(run.status, 0, `driver failed: ${run.error?.message ?? ''}\n${run.stderr}`);
    const r = JSON.parse(run.stdout) as DriverResult;
    const about = `exit ${r.code}\n--- terminal before the close\n${JSON.stringify(r.screen)}\n--- trace\n${r.trace}`;
    assert.ok(r.framed, `the progress display drew no frame before the close\n${about}`);
    assert.equal(r.heldOpenReturned, false, `big.bin was already open when the terminal went away: the close did not fall inside the copy\n${about}`);
    // Node's exit hook (ResetStdio) aborted on the hung-up terminal: -6 (SIGABRT) before the fix.
    assert.equal(r.code, 74, `blit must exit 74 (output lost), the copy done\n${about}`);
    assert.deepEqual(filesUnder(dst), Object.keys(files).sort(), 'every file under its real name, no temp file');
    for (const [rel, content] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(dst, rel)).equals(content), `${rel} differs`);
  });
});
