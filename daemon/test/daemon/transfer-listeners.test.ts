/**
 * A pull (and a push) of many files must not leak abort listeners: each used to add a listener
 * per file or stream to one AbortSignal, which Node reports as MaxListenersExceededWarning on
 * stderr. Real blitd, real blit, loopback.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, tempDir, type Daemon } from './harness';

describe('remote transfers of many files leak no abort listeners', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon;
  let src: string;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-listeners-');
    const moduleDir = path.join(tmp.dir, 'module');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(moduleDir);
    // 60 files in 12 directories, two of them big enough (> 256 KiB) to take the streamed path.
    for (let d = 0; d < 12; d++) {
      fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 5; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(f + 1));
    }
    fs.writeFileSync(path.join(src, 'big1.bin'), Buffer.alloc(400_000, 1));
    fs.writeFileSync(path.join(src, 'big2.bin'), Buffer.alloc(300_000, 2));
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    assert.doesNotMatch(log, /MaxListenersExceededWarning/);
  });

  it('push then pull of 62 files print no MaxListenersExceededWarning', async () => {
    const remote = `127.0.0.1:${daemon.port}:/default/many`;
    const push = await runBlit(['copy', `${src}/`, `${remote}/`, '--json'], { env });
    assert.equal(push.code, 0, push.stderr);
    assert.doesNotMatch(push.stderr, /MaxListenersExceededWarning/);
    const back = path.join(tmp.dir, 'back');
    const pull = await runBlit(['copy', `${remote}/`, `${back}/`, '--json'], { env });
    assert.equal(pull.code, 0, pull.stderr);
    assert.doesNotMatch(pull.stderr, /MaxListenersExceededWarning/);
    assert.equal(fs.readFileSync(path.join(back, 'd11/f4.txt'), 'utf8'), 'file 11/4\n'.repeat(5));
    assert.deepEqual(fs.readFileSync(path.join(back, 'big1.bin')), Buffer.alloc(400_000, 1));
  });

  it('twelve more pulls and pushes leave no listener behind on the daemon (its shutdown signal outlives every call)', async () => {
    // Node warns at the 11th listener on one signal; the daemon's stderr is checked in after().
    const remote = `127.0.0.1:${daemon.port}:/default/many`;
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([
        runBlit(['copy', `${remote}/`, path.join(tmp.dir, `back-${round}-a`) + '/'], { env }),
        runBlit(['copy', `${remote}/`, path.join(tmp.dir, `back-${round}-b`) + '/'], { env }),
        runBlit(['copy', `${src}/`, `${remote}-${round}/`], { env }),
        runBlit(['copy', `${src}/`, `${remote}-${round}b/`], { env }),
      ]);
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning/);
      }
    }
    assert.doesNotMatch(daemon.stderr(), /MaxListenersExceededWarning/);
  });
});
