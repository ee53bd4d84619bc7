/**
 * blitd records the transfers it serves and runs in ITS perf history (the daemon user's
 * $XDG_CONFIG_HOME/blit/perf_local.jsonl): one record per served push or pull, one per job
 * started through StartTransfer, none for a dry run, none with BLIT_DISABLE_PERF_HISTORY=1; and
 * `blit diagnostics perf` run with the daemon's environment shows them. Real blitd, real blit.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { fsTypeOf } from '../../src/engine/perf/fstype';
import { connectDaemon } from '../../src/remote/grpc-client';
import { runBlit, startDaemon, tempDir, waitFor, writeTree, type Daemon } from './harness';

interface Rec {
  signature: { mode: string; fsType: string; dstFsType: string };
  files: number;
  bytes: number;
  outcome: string;
}

const records = (xdg: string): Rec[] => {
  const file = path.join(xdg, 'blit', 'perf_local.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec) : [];
};

/** The served record is written when the daemon's job settles, which may be just after the client exits. */
async function recordCount(xdg: string, n: number): Promise<Rec[]> {
  // Not thrown on time-out: the caller's assertion on the records names what is missing.
  await waitFor(() => records(xdg).length >= n, 10_000, `${n} perf records`).catch(() => undefined);
  return records(xdg);
}

describe('blitd records served transfers in its own perf history', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  let moduleDir: string;
  let moduleFs: string;
  const daemons: Daemon[] = [];
  const clientEnv = { BLIT_FORCE_GRPC_DATA: '' }; // the client's own history stays off (harness default)

  before(async () => {
    tmp = tempDir('blit-served-perf-');
    src = path.join(tmp.dir, 'src');
    moduleDir = path.join(tmp.dir, 'module');
    fs.mkdirSync(moduleDir);
    writeTree(src, { 'a.txt': 'alpha\n', 'sub/b.bin': Buffer.alloc(200_000, 7), 'sub/c.txt': 'gamma\n' });
    moduleFs = await fsTypeOf(moduleDir);
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    tmp?.cleanup();
  });

  it('one record per served push and pull (not for a dry run), shown by blit diagnostics perf', async () => {
    const xdg = path.join(tmp.dir, 'xdg-on');
    const d = await startDaemon(['--port', '0', '--root', moduleDir], { env: { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '' } });
    daemons.push(d);
    const remote = `127.0.0.1:${d.port}:/default/on`;

    const push = await runBlit(['copy', `${src}/`, `${remote}/`], { env: clientEnv });
    assert.equal(push.code, 0, push.stderr);
    let recs = await recordCount(xdg, 1);
    assert.equal(recs.length, 1);
    assert.deepEqual(recs[0]!.signature, { mode: 'push', fsType: 'remote', dstFsType: moduleFs });
    assert.equal(recs[0]!.files, 3);
    assert.equal(recs[0]!.bytes, 200_000 + 12);
    assert.equal(recs[0]!.outcome, 'ok');

    const back = path.join(tmp.dir, 'back') + '/';
    assert.equal((await runBlit(['copy', `${remote}/`, back, '--dry-run'], { env: clientEnv })).code, 0);
    const pull = await runBlit(['copy', `${remote}/`, back], { env: clientEnv });
    assert.equal(pull.code, 0, pull.stderr);
    recs = await recordCount(xdg, 2);
    assert.equal(recs.length, 2, 'the dry run is not recorded');
    assert.deepEqual(recs[1]!.signature, { mode: 'pull', fsType: moduleFs, dstFsType: 'remote' });
    assert.equal(recs[1]!.files, 3);
    assert.equal(recs[1]!.outcome, 'ok');

    const diag = await runBlit(['diagnostics', 'perf', '--json'], { env: { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '' } });
    assert.equal(diag.code, 0, diag.stderr);
    const shown = JSON.parse(diag.stdout) as { totalRuns: number; runs: Rec[] };
    assert.equal(shown.totalRuns, 2);
    assert.deepEqual(shown.runs.map((r) => r.signature.mode), ['push', 'pull']);
  });

  it('a job started through StartTransfer (the extension) is recorded by the daemon that ran it', async () => {
    const xdg = path.join(tmp.dir, 'xdg-jobs');
    const sock = path.join(tmp.dir, 'run', 'blitd.sock');
    const d = await startDaemon(['--socket', sock, '--root', moduleDir], { env: { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '' } });
    daemons.push(d);
    const c = await connectDaemon({ socket: sock });
    try {
      const res = await c.unary<pb.StartTransferResponse__Output>((o, cb) =>
        c.client.StartTransfer({ source: `${src}/`, destination: path.join(tmp.dir, 'job-dst'), label: 'job', options: { mode: 'MODE_COPY', compare: 'COMPARE_DEFAULT' } }, o, cb),
      );
      let last: pb.JobInfo__Output | null = null;
      for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: res.jobId }, o), 30_000)) if (ev.job) last = ev.job;
      assert.equal(last?.state, 'JOB_SUCCEEDED', JSON.stringify(last?.error));
    } finally {
      c.close();
    }
    const recs = await recordCount(xdg, 1);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.signature.mode, 'local');
    assert.equal(recs[0]!.files, 3);
  });

  it('BLIT_DISABLE_PERF_HISTORY=1 on blitd: a served push and pull record nothing', async () => {
    const xdg = path.join(tmp.dir, 'xdg-off');
    const d = await startDaemon(['--port', '0', '--root', moduleDir], { env: { XDG_CONFIG_HOME: xdg, BLIT_DISABLE_PERF_HISTORY: '1' } });
    const remote = `127.0.0.1:${d.port}:/default/off`;
    assert.equal((await runBlit(['copy', `${src}/`, `${remote}/`], { env: clientEnv })).code, 0);
    assert.equal((await runBlit(['copy', `${remote}/`, path.join(tmp.dir, 'off-back') + '/'], { env: clientEnv })).code, 0);
    // A stopped daemon has written every record it was going to write (shutdown waits for them).
    assert.equal(await d.stop(), 0);
    assert.equal(fs.existsSync(path.join(xdg, 'blit', 'perf_local.jsonl')), false);
  });
});
