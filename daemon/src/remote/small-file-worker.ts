/**
 * Worker thread of the small-file writer (small-writer.ts): writes each batch of received small
 * files (small-file-batch.ts) and answers with one message per batch, handing the batch's
 * buffers back for reuse.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runSmallBatch, type SmallBatchRequest, type SmallWorkerInit } from './small-file-batch';
import { isExitRequest, type ExitRequest } from '../engine/worker-exit';

const init = workerData as SmallWorkerInit;
parentPort!.on('message', (req: SmallBatchRequest | ExitRequest) => {
  if (isExitRequest(req)) process.exit(0); // SmallFileWriter.close: between batches, from JS
  const reply = runSmallBatch(req, init.meta, init.beneath);
  parentPort!.postMessage(reply, [req.bytes, req.meta.buffer as ArrayBuffer]);
});
parentPort!.postMessage({ ready: true });
