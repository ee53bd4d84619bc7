import * as assert from 'node:assert/strict';
import { applyJobUpdate, buildTree, describeJob, formatBytes, formatEta, percentDone, pruneFinished, statusText, type JobRecord, type JobSnapshot } from '../../src/jobs';

const snap = (over: Partial<JobSnapshot> = {}): JobSnapshot => ({
  id: 'j1', label: 'Push to prod', kind: 'push', state: 'running', filesDone: 1, bytesDone: 512, filesPlanned: 4, bytesPlanned: 2048,
  scanComplete: true, bytesPerSecond: 1024, etaSeconds: 1.5, startedAtMs: 1000, finishedAtMs: 0, summary: null, error: null, inFlight: ['a/big.bin'], ...over,
});

describe('job state reducer', () => {
  it('keeps the latest snapshot and accumulates items and failures', () => {
    let jobs: Map<string, JobRecord> = new Map();
    jobs = applyJobUpdate(jobs, { job: snap(), item: { action: 'create', path: 'a.txt', kind: 'file', size: 3 } });
    jobs = applyJobUpdate(jobs, { job: snap({ bytesDone: 1024 }), failure: { path: 'b.txt', code: 'PermissionDenied', reason: 'permission denied (EACCES)' } });
    const r = jobs.get('j1')!;
    assert.equal(r.job.bytesDone, 1024);
    assert.deepEqual(r.items.map((i) => i.path), ['a.txt']);
    assert.deepEqual(r.failures.map((f) => f.path), ['b.txt']);
  });

  it('never moves a finished job back to running (late snapshot)', () => {
    let jobs = applyJobUpdate(new Map(), { job: snap({ state: 'succeeded' }) });
    jobs = applyJobUpdate(jobs, { job: snap({ state: 'running' }) });
    assert.equal(jobs.get('j1')!.job.state, 'succeeded');
  });

  it('prunes old finished jobs but keeps running ones', () => {
    let jobs: Map<string, JobRecord> = new Map();
    for (let i = 0; i < 5; i++) jobs = applyJobUpdate(jobs, { job: snap({ id: `f${i}`, state: 'succeeded', startedAtMs: i }) });
    jobs = applyJobUpdate(jobs, { job: snap({ id: 'run', startedAtMs: -1 }) });
    assert.deepEqual([...pruneFinished(jobs, 2).keys()].sort(), ['f3', 'f4', 'run']);
  });
});

describe('formatting', () => {
  it('formats bytes, ETA and percent', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
    assert.equal(formatEta(null), '');
    assert.equal(formatEta(42), '42s');
    assert.equal(formatEta(125), '2m05s');
    assert.equal(formatEta(7300), '2h01m');
    assert.equal(percentDone(snap()), 25);
    assert.equal(percentDone(snap({ bytesPlanned: 0, filesPlanned: 4, filesDone: 2 })), 50);
    assert.equal(percentDone(snap({ bytesPlanned: 0, filesPlanned: 0, scanComplete: false })), null);
    assert.equal(percentDone(snap({ state: 'succeeded', bytesDone: 0 })), 100);
  });

  it('describes a running job with state, percent, bytes, rate and ETA', () => {
    assert.equal(describeJob(snap()), 'running · 25% · 512 B of 2.0 KiB · 1.0 KiB/s · ETA 2s');
  });
});

describe('tree model', () => {
  it('one node per job, newest first, files in flight and failures (with reason) as children', () => {
    let jobs: Map<string, JobRecord> = new Map();
    jobs = applyJobUpdate(jobs, { job: snap({ id: 'old', label: 'Pull from prod', state: 'succeeded', startedAtMs: 10, inFlight: [] }) });
    jobs = applyJobUpdate(jobs, { job: snap({ id: 'new', startedAtMs: 20 }), failure: { path: 'locked.txt', code: 'PermissionDenied', reason: 'permission denied' } });
    const tree = buildTree(jobs);
    assert.deepEqual(tree.map((n) => n.label), ['Push to prod', 'Pull from prod']);
    assert.equal(tree[0]!.icon, 'running');
    assert.deepEqual(tree[0]!.children.map((c) => [c.label, c.description, c.icon]), [
      ['locked.txt', 'failed: permission denied', 'file-failed'],
      ['a/big.bin', 'in flight', 'file'],
    ]);
    assert.match(tree[1]!.description, /^succeeded · 100%/);
    assert.deepEqual(tree[1]!.children, []);
  });

  it('shows summary failures of a finished job and its fatal error in the tooltip', () => {
    const jobs = applyJobUpdate(new Map(), {
      job: snap({
        state: 'failed', inFlight: ['x'], error: { code: 'ModuleNotFound', message: 'no module "www"', path: '' },
        summary: { filesTransferred: 0, bytesTransferred: 0, entriesDeleted: 0, deletionsSkipped: 0, filesUnchanged: 0, dirsCreated: 0, failures: [{ path: 'p', code: 'IoError', reason: 'EIO' }], durationMs: 1, bytesPerSecond: 0, dryRun: false },
      }),
    });
    const [n] = buildTree(jobs);
    assert.deepEqual(n!.children.map((c) => c.description), ['failed: EIO']);
    assert.match(n!.tooltip, /ModuleNotFound: no module "www"/);
  });

  it('gives every child a unique id even when a path fails twice (VS Code rejects duplicate ids)', () => {
    let jobs: Map<string, JobRecord> = new Map();
    const failure = { path: 'same.txt', code: 'IoError', reason: 'EIO' };
    jobs = applyJobUpdate(jobs, { job: snap({ inFlight: ['same.txt'] }), failure });
    jobs = applyJobUpdate(jobs, { job: snap({ inFlight: ['same.txt'] }), failure });
    const ids = buildTree(jobs)[0]!.children.map((c) => c.id);
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
  });

  it('status bar text only while something runs', () => {
    assert.equal(statusText(new Map()), null);
    const jobs = applyJobUpdate(new Map(), { job: snap() });
    assert.equal(statusText(jobs), 'Blit 25% 1.0 KiB/s');
    assert.equal(statusText(applyJobUpdate(jobs, { job: snap({ state: 'cancelled' }) })), null);
  });
});
