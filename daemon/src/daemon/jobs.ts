/**
 * JobRegistry: every transfer the daemon runs (StartTransfer) or serves (push/pull handlers) is a
 * job with an id, a state, progress, a smoothed rate and ETA, the files in flight, and, once
 * finished, its summary or error. Finished jobs are kept (bounded) so a client that looks late
 * still sees the outcome. Listeners get every change; the jobs API throttles what goes on the wire.
 */
import { randomBytes } from 'node:crypto';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { Failure, TransferSummary } from '../engine/types';
import type { Job, JobKind, JobProgress, JobRegistry, JobStateName } from './context';

export interface JobSnapshot {
  id: string;
  kind: JobKind;
  label: string;
  state: JobStateName;
  progress: JobProgress;
  bytesPerSecond: number;
  /** -1 when unknown. */
  etaSeconds: number;
  startedAtMs: number;
  finishedAtMs: number;
  summary?: TransferSummary;
  error?: BlitError;
  inFlight: Buffer[];
}

export type JobChange =
  | { type: 'progress'; job: JobSnapshot }
  | { type: 'state'; job: JobSnapshot }
  | { type: 'item'; job: JobSnapshot; item: { action: string; path: Buffer; kind: string; size: number } }
  | { type: 'failure'; job: JobSnapshot; failure: Failure };

export type JobListener = (change: JobChange) => void;

const EMA_ALPHA = 0.3;
/** Rate samples closer together than this are merged (avoids noise from bursts of events). */
const RATE_SAMPLE_MS = 250;

class RunningJob implements Job {
  readonly id: string;
  readonly signal: AbortSignal;
  state: JobStateName = 'running';
  private current: JobProgress = { filesDone: 0, bytesDone: 0, filesPlanned: 0, bytesPlanned: 0, scanComplete: false };
  private rate = 0;
  private lastSample: { t: number; bytes: number };
  readonly startedAtMs = Date.now();
  finishedAtMs = 0;
  private summary: TransferSummary | undefined;
  private error: BlitError | undefined;
  private inFlight: Buffer[] = [];

  constructor(
    readonly kind: JobKind,
    readonly label: string,
    private readonly controller: AbortController,
    /** Builds the change only when someone watches (a served push reports every file). */
    private readonly emit: (c: () => JobChange) => void,
    private readonly onFinish: () => void,
    private readonly now: () => number,
  ) {
    this.id = randomBytes(6).toString('hex');
    this.signal = controller.signal;
    this.lastSample = { t: now(), bytes: 0 };
  }

  get finished(): boolean {
    return this.state !== 'running' && this.state !== 'queued';
  }

  snapshot(): JobSnapshot {
    const remaining = this.current.bytesPlanned - this.current.bytesDone;
    const eta = !this.finished && this.current.scanComplete && this.rate > 0 && remaining >= 0 ? remaining / this.rate : -1;
    return {
      id: this.id,
      kind: this.kind,
      label: this.label,
      state: this.state,
      progress: { ...this.current },
      bytesPerSecond: this.rate,
      etaSeconds: this.finished ? 0 : eta,
      startedAtMs: this.startedAtMs,
      finishedAtMs: this.finishedAtMs,
      ...(this.summary ? { summary: this.summary } : {}),
      ...(this.error ? { error: this.error } : {}),
      inFlight: [...this.inFlight],
    };
  }

  cancel(): boolean {
    if (this.finished) return false;
    this.controller.abort(new BlitError({ code: ErrorCodes.Cancelled, message: 'cancelled' }));
    return true;
  }

  progress(p: JobProgress): void {
    if (this.finished) return;
    const t = this.now();
    const dt = t - this.lastSample.t;
    if (dt >= RATE_SAMPLE_MS) {
      const inst = ((p.bytesDone - this.lastSample.bytes) * 1000) / dt;
      this.rate = this.rate === 0 ? inst : EMA_ALPHA * inst + (1 - EMA_ALPHA) * this.rate;
      this.lastSample = { t, bytes: p.bytesDone };
    }
    this.current = { ...p };
    this.emit(() => ({ type: 'progress', job: this.snapshot() }));
  }

