/**
 * A push or pull job (StartTransfer to or from a remote: what the VS Code extension runs) names
 * its big file while it is in flight, as a local job does: the job's snapshot (JobInfo.in_flight,
 * the extension's file node under the running job) holds the file's path. Real processes: the
 * jobs blitd on its private socket, a remote blitd on loopback serving the module. The transfer
 * is held mid-file without a sleep: the remote blitd is stopped (SIGSTOP) the moment the receiving
 * side holds the big file's temp (the remote for a push, the jobs blitd for a pull). Both data
 * paths: the TCP data plane and gRPC data. At that moment no small file is named beside it (one
 * snapshot: a small file named and done before it would not show; remote/in-flight.ts never names one).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { startDaemon, stopped, tempDir, waitFor, writeTree, type Daemon } from './harness';
import { tempDescriptors } from './transfer-helpers';

/** Well above what socket buffers and the receiver's queue hold: the stopped side keeps it in flight. */
const BIG = 256 * 1024 * 1024;


describe('push and pull jobs name the big file in flight (real jobs blitd and remote blitd)', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof tempDir>;
  let jobsd: Daemon;
  let remote: Daemon;
  let c: DaemonConnection;
  let src: string;
  let mod: string;

  before(async () => {
    t = tempDir('blit-jobs-in-flight-');
    src = path.join(t.dir, 'src');
    mod = path.join(t.dir, 'module');
    writeTree(src, { 'a.txt': 'small a', 'docs/b.md': 'small b', 'big/.keep': '' });
    const chunk = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    const fd = fs.openSync(path.join(src, 'big', 'huge.bin'), 'w');
    for (let off = 0; off < BIG; off += chunk.length) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    // The pull's source is the same file in the module (a hard link: no second 256 MiB written).
    fs.mkdirSync(path.join(mod, 'pullsrc', 'big'), { recursive: true });
    fs.cpSync(path.join(src, 'a.txt'), path.join(mod, 'pullsrc', 'a.txt'));
    fs.cpSync(path.join(src, 'docs'), path.join(mod, 'pullsrc', 'docs'), { recursive: true });
    fs.linkSync(path.join(src, 'big', 'huge.bin'), path.join(mod, 'pullsrc', 'big', 'huge.bin'));
    const env = { BLIT_FORCE_GRPC_DATA: '' };
    remote = await startDaemon(['--port', '0', '--root', mod], { env });
    const sock = path.join(t.dir, 'run', 'blitd.sock');
    jobsd = await startDaemon(['--socket', sock, '--root', mod], { env });
    c = await connectDaemon({ socket: sock });
  });

  after(async () => {
    c?.close();
    const logs = `${jobsd?.stderr() ?? ''}${remote?.stderr() ?? ''}`;
    if (jobsd) await jobsd.stop();
    if (remote) await remote.stop();
    t?.cleanup();
    assert.doesNotMatch(logs, /unhandled error|uncaught/i);
  });

  async function jobNow(id: string): Promise<pb.JobInfo__Output> {
    const res = await c.unary<pb.ListJobsResponse__Output>((o, cb) => c.client.ListJobs({ includeFinished: true }, o, cb));
    const job = res.jobs.find((j) => j.id === id);
    assert.ok(job, `job ${id} not listed`);
    return job;
  }

  /**
   * Starts `source → destination` as a job, stops the remote blitd once `holder` holds the temp of
   * huge.bin below `tempDir`, and returns the job's snapshot then; the job is cancelled after.
   */
  async function snapshotMidFile(source: string, destination: string, forceGrpcData: boolean, holder: Daemon, tempBelow: string): Promise<pb.JobInfo__Output> {
    const rpid = remote.proc.pid!;
    const hpid = holder.proc.pid!;
    const res = await c.unary<pb.StartTransferResponse__Output>((o, cb) =>
      c.client.StartTransfer({ source, destination, options: { mode: 'MODE_COPY', compare: 'COMPARE_DEFAULT', forceGrpcData } }, o, cb),
    );
    const id = res.jobId;
    let held = false;
    try {
      await waitFor(() => tempDescriptors(hpid).some((p) => p.startsWith(`${tempBelow}/.blit.huge.bin.`)), 60_000, `the temp of huge.bin below ${tempBelow}`);
      held = true; // before the signal: the finally resumes it even if the wait fails
      await stopped(rpid);
      return await jobNow(id);
    } finally {
      await c.unary<pb.CancelJobResponse__Output>((o, cb) => c.client.CancelJob({ jobId: id }, o, cb)).catch(() => undefined);
      if (held) process.kill(rpid, 'SIGCONT');
      await waitFor(async () => !['JOB_RUNNING', 'JOB_QUEUED'].includes((await jobNow(id)).state), 30_000, `job ${id} to end after its cancel`);
      // Nothing of this case left open: the next case looks for its own temp.
      await waitFor(() => tempDescriptors(rpid).length === 0 && tempDescriptors(jobsd.proc.pid!).length === 0, 30_000, 'every temp closed after the cancel');
    }
  }

  for (const grpc of [false, true]) {
    const via = grpc ? 'gRPC data' : 'the TCP data plane';

    it(`a push job names big/huge.bin in flight while the remote receives it (${via}), and no small file beside it`, async () => {
      const name = grpc ? 'push-grpc' : 'push-tcp';
      const job = await snapshotMidFile(`${src}/`, `127.0.0.1:${remote.port}:/default/${name}`, grpc, remote, path.join(mod, name, 'big'));
      assert.equal(job.kind, 'push');
      assert.equal(job.state, 'JOB_RUNNING');
      assert.deepEqual(job.inFlight.map((p) => p.toString()), ['big/huge.bin']);
    });

    it(`a pull job names big/huge.bin in flight while it receives it (${via}), and no small file beside it`, async () => {
      const dst = path.join(t.dir, grpc ? 'pull-grpc' : 'pull-tcp');
      const job = await snapshotMidFile(`127.0.0.1:${remote.port}:/default/pullsrc/`, dst, grpc, jobsd, path.join(dst, 'big'));
      assert.equal(job.kind, 'pull');
      assert.equal(job.state, 'JOB_RUNNING');
      assert.deepEqual(job.inFlight.map((p) => p.toString()), ['big/huge.bin']);
    });
  }
});
