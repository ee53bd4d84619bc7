/**
 * A receiver boots a stream worker ahead for each expected big file (recv-handover.ts
 * prewarmStreamWorkers), for the TCP data plane's hand-over. Data over gRPC has no stream to hand
 * over: blitd must not boot one there (it would wait idle in the daemon until a later TCP push).
 * Counted as blitd's threads (/proc/PID/task): a booted worker is one more thread.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HANDOVER_MIN } from '../../src/remote/data-receiver';
import { moduleFixture } from './module-fixture';

const threadsOf = (pid: number): number => fs.readdirSync(`/proc/${pid}/task`).length;

describe('data over gRPC: no stream worker booted ahead for a big file', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-grpc-spare-');

  it('a forced-gRPC push of a big file leaves blitd with the threads it had', async () => {
    const d = await fx.start();
    const pid = d.proc.pid!;
    const src = path.join(fx.dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'small'), 'warm-up');
    // A first push over gRPC starts what any push starts (libuv's pool, ...), no big file.
    const warm = await fx.blit(['copy', '--force-grpc-data', path.join(src, 'small'), fx.remote('small')]);
    assert.equal(warm.code, 0, warm.stderr);
    const before = threadsOf(pid);
    const big = crypto.randomBytes(HANDOVER_MIN + 1024);
    fs.writeFileSync(path.join(src, 'big'), big);
    const res = await fx.blit(['copy', '--force-grpc-data', path.join(src, 'big'), fx.remote('big')]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(fs.readFileSync(path.join(fx.moduleDir, 'big')).equals(big), 'exact');
    assert.equal(threadsOf(pid), before, 'no idle stream worker left in blitd');
  });
});
