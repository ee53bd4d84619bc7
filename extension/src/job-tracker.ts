/**
 * Keeps the extension's picture of the daemon's jobs: one WatchJobs stream for every job, folded
 * through the reducer in jobs.ts; waiters for a job to finish; a ListJobs poll as a safety net
 * when the stream is down. No `vscode` import.
 */
import type { DaemonClient, Subscription } from './daemon-client';
import type { DaemonManager } from './daemon-manager';
import { applyJobUpdate, isFinished, pruneFinished, type JobRecord, type JobUpdate } from './jobs';

type Listener = (jobs: ReadonlyMap<string, JobRecord>) => void;

export class JobTracker {
  private jobs: Map<string, JobRecord> = new Map();
  private sub: Subscription | undefined;
  private client: DaemonClient | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly waiters = new Map<string, Array<(r: JobRecord) => void>>();
  private poll: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Called when the job stream of `client` broke (the daemon may be gone). */
  readonly onStreamError = new Set<(client: DaemonClient) => void>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly keepFinished = 20,
  ) {}

  get snapshot(): ReadonlyMap<string, JobRecord> {
    return this.jobs;
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Watches every job on `client` (a new client after a daemon restart replaces the old one).
   * Resolves once the stream is open on the server side (response headers), so a transfer started
   * afterwards is seen from its first event.
   */
  async attach(client: DaemonClient): Promise<void> {
    if (this.client === client && this.sub) return;
    const before = new Set([...this.jobs.values()].filter((r) => !isFinished(r.job.state)).map((r) => r.job.id));
    this.sub?.close();
    this.client = client;
    let opened!: () => void;
    const ready = new Promise<void>((r) => (opened = r));
    this.sub = client.watchJobs(
      '',
      (u) => this.apply(u),
      (err) => {
        if (this.client !== client || this.disposed) return;
        this.sub = undefined;
        this.log(`job stream ended${err ? `: ${err.message}` : ''}; reconnecting`);
        this.onStreamError.forEach((f) => f(client));
        setTimeout(() => {
          if (this.client === client && !this.sub && !this.disposed) void this.attach(client).catch(() => {});
        }, 1000).unref();
      },
      () => opened(),
    );
    this.ensurePoll();
    // headers normally arrive at once; do not hang a command if a daemon sends them late
    await Promise.race([ready, new Promise((r) => setTimeout(r, 500))]);
    // A job we watched that this daemon does not know ran on a daemon that is gone (restarted,
    // or another window's that closed): nobody will ever finish it, so it ends here, named.
    if (before.size) void this.forgetUnknown(client, before);
  }

  private async forgetUnknown(client: DaemonClient, ids: Set<string>): Promise<void> {
    const list = await client.listJobs(true).catch(() => null);
    if (!list || this.client !== client) return;
    for (const j of list) ids.delete(j.id);
    this.abandonRunning('the Blit daemon that ran this transfer stopped (a new one does not know it)', ids);
  }

  /** Stops following `client` (its daemon is gone): no reconnect until attach() gets a new one. */
  detach(client: DaemonClient): void {
    if (this.client !== client) return;
    this.sub?.close();
    this.sub = undefined;
    this.client = undefined;
  }

  apply(u: JobUpdate): void {
    this.jobs = pruneFinished(applyJobUpdate(this.jobs, u), this.keepFinished);
    const rec = this.jobs.get(u.job.id);
    for (const l of this.listeners) l(this.jobs);
    if (rec && isFinished(rec.job.state)) {
      const ws = this.waiters.get(u.job.id);
      if (ws) {
        this.waiters.delete(u.job.id);
        // the final snapshot may race the last item events by a tick: let them land first
        setTimeout(() => ws.forEach((w) => w(this.jobs.get(u.job.id) ?? rec)), 50);
      }
    }
  }

  /**
   * The daemon that ran the unfinished jobs is gone: mark them failed so waiters, progress
   * notifications and the tree do not wait forever for a job nobody runs any more.
   */
  abandonRunning(reason: string, only?: ReadonlySet<string>): void {
    for (const rec of [...this.jobs.values()]) {
      if (isFinished(rec.job.state) || (only && !only.has(rec.job.id))) continue;
      this.apply({ job: { ...rec.job, state: 'failed', inFlight: [], finishedAtMs: Date.now(), error: { code: 'DaemonError', message: reason, path: '' } } });
    }
  }

  /** Resolves with the job's record once it has finished (succeeded, failed or cancelled). */
  waitFor(id: string): Promise<JobRecord> {
    const rec = this.jobs.get(id);
    if (rec && isFinished(rec.job.state)) return Promise.resolve(rec);
    return new Promise((resolve) => {
      const ws = this.waiters.get(id) ?? [];
      ws.push(resolve);
      this.waiters.set(id, ws);
      this.ensurePoll();
    });
  }

  private ensurePoll(): void {
    if (this.poll || this.disposed) return;
    // Safety net: if the stream missed a job's final snapshot, ListJobs still finishes the wait.
    this.poll = setInterval(() => {
      if (this.waiters.size === 0 || !this.client) return;
      this.client.listJobs(true).then(
        (list) => {
          for (const job of list) if (this.waiters.has(job.id) && isFinished(job.state)) this.apply({ job });
        },
        () => {},
      );
    }, 1500);
    this.poll.unref();
  }

  dispose(): void {
    this.disposed = true;
    this.sub?.close();
    this.sub = undefined;
    if (this.poll) clearInterval(this.poll);
    this.listeners.clear();
  }
}

/**
 * Keeps `tracker` on `manager`'s daemon: re-attached after a restart; the running jobs failed with
 * the reason when the daemon stops (spawned: its exit; attached: a broken stream and no answer).
 */
export function followDaemon(tracker: JobTracker, manager: Pick<DaemonManager, 'onRestart' | 'onExit' | 'checkAlive'>): void {
  manager.onRestart.add((c) => void tracker.attach(c).catch(() => {}));
  manager.onExit.add((reason) => tracker.abandonRunning(reason));
  tracker.onStreamError.add((c) => {
    void manager.checkAlive(c).then((alive) => {
      if (!alive) tracker.detach(c);
    });
  });
}
