/**
 * A source file that changes while it is sent over the TCP data plane (hunt-remote): the file
 * shrinks while the sendfile worker is inside a DATA frame. Before the fix the frame was left
 * short, the receiver read the FILE_ERROR and everything after it as payload, and the whole push
 * failed with "data stream closed before its end" (exit 1) instead of failing that file alone.
 * Deterministic: strace stops blit at its first sendfile(2) and the file is truncated meanwhile.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, writeTree } from './harness';
import { CLI_ENV, moduleFixture } from './module-fixture';
import { jsonSummary, tempFilesIn } from './transfer-helpers';
import { runStoppedAt } from '../strace-stops';

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
});
