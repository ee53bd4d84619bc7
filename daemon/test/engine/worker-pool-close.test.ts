/**
 * WorkerPool.close ends copy workers by asking them to exit between batches. terminate() lands
 * wherever a thread is; inside an ffi-rs call (a worker still loading the native library) the
 * pending termination made ffi-rs panic and abort blit (seen once under load, DEVLOG h41-gaps).
 * A worker that exits when asked ends with code 0; a terminated one with 1.
 */
import * as assert from 'node:assert/strict';
import { defaultMetaOptions } from '../../src/engine/metadata';
import type { CopyPrimitive } from '../../src/engine/types';
import { WorkerPool, type PoolOptions } from '../../src/engine/worker-pool';

function poolOptions(workers: number): PoolOptions {
  return {
    workers,
    meta: defaultMetaOptions(),
    order: ['readwrite'] as CopyPrimitive[],
    needHash: false,
    onResults: () => undefined,
    onWorkerError: (err) => assert.fail(`a worker failed: ${err.message}`),
  };
}

describe('engine: WorkerPool.close', function () {
  this.timeout(60_000);

  it('asks its workers to exit (code 0) at any moment of their start, never terminates them (code 1)', async () => {
    // The delays only vary where the threads are when close() comes (not started, loading
    // modules and the native library, idle); terminate() gives 1 from ~50 ms on here.
    for (const delayMs of [0, 5, 20, 50, 100, 300, 1000]) {
      const pool = new WorkerPool(poolOptions(3));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      assert.deepEqual(await pool.close(), [0, 0, 0], `close after ${delayMs} ms`);
    }
  });
});
