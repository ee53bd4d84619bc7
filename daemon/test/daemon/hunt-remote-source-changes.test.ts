/**
 * Source files that change or vanish while they are sent over the TCP data plane (hunt-remote).
 * Deterministic: strace stops the sender (blit on a push, blitd on a pull) at its first
 * sendfile(2), and the source is changed meanwhile.
 * - A file that shrinks while the sendfile worker is inside a DATA frame: the frame was left
 *   short, the receiver read the FILE_ERROR and everything after it as payload, and the whole
 *   push failed with "data stream closed before its end" (exit 1), not that file alone.
 * - Files gone before blitd's worker opened them (pull): nothing of them went on the stream and
 *   the client only said "the sender never sent this file [IoError]"; now the daemon's reason
 *   travels on the control stream ("cannot read: no such file or directory (ENOENT)").
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, runBlit, startDaemon, writeTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { jsonSummary, tempFilesIn } from './transfer-helpers';
import { releaseTraced, runStoppedAt, stopAtWrap, tracedPid, waitStopped } from '../strace-stops';
import { needStrace } from '../need-strace';

describe('remote: a source file that shrinks mid-frame on the TCP data plane (hunt-remote)', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-hunt-changes-');

  it('push: the file fails alone as SourceChanged (exit 2), the others land, no temp left', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    // 40 MiB: three DATA frames of at most 16 MiB, so a sendfile follows the stop whatever the
    // first call sent; the header of the frame it serves is already on the wire.
    const big = Buffer.alloc(40 << 20, 7);
    writeTree(src, { 'a.txt': 'a', 'big.bin': big, 'sub/b.txt': 'b' });
    const bigPath = path.join(src, 'big.bin');
    const out = await runStoppedAt([process.execPath, BLIT, 'copy', '--json', `${src}/`, fx.remote('dst/')], {
      calls: 'sendfile',
      env: { ...process.env, ...CLI_ENV },
      timeoutMs: 100_000,
      onFirstStop: () => fs.truncateSync(bigPath, 1000),
    });
    const what = `exit ${out.code}, ${out.stops} stop(s)\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
    assert.ok(out.stops >= 1, `blit never called sendfile: ${what}`);
    assert.equal(out.code, 2, what);
    assert.match(out.stderr, /big\.bin: the file changed while it was being sent \[SourceChanged\]/, what);
    assert.doesNotMatch(out.stderr, /data stream closed|BadFrame/, what);
    assert.equal(jsonSummary(out.stdout).tcpDataPlane, true, what);
    const dst = path.join(fx.moduleDir, 'dst');
    assert.deepEqual(fs.readdirSync(dst).sort(), ['a.txt', 'sub'], what);
    assert.equal(fs.readFileSync(path.join(dst, 'sub/b.txt'), 'utf8'), 'b');
    assert.deepEqual(tempFilesIn(dst), []);
    // The daemon serves the next transfer: the now stable file goes over.
    const again = await fx.blit(['copy', `${src}/`, fx.remote('dst/')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(fs.statSync(path.join(dst, 'big.bin')).size, 1000);
  });

  it('pull: files gone before blitd read them fail with the reason (SourceNotFound, exit 2), not "never sent"', async () => {
    needStrace();
    const v = path.join(fx.moduleDir, 'v');
    // One data stream: `a` (a worker's sendfile) goes before the files in sub/ on it.
    writeTree(v, { a: Buffer.alloc(24 << 20, 5), 'sub/m.bin': Buffer.alloc(300 << 10, 1), 'sub/s.txt': 's' });
    const trace = path.join(fx.dir, 'trace');
    const daemon = await startDaemon(['--port', '0', '--root', fx.moduleDir, '--data-streams', '1'], {
      env: CLI_ENV,
      wrap: stopAtWrap(trace, 'sendfile'),
    });
    try {
      const dst = path.join(fx.dir, 'dst');
      const pull = runBlit(['copy', '--json', `127.0.0.1:${daemon.port}:/default/v/`, dst], { env: CLI_ENV, timeoutMs: 90_000 });
      // blitd stopped at its first sendfile: the files after `a` on the stream are removed.
      await waitStopped(trace, 60_000, 'blitd to stop at sendfile');
      fs.rmSync(path.join(v, 'sub/m.bin'));
      fs.rmSync(path.join(v, 'sub/s.txt'));
      process.kill(tracedPid(daemon.proc.pid!), 'SIGCONT');
      const out = await pull;
      const what = `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- blitd\n${daemon.stderr()}`;
      assert.equal(out.code, 2, what);
      for (const f of ['sub/m.bin', 'sub/s.txt']) {
        assert.match(out.stderr, new RegExp(`${f.replace('.', '\\.')}: sender: cannot read: no such file or directory \\(ENOENT\\) \\[SourceNotFound\\]`), what);
      }
      assert.doesNotMatch(out.stderr, /never sent|BadFrame|\/proc\/self/, what);
      assert.equal(jsonSummary(out.stdout).tcpDataPlane, true, what);
      assert.equal(fs.statSync(path.join(dst, 'a')).size, 24 << 20);
      assert.deepEqual(fs.readdirSync(path.join(dst, 'sub')), [], what);
      assert.deepEqual(tempFilesIn(dst), []);
    } finally {
      await releaseTraced(daemon);
    }
  });
});
