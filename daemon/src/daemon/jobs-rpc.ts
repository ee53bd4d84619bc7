/**
 * Jobs API on the wire: ListJobs, WatchJobs (a stream of full snapshots, progress throttled to
 * ~4/s per job, every item/failure/state change sent as it happens), CancelJob.
 */
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { ItemAction, EntryKind } from '../engine/types';
import { errorToWire, failureToWire, itemToWire, summaryToWire } from '../remote/convert';
import type { JobStateName } from './context';
import type { JobChange, Jobs, JobSnapshot } from './jobs';

export const WATCH_PROGRESS_INTERVAL_MS = 250;

const STATE_TO_WIRE: Record<JobStateName, pb.JobState__Output> = {
  queued: 'JOB_QUEUED',
  running: 'JOB_RUNNING',
  succeeded: 'JOB_SUCCEEDED',
  failed: 'JOB_FAILED',
  cancelled: 'JOB_CANCELLED',
};

export function jobToWire(j: JobSnapshot): pb.JobInfo {
  return {
    id: j.id,
    label: j.label,
    kind: j.kind,
    state: STATE_TO_WIRE[j.state],
    progress: j.progress,
    bytesPerSecond: j.bytesPerSecond,
    etaSeconds: j.etaSeconds,
    startedAtMs: j.startedAtMs,
    finishedAtMs: j.finishedAtMs,
    ...(j.summary ? { summary: summaryToWire(j.summary) } : {}),
    ...(j.error ? { error: errorToWire(j.error) } : {}),
    inFlight: j.inFlight,
  };
}

export function listJobs(jobs: Jobs, req: pb.ListJobsRequest__Output): pb.ListJobsResponse {
  return { jobs: jobs.list(req.includeFinished).map(jobToWire) };
}

export function cancelJob(jobs: Jobs, req: pb.CancelJobRequest__Output): pb.CancelJobResponse {
  if (!req.jobId) throw new BlitError({ code: ErrorCodes.Usage, message: 'CancelJob needs a job id' });
  return jobs.cancel(req.jobId);
}

function changeToWire(c: JobChange): pb.JobEvent {
  const ev: pb.JobEvent = { job: jobToWire(c.job) };
  if (c.type === 'item') ev.item = itemToWire(c.item.action as ItemAction, c.item.path, c.item.kind as EntryKind, c.item.size);
  if (c.type === 'failure') ev.failure = failureToWire(c.failure);
  return ev;
}

const FINAL: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Streams job events until the watched job finishes (when one id is given), the client goes
 * away or `stop` aborts (daemon shutdown). Between two progress snapshots of a job only the
 * latest is kept, so a slow watcher never queues more than one per job per interval.
 */
export function watchJobs(
  jobs: Jobs,
  req: pb.WatchJobsRequest__Output,
  write: (ev: pb.JobEvent) => void,
  end: () => void,
  stop: AbortSignal,
): void {
  const only = req.jobId || undefined;
  if (only && !jobs.get(only)) throw new BlitError({ code: ErrorCodes.Usage, message: `no job with id '${only}'` });
  const pendingProgress = new Map<string, JobSnapshot>();
  const lastSent = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let done = false;

  const finish = (): void => {
    if (done) return;
    done = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    stop.removeEventListener('abort', finish);
    end();
  };
  const send = (ev: pb.JobEvent, job: JobSnapshot): void => {
    lastSent.set(job.id, Date.now());
    pendingProgress.delete(job.id);
    write(ev);
    if (only && FINAL.has(job.state)) finish();
  };
  const flush = (): void => {
    timer = undefined;
    if (done) return;
    // The timer was armed for the end of the interval: whatever is pending goes now.
    for (const snap of [...pendingProgress.values()]) send({ job: jobToWire(snap) }, snap);
  };
  const unsubscribe = jobs.subscribe((c) => {
    if (done || (only && c.job.id !== only)) return;
    if (c.type === 'progress') {
      pendingProgress.set(c.job.id, c.job);
      if (!timer) timer = setTimeout(flush, Math.max(0, WATCH_PROGRESS_INTERVAL_MS - (Date.now() - (lastSent.get(c.job.id) ?? 0))));
      return;
    }
    send(changeToWire(c), c.job);
  });
  stop.addEventListener('abort', finish, { once: true });
  if (stop.aborted) return finish();
  // Start with the current state of what is being watched.
  const initial = only ? [jobs.get(only)!] : jobs.list(false);
  for (const snap of initial) {
    if (done) break;
    send({ job: jobToWire(snap) }, snap);
  }
}