  item(action: string, path: Buffer, kind: string, size: number): void {
    if (this.finished) return;
    this.emit(() => ({ type: 'item', job: this.snapshot(), item: { action, path, kind, size } }));
  }

  fileFailed(f: Failure): void {
    if (this.finished) return;
    this.emit(() => ({ type: 'failure', job: this.snapshot(), failure: f }));
  }

  setInFlight(paths: Buffer[]): void {
    if (this.finished) return;
    this.inFlight = [...paths];
    // Watchers hear of it (coalesced with progress): a push's progress comes from the remote
    // blitd, which may say nothing for a long while mid-file (a slow link, a stopped peer).
    this.emit(() => ({ type: 'progress', job: this.snapshot() }));
  }

  succeed(summary: TransferSummary): void {
    if (this.finished) return;
    this.summary = summary;
    this.current = { ...this.current, scanComplete: true };
    this.finish(summary.failures.length > 0 ? 'failed' : 'succeeded');
  }

  fail(error: BlitError, summary?: TransferSummary): void {
    if (this.finished) return;
    this.error = error;
    if (summary) this.summary = summary;
    this.finish(error.code === ErrorCodes.Cancelled || this.signal.aborted ? 'cancelled' : 'failed');
  }

  private finish(state: JobStateName): void {
    this.state = state;
    this.finishedAtMs = Date.now();
    this.inFlight = [];
    this.emit(() => ({ type: 'state', job: this.snapshot() }));
    this.onFinish();
  }
}

export interface JobRegistryOptions {
  /** Aborting it cancels every job (daemon shutdown). */
  shutdown: AbortSignal;
  /** How many finished jobs to remember. */
  keepFinished?: number;
  now?: () => number;
}

export class Jobs implements JobRegistry {
  private readonly jobs = new Map<string, RunningJob>();
  private readonly listeners = new Set<JobListener>();
  private readonly keepFinished: number;
  private readonly now: () => number;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: JobRegistryOptions) {
    this.keepFinished = opts.keepFinished ?? 100;
    this.now = opts.now ?? Date.now;
  }

  create(kind: JobKind, label: string): Job {
    const controller = new AbortController();
    const onShutdown = (): void => controller.abort(new BlitError({ code: ErrorCodes.Cancelled, message: 'daemon shutting down' }));
    if (this.opts.shutdown.aborted) onShutdown();
    else this.opts.shutdown.addEventListener('abort', onShutdown, { once: true });
    const onFinish = (): void => {
      this.opts.shutdown.removeEventListener('abort', onShutdown);
      this.prune();
      if (this.running().length === 0) this.flushIdle();
    };
    const job = new RunningJob(kind, label, controller, (c) => this.emit(c), onFinish, this.now);
    this.jobs.set(job.id, job);
    this.emit({ type: 'state', job: job.snapshot() });
    return job;
  }

  list(includeFinished: boolean): JobSnapshot[] {
    return [...this.jobs.values()].filter((j) => includeFinished || !j.finished).map((j) => j.snapshot());
  }

  get(id: string): JobSnapshot | undefined {
    return this.jobs.get(id)?.snapshot();
  }

  /** Aborts a running job's signal; the job turns 'cancelled' once its runner has cleaned up. */
  cancel(id: string): { cancelled: boolean; message: string } {
    const job = this.jobs.get(id);
    if (!job) throw new BlitError({ code: ErrorCodes.Usage, message: `no job with id '${id}'` });
    if (!job.cancel()) return { cancelled: false, message: `job ${id} already ${job.state}` };
    return { cancelled: true, message: `job ${id} cancelling` };
  }

  subscribe(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once no job is running (or immediately). */
  whenIdle(): Promise<void> {
    if (this.running().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private running(): RunningJob[] {
    return [...this.jobs.values()].filter((j) => !j.finished);
  }

  private flushIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  private emit(build: JobChange | (() => JobChange)): void {
    if (this.listeners.size === 0) return;
    const change = typeof build === 'function' ? build() : build;
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A broken watcher must not break the transfer that reports into the job.
      }
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished).sort((a, b) => a.finishedAtMs - b.finishedAtMs);
    for (const j of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(j.id);
  }
}
