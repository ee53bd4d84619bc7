/**
 * ffi-rs keeps its opened libraries and their looked-up functions in one process-wide map without a
 * lock (linux.ts lookUpNow): a thread's first `load` of a function name or `open` of a library key
 * writes it while other threads read it, which can crash the process (SIGSEGV inside the addon).
 * So the main thread looks up every function when it loads this package, and a worker's calls only
 * read. Checked here by recording, in a child process, every library and function each thread hands
 * to ffi-rs (a preloaded wrapper around require('ffi-rs'), loaded in the workers too): what the
 * workers use must all have been looked up by the main thread before it started them.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir } from './helpers';

const indexPath = path.resolve(__dirname, '..', 'src', 'index.js');

// Preloaded in every thread (workers inherit execArgv): logs "<threadId> open <key>" and the first
// "<threadId> load <key> <function>" of each function in this thread.
const hookSource = `
const Module = require('node:module');
const fs = require('node:fs');
const { threadId } = require('node:worker_threads');
const log = (line) => fs.appendFileSync(process.env.BLIT_TEST_FFI_LOG, threadId + ' ' + line + '\\n');
const seen = new Set();
const wrapped = new WeakMap();
const load = Module._load;
Module._load = function (request) {
  const m = load.apply(this, arguments);
  if (request !== 'ffi-rs') return m;
  if (!wrapped.has(m)) {
    const w = Object.create(m);
    w.open = (p) => { log('open ' + p.library); return m.open(p); };
    w.load = (p) => {
      const k = p.library + ' ' + p.funcName;
      if (!seen.has(k)) { seen.add(k); log('load ' + k); }
      return m.load(p);
    };
    wrapped.set(m, w);
  }
  return wrapped.get(m);
};
`;

// The main thread loads the package, then two workers at once do what the stream workers do
// first: the batch library's readers and receivers, poll on a full socket, sendfile, futimens...
const childSource = `
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const index = ${JSON.stringify(indexPath)};
require(index);
fs.appendFileSync(process.env.BLIT_TEST_FFI_LOG, 'workers start\\n');
const dir = process.argv[1];
const body = (i) => \`
  const fs = require('node:fs');
  const path = require('node:path');
  const n = require(\${JSON.stringify(index)});
  const file = path.join(\${JSON.stringify(dir)}, 'f\${i}');
  fs.writeFileSync(file, 'x'.repeat(100));
  const fd = fs.openSync(file, 'r+');
  const [r, w] = n.pipe2();
  n.poll(w, n.POLLOUT, 0);
  n.sendfile(w, fd, 0, 10);
  n.posixFadvise(fd, 0, 0, n.FADV_WILLNEED);
  n.futimens(fd, 1n, 2n);
  n.fchmod(fd, 0o644);
  const d = n.dup(fd);
  fs.closeSync(d);
  const nb = n.loadNativeBatch();
  if (nb) {
    const st = fs.statSync(file, { bigint: true });
    nb.readBatch([{ index: 0, path: Buffer.from(file), size: 100, mtimeNs: st.mtimeNs }]);
    nb.scanDir(Buffer.from(\${JSON.stringify(dir)}), false);
  }
  n.loadRecvSmall();
  n.loadDirMetaBatch();
  n.loadOpenBeneath();
  for (const f of [fd, r, w]) fs.closeSync(f);
\`;
for (const i of [0, 1]) new Worker(body(i), { eval: true }).on('exit', (code) => code === 0 || (process.exitCode = 10 + code));
`;

describe('native: ffi-rs lookups made by the main thread only', () => {
  it('a worker calls only functions the main thread looked up before it started, in libraries it opened', function () {
    if (process.platform !== 'linux') this.skip();
    this.timeout(30_000);
    const tmp = makeTempDir('lookups');
    try {
      const hook = tmp.file('hook.js');
      const logFile = tmp.file('ffi.log');
      fs.writeFileSync(hook, hookSource);
      const run = spawnSync(process.execPath, ['-r', hook, '-e', childSource, tmp.dir], {
        encoding: 'utf8',
        timeout: 25_000,
        env: { ...process.env, BLIT_TEST_FFI_LOG: logFile },
      });
      assert.equal(run.signal, null, `child died by ${run.signal}: ${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
      const start = lines.indexOf('workers start');
      assert.ok(start > 0, 'the main thread loaded the bindings before starting the workers');
      const before = new Set(lines.slice(0, start).map((l) => l.slice(l.indexOf(' ') + 1)));
      const fromWorkers = lines.slice(start + 1).map((l) => l.slice(l.indexOf(' ') + 1));
      // The workers did reach ffi-rs (their own loads of the bindings and the calls above).
      assert.ok(fromWorkers.includes('load blit_libc poll'), fromWorkers.join('\n'));
      assert.ok(fromWorkers.includes('load blit_libc sendfile'), fromWorkers.join('\n'));
      if (before.has('open blit_native')) assert.ok(fromWorkers.includes('load blit_native blit_read_batch'), fromWorkers.join('\n'));
      const firstInWorkers = [...new Set(fromWorkers)].filter((l) => !before.has(l));
      assert.deepEqual(firstInWorkers, [], 'looked up first by a worker, while other threads were in ffi-rs');
    } finally {
      tmp.remove();
    }
  });
});
