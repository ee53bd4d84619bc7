/** The engine calls the bindings from worker_threads: each thread loads its own ffi-rs state. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { makeTempDir, randomBytes } from './helpers';

const indexPath = path.resolve(__dirname, '..', 'src', 'index.js');

// Runs inside the worker: copy a file with copy_file_range and set its mtime with futimens.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const native = require(workerData.indexPath);
const fin = fs.openSync(workerData.src, 'r');
const fout = fs.openSync(workerData.dst, 'w');
let off = 0, n;
while ((n = native.copyFileRange(fin, off, fout, off, 1 << 20)) > 0) off += n;
native.futimens(fout, workerData.mtimeNs, workerData.mtimeNs);
fs.closeSync(fin);
fs.closeSync(fout);
parentPort.postMessage({ nativeAvailable: native.nativeAvailable, copied: off });
`;

function runWorker(data: Record<string, unknown>): Promise<{ nativeAvailable: boolean; copied: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: data });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

describe('native: inside worker_threads', () => {
  it('two workers at once each load the bindings and copy exact bytes', async () => {
    const tmp = makeTempDir('worker');
    try {
      const jobs = [0, 1].map((i) => {
        const data = randomBytes(200 * 1024 + i);
        const src = tmp.file(`src${i}`);
        fs.writeFileSync(src, data);
        return { data, src, dst: tmp.file(`dst${i}`), mtimeNs: 1_650_000_000_000_000_123n + BigInt(i) };
      });
      const results = await Promise.all(jobs.map((j) => runWorker({ indexPath, src: j.src, dst: j.dst, mtimeNs: j.mtimeNs })));
      jobs.forEach((j, i) => {
        assert.equal(results[i]!.nativeAvailable, process.platform === 'linux');
        assert.equal(results[i]!.copied, j.data.length);
        assert.deepEqual(fs.readFileSync(j.dst), j.data);
        assert.equal(fs.statSync(j.dst, { bigint: true }).mtimeNs, j.mtimeNs);
      });
    } finally {
      tmp.remove();
    }
  });

  it('a process whose main thread never loads ffi-rs survives its workers exiting and being terminated', function () {
    // Without the RTLD_NODELETE pin in linux.ts this process segfaults (exit signal SIGSEGV) when
    // the first worker exits. A separate process, because mocha's main thread already loaded ffi-rs.
    this.timeout(30_000);
    const load = `const n = require(${JSON.stringify(indexPath)});`;
    const script = `
      const { Worker } = require('node:worker_threads');
      const idle = new Worker(${JSON.stringify(load)}, { eval: true });
      // busy says when it is in its loop of native calls: a terminate() before that (it may still
      // be booting under load) ends it with 0 and proves nothing about a thread inside ffi-rs.
      const busy = new Worker(${JSON.stringify(`${load} require('node:worker_threads').parentPort.postMessage('looping'); for (;;) n.posixFadvise(0, 0, 0, 0);`)}, { eval: true });
      const looping = new Promise((r) => busy.once('message', r));
      idle.on('exit', (code) => {
        console.log('idle exit ' + code);
        looping.then(() => setTimeout(() => busy.terminate().then((c) => console.log('busy exit ' + c)), 100));
      });
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.signal, null, `child died by ${run.signal}: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /idle exit 0/);
    assert.match(run.stdout, /busy exit 1/);
  });
});
