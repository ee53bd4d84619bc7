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

function droppedOn(ev: pb.JobEvent): number {
  return Number(ev.droppedEvents ?? 0);
}

const FINAL: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * How many item/failure events a watcher that stopped reading may have waiting in blitd (beyond
 * the stream's own small buffer); later ones are dropped until it reads again. Every job's latest
 * snapshot (and so its final state, with the summary and its failures) is always kept.
 */
export const WATCH_MAX_QUEUED_EVENTS = 1000;
/** Jobs whose latest snapshot a stalled watcher may have waiting; the oldest goes first past it. */
export const WATCH_MAX_QUEUED_JOBS = 1000;

/**
 * Streams job events until the watched job finishes (when one id is given), the client goes
 * away or `stop` aborts (daemon shutdown). Between two progress snapshots of a job only the
 * latest is kept, so a slow watcher never queues more than one per job per interval.
 *
 * Backpressure: when `write` returns false (the stream's buffer is full: the watcher does not read
 * as fast as events come) nothing more is written until `onDrain`'s callback runs. Meanwhile each
 * job's snapshots (progress and state) collapse to its latest one, and at most
 * WATCH_MAX_QUEUED_EVENTS item/failure events wait; further ones are dropped (the job's summary
 * still counts them; failures are in the final snapshot's summary) and their number goes to the
 * watcher in the dropped_events of the event sent in their place. Order is kept: a job's
 * snapshot goes after the events queued before it, so the final state comes after its items.
 * Memory per watcher is bounded whatever the size of the jobs.
 */
export function watchJobs(
  jobs: Jobs,
  req: pb.WatchJobsRequest__Output,
  write: (ev: pb.JobEvent) => boolean | void,
  end: () => void,
  stop: AbortSignal,
  onDrain?: (resume: () => void) => void,
): void {
  const only = req.jobId || undefined;
  if (only && !jobs.get(only)) throw new BlitError({ code: ErrorCodes.Usage, message: `no job with id '${only}'` });
  const pendingProgress = new Map<string, JobSnapshot>();
  const lastSent = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  /**
   * What waits while the stream is congested, in sending order: item/failure events under a
   * number key, each job's latest snapshot under 'job:ID' (moved to the end when replaced).
   */
  const queued = new Map<number | string, { ev: pb.JobEvent; readonly job?: JobSnapshot }>();
  /** Under this key: the counts of ended jobs whose snapshots were evicted (an event without a job). */
  const GONE = 'gone';
  /** Dropped counts of running jobs whose snapshots were evicted, for each job's next snapshot. */
  const held = new Map<string, number>();
  let queuedEvents = 0;
  let queuedJobs = 0;
  let seq = 0;
  let congested = false;

  const finish = (): void => {
    if (done) return;
    done = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    stop.removeEventListener('abort', finish);
    queued.clear();
    end();
  };
  /** `job`: the event's job (none on a count of ended jobs' dropped events). */
  const write1 = (ev: pb.JobEvent, job: JobSnapshot | undefined): void => {
    if (job) lastSent.set(job.id, Date.now());
    // The watched job's final state ends the stream: nothing waits for a drain after it.
    const last = only !== undefined && job !== undefined && FINAL.has(job.state);
    if (write(ev) === false && onDrain && !last) {
      congested = true;
      onDrain(resume);
    }
    if (last) finish();
  };
  /**
   * A dropped event is counted on the entry queued in its place (the job's snapshot, at the end
   * of the queue), so the watcher learns how many it missed where they would have been; a
   * snapshot that is replaced hands its count to its successor. One evicted by the job cap keeps
   * it with its job: held for the job's next snapshot (a running job always sends one more, its
   * final state), or, when the job has ended (nothing of it will follow), sent on an event with
   * no job. The counts sent add up to the events dropped (whatever the watcher reads to the end
   * sees: items + failures + counts = all), each under the job it was dropped from or none.
   */
  const enqueue = (ev: pb.JobEvent, job: JobSnapshot): void => {
    let dropped = 0;
    if (ev.item || ev.failure) {
      if (queuedEvents < WATCH_MAX_QUEUED_EVENTS) {
        queued.set(seq++, { ev, job });
        queuedEvents++;
        return;
      }
      ev = { job: ev.job }; // dropped; its snapshot (the job's newest) still goes
      dropped = 1;
    }
    const key = `job:${job.id}`;
    const replaced = queued.get(key);
    if (replaced) {
      queued.delete(key);
      queuedJobs--;
      dropped += droppedOn(replaced.ev);
    }
    ev = withDropped(ev, job, dropped);
    queued.set(key, { ev, job });
    queuedJobs++;
    if (queuedJobs > WATCH_MAX_QUEUED_JOBS) evictOldestSnapshot();
  };
  /** `ev` (a snapshot of `job`) with `dropped` and what was held for the job added to its count. */
  const withDropped = (ev: pb.JobEvent, job: JobSnapshot, dropped: number): pb.JobEvent => {
    const n = dropped + (held.get(job.id) ?? 0);
    held.delete(job.id);
    return n > 0 ? { ...ev, droppedEvents: droppedOn(ev) + n } : ev;
  };
  const evictOldestSnapshot = (): void => {
    for (const [k, q] of queued) {
      if (typeof k !== 'string' || k === GONE) continue;
      queued.delete(k);
      queuedJobs--;
      const n = droppedOn(q.ev);
      if (n === 0) return;
      if (!FINAL.has(q.job!.state)) held.set(q.job!.id, (held.get(q.job!.id) ?? 0) + n);
      else {
        const gone = queued.get(GONE);
        if (gone) gone.ev = { droppedEvents: droppedOn(gone.ev) + n };
        else queued.set(GONE, { ev: { droppedEvents: n } });
      }
      return;
    }
  };
  const send = (ev: pb.JobEvent, job: JobSnapshot): void => {
    pendingProgress.delete(job.id);
    if (congested) enqueue(ev, job);
    else write1(ev.item || ev.failure ? ev : withDropped(ev, job, 0), job);
  };
  function resume(): void {
    congested = false;
    for (const [k, q] of queued) {
      if (done || congested) return;
      queued.delete(k);
      if (typeof k === 'number') queuedEvents--;
      else if (k !== GONE) queuedJobs--;
      write1(q.ev, q.job);
    }
  }
  const flush = (): void => {
    timer = undefined;
    if (done) return;
    // The timer was armed for the end of the interval, but a timer can fire a few ms early by
    // Date.now (libuv measures from the loop's cached time): what is not due yet waits for it.
    const now = Date.now();
    let wait = Infinity;
    for (const snap of [...pendingProgress.values()]) {
      const left = WATCH_PROGRESS_INTERVAL_MS - (now - (lastSent.get(snap.id) ?? 0));
      if (left > 0) wait = Math.min(wait, left);
      else send({ job: jobToWire(snap) }, snap);
    }
    if (wait !== Infinity && !done) timer = setTimeout(flush, wait);
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
