/**
 * Worker thread bootstrap: receives batches of file tasks, runs them (copy-task.ts), replies
 * with one message per batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initChecksum } from './checksum';
import { createBatchRunner } from './copy-task';
import type { BatchReply, BatchRequest, ExitRequest, WorkerInit } from './worker-protocol';
import { isExitRequest } from './worker-exit';

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  if (init.needHash) await initChecksum();
  const runBatch = createBatchRunner(init);
  parentPort!.on('message', (req: BatchRequest | ExitRequest) => {
    // Exit from JS, between batches: never inside a native call (see WorkerPool.close).
    if (isExitRequest(req)) process.exit(0);
    const reply: BatchReply = { batch: req.batch, ...runBatch(req.tasks, req.flushRemovals) };
    parentPort!.postMessage(reply);
  });
  parentPort!.postMessage({ ready: true });
}

void main();
