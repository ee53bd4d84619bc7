/**
 * The extension's domain view of daemon jobs (translated from the wire in daemon-client.ts), the
 * reducer that folds JobEvents into a state, and the formatting the tree view and status bar show.
 * Pure: no `vscode` import.
 */

export type JobStateName = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type ItemActionName = 'create' | 'update' | 'delete' | 'mkdir' | 'symlink' | 'skip';

export interface JobFailure {
  /** Display form of the path. */
  path: string;
  code: string;
  reason: string;
}

export interface JobSummary {
  filesTransferred: number;
  bytesTransferred: number;
  entriesDeleted: number;
  deletionsSkipped: number;
  filesUnchanged: number;
  dirsCreated: number;
  failures: JobFailure[];
  durationMs: number;
  bytesPerSecond: number;
  dryRun: boolean;
}

export interface JobSnapshot {
  id: string;
  label: string;
  kind: string;
  state: JobStateName;
  filesDone: number;
  bytesDone: number;
  filesPlanned: number;
  bytesPlanned: number;
  scanComplete: boolean;
  bytesPerSecond: number;
  /** null when unknown. */
  etaSeconds: number | null;
  startedAtMs: number;
  finishedAtMs: number;
  summary: JobSummary | null;
  error: { code: string; message: string; path: string } | null;
  inFlight: string[];
}

export interface JobItem {
  action: ItemActionName;
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
}

export interface JobUpdate {
  job: JobSnapshot;
  item?: JobItem;
  failure?: JobFailure;
}

/** What the extension keeps per job: the latest snapshot plus the per-file events it has seen. */
export interface JobRecord {
  job: JobSnapshot;
  items: JobItem[];
  failures: JobFailure[];
  /** Items dropped because of the cap (a dry run over a huge tree). */
  itemsDropped: number;
}

export const MAX_ITEMS_PER_JOB = 20000;

export function isFinished(state: JobStateName): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** Immutable-style reducer: returns a new map with the event applied. */
export function applyJobUpdate(jobs: ReadonlyMap<string, JobRecord>, u: JobUpdate): Map<string, JobRecord> {
  const next = new Map(jobs);
  const prev = jobs.get(u.job.id);
  const rec: JobRecord = prev
    ? { job: u.job, items: prev.items, failures: prev.failures, itemsDropped: prev.itemsDropped }
    : { job: u.job, items: [], failures: [], itemsDropped: 0 };
  // A snapshot can arrive late (stream reordering after a reconnect): never go back from finished.
  if (prev && isFinished(prev.job.state) && !isFinished(u.job.state)) rec.job = prev.job;
  if (u.item) {
    if (rec.items.length < MAX_ITEMS_PER_JOB) rec.items = [...rec.items, u.item];
    else rec.itemsDropped += 1;
  }
  if (u.failure) rec.failures = [...rec.failures, u.failure];
  next.set(u.job.id, rec);
  return next;
}

/** Keeps the newest `keep` finished jobs and every unfinished one. */
export function pruneFinished(jobs: ReadonlyMap<string, JobRecord>, keep: number): Map<string, JobRecord> {
  const finished = [...jobs.values()].filter((r) => isFinished(r.job.state)).sort((a, b) => b.job.startedAtMs - a.job.startedAtMs);
  const drop = new Set(finished.slice(keep).map((r) => r.job.id));
  return new Map([...jobs].filter(([id]) => !drop.has(id)));
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, Math.round(bytesPerSecond)))}/s`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Percent done by bytes (files when there are no bytes); null while the total is unknown. */
export function percentDone(j: JobSnapshot): number | null {
  if (j.state === 'succeeded') return 100;
  if (j.bytesPlanned > 0) return Math.min(100, Math.floor((j.bytesDone / j.bytesPlanned) * 100));
  if (j.filesPlanned > 0) return Math.min(100, Math.floor((j.filesDone / j.filesPlanned) * 100));
  return j.scanComplete ? 100 : null;
}

/** One line for the job: state, percent, bytes, rate, ETA. */
export function describeJob(j: JobSnapshot): string {
  const pct = percentDone(j);
  const parts: string[] = [j.state];
  if (pct !== null) parts.push(`${pct}%`);
  const total = j.bytesPlanned > 0 ? ` of ${formatBytes(j.bytesPlanned)}` : '';
  parts.push(`${formatBytes(j.bytesDone)}${total}`);
  if (j.state === 'running') {
    parts.push(formatRate(j.bytesPerSecond));
    const eta = formatEta(j.etaSeconds);
    if (eta) parts.push(`ETA ${eta}`);
  } else if (j.summary && j.summary.bytesPerSecond > 0) {
    parts.push(formatRate(j.summary.bytesPerSecond));
  }
  return parts.join(' · ');
}

export interface TreeNodeModel {
  /** Stable id (VS Code keeps expansion state by id). */
  id: string;
  label: string;
  description: string;
  tooltip: string;
  /** Which icon to show. */
  icon: 'running' | 'queued' | 'succeeded' | 'failed' | 'cancelled' | 'file' | 'file-failed';
  children: TreeNodeModel[];
}

const MAX_CHILDREN = 200;

/** The tree view's model: one node per job (newest first), files in flight or failed below it. */
export function buildTree(jobs: ReadonlyMap<string, JobRecord>): TreeNodeModel[] {
  const recs = [...jobs.values()].sort((a, b) => b.job.startedAtMs - a.job.startedAtMs || b.job.id.localeCompare(a.job.id));
  return recs.map((r) => {
    const j = r.job;
    const children: TreeNodeModel[] = [];
    const failures = [...r.failures];
    for (const f of j.summary?.failures ?? []) {
      if (!failures.some((g) => g.path === f.path && g.reason === f.reason)) failures.push(f);
    }
    for (const [i, f] of failures.slice(0, MAX_CHILDREN).entries()) {
      children.push({ id: `${j.id}/failed/${i}/${f.path}`, label: f.path, description: `failed: ${f.reason}`, tooltip: `${f.code}: ${f.reason}`, icon: 'file-failed', children: [] });
    }
    if (!isFinished(j.state)) {
      for (const [i, p] of j.inFlight.slice(0, MAX_CHILDREN).entries()) {
        children.push({ id: `${j.id}/inflight/${i}/${p}`, label: p, description: 'in flight', tooltip: p, icon: 'file', children: [] });
      }
    }
    const error = j.error ? `\n${j.error.code}: ${j.error.message}` : '';
    return {
      id: j.id,
      label: j.label || j.id,
      description: describeJob(j),
      tooltip: `${j.kind} job ${j.id}\n${describeJob(j)}\n${j.filesDone} of ${j.filesPlanned} files${error}`,
      icon: j.state,
      children,
    };
  });
}

/** The status bar text for the running jobs, or null when none runs. */
export function statusText(jobs: ReadonlyMap<string, JobRecord>): string | null {
  const running = [...jobs.values()].filter((r) => !isFinished(r.job.state));
  if (running.length === 0) return null;
  const j = running.sort((a, b) => b.job.startedAtMs - a.job.startedAtMs)[0]!.job;
  const pct = percentDone(j);
  const more = running.length > 1 ? ` (+${running.length - 1})` : '';
  return `Blit ${pct === null ? '…' : `${pct}%`} ${formatRate(j.bytesPerSecond)}${more}`;
}
