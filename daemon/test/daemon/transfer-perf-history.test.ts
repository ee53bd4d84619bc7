/**
 * Remote runs are recorded in the client's local performance history (perf_local.jsonl under
 * $XDG_CONFIG_HOME/blit): one 'push' record per push, one 'pull' record per pull, nothing with
 * BLIT_DISABLE_PERF_HISTORY=1 and nothing for a dry run. Real blitd, real blit, loopback.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';

interface Rec {
  signature: { mode: string; fsType: string; dstFsType: string };
  files: number;
  bytes: number;
  outcome: string;
  primitive: string | null;
}

describe('remote transfers record the client-side performance history', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let daemon: Daemon;
  let src: string;
  let xdg: string;
  const historyFile = (): string => path.join(xdg, 'blit', 'perf_local.jsonl');
  const records = (): Rec[] =>
    fs.existsSync(historyFile()) ? fs.readFileSync(historyFile(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec) : [];

  before(async () => {
    tmp = tempDir('blit-remote-perf-');
    const moduleDir = path.join(tmp.dir, 'module');
    src = path.join(tmp.dir, 'src');
    xdg = path.join(tmp.dir, 'xdg');
    fs.mkdirSync(moduleDir);
    writeTree(src, { 'a.txt': 'alpha\n', 'sub/b.bin': Buffer.alloc(300_000, 3), 'sub/c.txt': 'gamma\n' });
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
  });

  after(async () => {
    await daemon?.stop();
    tmp?.cleanup();
  });

  it('BLIT_DISABLE_PERF_HISTORY=1: a push and a pull record nothing', async () => {
    const env = { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };
    const remote = `127.0.0.1:${daemon.port}:/default/off`;
    assert.equal((await runBlit(['copy', `${src}/`, `${remote}/`], { env })).code, 0);
    assert.equal((await runBlit(['copy', `${remote}/`, path.join(tmp.dir, 'off-back') + '/'], { env })).code, 0);
    assert.equal(fs.existsSync(historyFile()), false);
  });

  it('a push records one push record, a dry-run pull none, a pull one pull record', async () => {
    const env = { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '', BLIT_FORCE_GRPC_DATA: '' };
    const remote = `127.0.0.1:${daemon.port}:/default/on`;
    const push = await runBlit(['copy', `${src}/`, `${remote}/`], { env });
    assert.equal(push.code, 0, push.stderr);
    let recs = records();
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.signature.mode, 'push');
    assert.equal(recs[0]!.signature.dstFsType, 'remote');
    assert.equal(recs[0]!.files, 3);
    assert.equal(recs[0]!.bytes, 300_000 + 12);
    assert.equal(recs[0]!.outcome, 'ok');

    const back = path.join(tmp.dir, 'on-back') + '/';
    assert.equal((await runBlit(['copy', `${remote}/`, back, '--dry-run'], { env })).code, 0);
    assert.equal(records().length, 1, 'a dry run is not a measurement');

    const pull = await runBlit(['copy', `${remote}/`, back], { env });
    assert.equal(pull.code, 0, pull.stderr);
    recs = records();
    assert.equal(recs.length, 2);
    assert.equal(recs[1]!.signature.mode, 'pull');
    assert.equal(recs[1]!.signature.fsType, 'remote');
    assert.equal(recs[1]!.files, 3);
    assert.equal(recs[1]!.outcome, 'ok');
  });
});
