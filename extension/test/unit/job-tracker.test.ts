import * as assert from 'node:assert/strict';
import { JobTracker } from '../../src/job-tracker';
import type { JobSnapshot } from '../../src/jobs';

const snap = (over: Partial<JobSnapshot> = {}): JobSnapshot => ({
  id: 'j1', label: 'Push', kind: 'push', state: 'running', filesDone: 0, bytesDone: 0, filesPlanned: 1, bytesPlanned: 10,
  scanComplete: true, bytesPerSecond: 0, etaSeconds: null, startedAtMs: 1, finishedAtMs: 0, summary: null, error: null, inFlight: ['a'], ...over,
});

describe('job tracker', () => {
  it('resolves a waiter when the job finishes, and at once for a job already finished', async () => {
    const t = new JobTracker(() => {});
    try {
      t.apply({ job: snap() });
      const done = t.waitFor('j1');
      t.apply({ job: snap({ state: 'succeeded' }) });
      assert.equal((await done).job.state, 'succeeded');
      assert.equal((await t.waitFor('j1')).job.state, 'succeeded');
    } finally {
      t.dispose();
    }
  });

  it('fails the running jobs of a daemon that died, so nobody waits forever', async () => {
    const t = new JobTracker(() => {});
    try {
      t.apply({ job: snap({ id: 'run' }) });
      t.apply({ job: snap({ id: 'ok', state: 'succeeded' }) });
      const waiting = t.waitFor('run');
      t.abandonRunning('the Blit daemon stopped (SIGKILL)');
      const rec = await waiting;
      assert.equal(rec.job.state, 'failed');
      assert.deepEqual(rec.job.error, { code: 'DaemonError', message: 'the Blit daemon stopped (SIGKILL)', path: '' });
      assert.equal(t.get('ok')!.job.state, 'succeeded');
    } finally {
      t.dispose();
    }
  });
});
