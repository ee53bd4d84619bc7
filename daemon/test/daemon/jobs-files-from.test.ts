/**
 * StartTransfer with files_from (the extension's upload on save sends the saved files' list
 * inline): only the listed files travel, local→local and pushed to another real blitd, and the
 * private temp list the daemon writes for the engine is gone when the job settles.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { listTree, startDaemon, tempDir, writeTree, type Daemon } from './harness';

async function startWithList(c: DaemonConnection, source: string, destination: string, files: string[]): Promise<string> {
  const res = await c.unary<pb.StartTransferResponse__Output>((o, cb) =>
    c.client.StartTransfer(
      {
        source,
        destination,
        label: 'upload',
        options: { mode: 'MODE_COPY', compare: 'COMPARE_DEFAULT', filter: { excludes: [], includes: [], filesFrom: files.map((f) => Buffer.from(f)) } },
      },
      o,
      cb,
    ),
  );
  return res.jobId;
}

async function finalState(c: DaemonConnection, id: string): Promise<pb.JobInfo__Output> {
  let last: pb.JobInfo__Output | null = null;
  for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: id }, o), 60000)) if (ev.job) last = ev.job;
  assert.ok(last, 'no event received');
  return last;
}

/** Temp list directories the daemon left behind. */
function leftoverLists(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('blitd-files-from-'));
}

describe('blitd jobs: StartTransfer with files_from', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let d: Daemon;
  let remoteD: Daemon;
  let c: DaemonConnection;
  let src: string;
  let before0: string[];

  before(async () => {
    t = tempDir('blit-jobs-ff-');
    src = path.join(t.dir, 'ws');
    writeTree(src, { 'a.txt': 'a', 'b.txt': 'b', 'sub/c.txt': 'c', 'sub/d.txt': 'd' });
    fs.mkdirSync(path.join(t.dir, 'mod'));
    fs.mkdirSync(path.join(t.dir, 'remote-mod'));
    const sock = path.join(t.dir, 'run', 'blitd.sock');
    d = await startDaemon(['--socket', sock, '--root', path.join(t.dir, 'mod')]);
    remoteD = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'remote-mod')]);
    c = await connectDaemon({ socket: sock });
    before0 = leftoverLists();
  });
  after(async () => {
    c?.close();
    if (d) assert.equal(await d.stop(), 0);
    await remoteD?.stop();
    t.cleanup();
  });

  it('local→local copies only the listed files', async () => {
    const dst = path.join(t.dir, 'dst-local');
    const id = await startWithList(c, `${src}/`, dst, ['a.txt', 'sub/d.txt']);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.deepEqual(listTree(dst), ['a.txt', 'sub', 'sub/d.txt']);
    assert.deepEqual(leftoverLists(), before0, 'the temp list is removed');
  });

  it('a push to another blitd sends only the listed files (upload on save)', async () => {
    const id = await startWithList(c, `${src}/`, `127.0.0.1:${remoteD.port}:/default/up`, ['sub/c.txt']);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.equal(fin.summary?.filesTransferred, 1);
    assert.deepEqual(listTree(path.join(t.dir, 'remote-mod', 'up')), ['sub', 'sub/c.txt']);
    assert.deepEqual(leftoverLists(), before0);
  });

  it('a failed job removes its temp list too', async () => {
    const id = await startWithList(c, path.join(t.dir, 'no-such-dir') + '/', path.join(t.dir, 'x'), ['a.txt']);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_FAILED');
    assert.deepEqual(leftoverLists(), before0);
  });
});
