/**
 * A push or pull whose files add up to at most 256 KiB is sent on the main thread (no sendfile
 * worker thread: its start was most of a 1-byte transfer's data phase); a bigger one still gets the
 * worker and sendfile. Observed in the REAL blit and blitd processes through a preload that logs
 * every Worker started.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { assertSameTree, jsonSummary } from './transfer-helpers';

describe('tiny pushes and pulls skip the sendfile worker thread (real blitd and blit)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon;
  let moduleDir: string;
  let hook: string;
  let daemonWorkers: string;

  before(async () => {
    tmp = tempDir('blit-tiny-');
    moduleDir = path.join(tmp.dir, 'module');
    fs.mkdirSync(moduleDir);
    hook = path.join(tmp.dir, 'workers-hook.js');
    fs.writeFileSync(hook, `const wt = require('worker_threads');
if (wt.isMainThread) {
  const W = wt.Worker;
  wt.Worker = class extends W { constructor(f, o) { require('fs').appendFileSync(process.env.BLIT_TEST_WORKERS, String(f) + '\\n'); super(f, o); } };
}\n`);
    daemonWorkers = path.join(tmp.dir, 'daemon.workers');
    fs.writeFileSync(daemonWorkers, '');
    daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env: { NODE_OPTIONS: `--require ${hook}`, BLIT_TEST_WORKERS: daemonWorkers } });
  });

  after(async () => {
    await daemon?.stop();
    tmp?.cleanup();
  });

  const push = async (name: string, files: Record<string, string | Buffer>): Promise<{ workers: string[]; zeroCopy: unknown }> => {
    const src = path.join(tmp.dir, `src-${name}`);
    writeTree(src, files);
    const log = path.join(tmp.dir, `${name}.workers`);
    fs.writeFileSync(log, '');
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/${name}`, '--json'], {
      env: { NODE_OPTIONS: `--require ${hook}`, BLIT_TEST_WORKERS: log, BLIT_FORCE_GRPC_DATA: '' },
    });
    assert.equal(r.code, 0, r.stderr);
    assertSameTree(src, path.join(moduleDir, name));
    const s = jsonSummary(r.stdout);
    assert.equal(s.tcpDataPlane, true);
    return { workers: fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== ''), zeroCopy: s.zeroCopy };
  };

  it('1 byte, and three files of 256 KiB in all: no worker, zeroCopy false (as the worker would report)', async () => {
    const one = await push('one', { 'one.txt': 'x' });
    assert.deepEqual(one.workers.filter((w) => w.includes('sendfile-worker')), []);
    assert.equal(one.zeroCopy, false);
    const three = await push('three', { a: Buffer.alloc(100 * 1024, 1), 'd/b': Buffer.alloc(100 * 1024, 2), 'd/c': Buffer.alloc(56 * 1024, 3) });
    assert.deepEqual(three.workers.filter((w) => w.includes('sendfile-worker')), []);
  });

  it('a pull of 1 byte: the daemon starts no sendfile worker; a pull over 256 KiB does (zeroCopy)', async () => {
    const pull = async (name: string): Promise<{ workers: string[]; zeroCopy: unknown }> => {
      fs.writeFileSync(daemonWorkers, '');
      const dst = path.join(tmp.dir, `pulled-${name}`);
      const r = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/${name}/`, dst, '--json'], { env: { BLIT_FORCE_GRPC_DATA: '' } });
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(path.join(moduleDir, name), dst);
      const workers = fs.readFileSync(daemonWorkers, 'utf8').split('\n').filter((l) => l.includes('sendfile-worker'));
      return { workers, zeroCopy: jsonSummary(r.stdout).zeroCopy };
    };
    writeTree(path.join(moduleDir, 'pull-one'), { 'one.txt': 'x' });
    writeTree(path.join(moduleDir, 'pull-big'), { small: 'y', big: Buffer.alloc(300 * 1024, 9) });
    const one = await pull('pull-one');
    assert.deepEqual(one.workers, []);
    assert.equal(one.zeroCopy, false);
    const big = await pull('pull-big');
    assert.equal(big.workers.length > 0, true, 'the daemon started a sendfile worker for 300 KiB');
    assert.equal(big.zeroCopy, true);
  });

  it('a push over 256 KiB starts the worker and sends with sendfile', async () => {
    const big = await push('big', { small: 'y', big: Buffer.alloc(300 * 1024, 9) });
    assert.ok(big.workers.some((w) => w.includes('sendfile-worker')), `workers started: ${big.workers.join(', ')}`);
    assert.equal(big.zeroCopy, true);
  });
});
