/**
 * FatalLatch: waits end at once when the session fails, and a settled wait keeps nothing alive
 * (the earlier Promise.race version retained every awaited message: 1.1 GB RSS on a 1 GiB pull).
 */
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { BlitError } from '../../src/engine/errors';
import { FatalLatch } from '../../src/remote/call-io';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('remote call-io: FatalLatch', () => {
  it('a pending wait rejects as soon as the session fails, later waits reject at once', async () => {
    const latch = new FatalLatch();
    const never = new Promise<number>(() => undefined);
    const waiting = latch.race(never);
    latch.fail(new BlitError({ code: 'BadFrame', message: 'boom' }));
    await assert.rejects(waiting, /boom/);
    await assert.rejects(latch.race(Promise.resolve(1)), /boom/);
  });

  it('does not retain the values of settled waits', async () => {
    const latch = new FatalLatch();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 20; i++) {
      const msg = { data: Buffer.alloc(1024 * 1024, i) };
      refs.push(new WeakRef(msg));
      assert.equal((await latch.race(Promise.resolve(msg))).data[0], i);
    }
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.ok(alive <= 1, `${alive} of 20 awaited messages still alive`);
  });
});
