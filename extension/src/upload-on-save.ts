/**
 * Upload on save: one SaveBatcher per (workspace folder, target) with uploadOnSave, pushing only the
 * saved files (StartTransfer files_from, the exact names, no globs; copy mode: never a mirror,
 * never a deletion), paused while git rewrites the folder. No `vscode` import: the extension
 * passes the saved path and its folders.
 */
import * as path from 'node:path';
import type { TransferRequest } from './daemon-client';
import { findGitDir, GitBusyMonitor } from './git-busy';
import type { JobOutcome } from './messages';
import { buildRequest, requestExcludes } from './requests';
import { SaveBatcher, type Clock } from './save-batcher';
import { excludedByFilter } from './save-filter';
import type { Target } from './targets';

export interface UploadOnSaveOptions {
  /** The targets of a workspace folder (each folder of a multi-root workspace has its own settings). */
  targets: (folder: string) => Target[];
  gitignore: (folder: string) => boolean;
  delayMs: (folder: string) => number;
  /** The folder's name in job labels (several folders open), or undefined. */
  folderLabel?: (folder: string) => string | undefined;
  /** Runs the upload; resolves with how it ended (a cancel by the user is logged, never shown). */
  run: (req: TransferRequest, target: Target) => Promise<JobOutcome>;
  /** The message for an upload that threw. */
  describeError: (err: unknown, target: Target) => string;
  /** Shows a failure: once per target until an upload to it succeeds (one toast, not one per save). */
  notify: (message: string, target: Target) => void;
  /**
   * Why uploads from `folder` to `target` must wait, or null: a push, mirror or pull of the same
   * folder and target is running (its older copy of a file could land after the saved one).
   */
  busy?: (folder: string, target: string) => string | null;
  log: (line: string) => void;
  /** How long after HEAD/index change the tree counts as still being rewritten. */
  gitSettleMs?: number;
  clock?: Clock;
}

/** The saved file's path relative to the folder containing it, or null when outside every folder. */
export function relativeToFolder(file: string, folders: string[]): { folder: string; rel: string } | null {
  let best: { folder: string; rel: string } | null = null;
  for (const f of folders) {
    const rel = path.relative(f, file);
    // '..' or '../x' is outside; '..env' or '...' is a file inside
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) continue;
    if (!best || f.length > best.folder.length) best = { folder: f, rel: rel.split(path.sep).join('/') };
  }
  return best;
}

export class UploadOnSave {
  private readonly batchers = new Map<string, SaveBatcher>();
  private readonly monitors = new Map<string, GitBusyMonitor | null>();
  /** Per folder and target (two folders may each have a target of one name): the failure last shown, until an upload to it succeeds. */
  private readonly shown = new Map<string, string>();

  constructor(private readonly opts: UploadOnSaveOptions) {}

  private monitor(folder: string): GitBusyMonitor | null {
    // A folder without git is looked at again on the next save (git init may come later).
    if (!this.monitors.get(folder)) {
      const gitDir = findGitDir(folder);
      const m = gitDir ? new GitBusyMonitor(gitDir, this.opts.gitSettleMs ?? 1500) : null;
      m?.start();
      this.monitors.set(folder, m);
    }
    return this.monitors.get(folder) ?? null;
  }

  /** Called on every save; returns how many targets will receive the file. */
  onSaved(file: string, folders: string[]): number {
    const where = relativeToFolder(file, folders);
    if (!where) return 0;
    let targets: Target[];
    let gitignore: boolean;
    try {
      gitignore = this.opts.gitignore(where.folder);
      targets = this.opts.targets(where.folder).filter((t) => t.uploadOnSave);
    } catch {
      return 0; // bad settings are reported by the commands, not on every save
    }
    // A file the request's excludes or (blit.gitignore on) the .gitignore files on its path
    // leave out (`.vscode/settings.json` by default, `*.log`, `build/`) starts no upload: blitd's
    // filter would make it a job that sends nothing. A path is left out when any layer leaves it
    // out, so the .gitignore files (the same for every target) are asked once per save, and only
    // when some target uploads on save; then each target's excludes. Outside the try: a fault
    // here is a bug to see, not bad settings to pass over.
    if (targets.length > 0 && gitignore && excludedByFilter(where.rel, [], where.folder)) return 0;
    targets = targets.filter((t) => !excludedByFilter(where.rel, requestExcludes(t, gitignore)));
    if (targets.length === 0) return 0;
    if (where.rel.split('/')[0] === '.git') return 0;
    this.monitor(where.folder); // start watching the git dir from the first save
    for (const t of targets) {
      const key = `${where.folder}\0${t.name}`;
      let b = this.batchers.get(key);
      if (!b) {
        // Said once when a batch is held back and once when it goes on (not on every poll): the
        // user sees why a save did not arrive yet, and the workbench test waits for these lines.
        let heldBack = false;
        const batcher: SaveBatcher = new SaveBatcher({
          debounceMs: () => this.opts.delayMs(where.folder),
          pausePollMs: 500,
          isPaused: () => {
            const why = this.monitor(where.folder)?.busyReason() ?? this.opts.busy?.(where.folder, t.name) ?? null;
            const files = `${batcher.pendingCount} saved file${batcher.pendingCount === 1 ? '' : 's'}`;
            if (why && !heldBack) this.opts.log(`upload on save to ${t.name}: holding back ${files}: ${why}`);
            else if (!why && heldBack) this.opts.log(`upload on save to ${t.name}: git is done, uploading ${files}`);
            heldBack = why !== null;
            return heldBack;
          },
          flush: async (files) => {
            // re-read the target: settings may have changed since the save
            const now = this.opts.targets(where.folder).find((x) => x.name === t.name && x.uploadOnSave);
            if (!now) {
              this.opts.log(`upload on save to ${t.name}: not uploading ${files.length} saved file(s): the target is no longer in blit.targets with uploadOnSave`);
              return;
            }
            let outcome: JobOutcome;
            try {
              outcome = await this.opts.run(buildRequest({ kind: 'upload', target: now, folder: where.folder, gitignore: this.opts.gitignore(where.folder), files, where: this.opts.folderLabel?.(where.folder) }), now);
            } catch (e) {
              outcome = { kind: 'failed', message: this.opts.describeError(e, now) };
            }
            // cancelled by the user (Blit: Cancel Transfer): said in the log only, and it neither
            // clears nor repeats a failure shown for this target
            if (outcome.kind === 'cancelled') this.opts.log(`upload on save to ${now.name}: ${outcome.message}`);
            else this.report(key, now, outcome.kind === 'failed' ? outcome.message : null);
          },
          onError: (e) => this.report(key, t, this.opts.describeError(e, t)),
          ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        });
        b = batcher;
        this.batchers.set(key, b);
      }
      b.add(where.rel);
    }
    return targets.length;
  }

  /** Shows a failure unless the same one was shown for this target since its last good upload. */
  private report(key: string, t: Target, failure: string | null): void {
    if (failure === null) {
      this.shown.delete(key);
      return;
    }
    if (this.shown.get(key) === failure) {
      this.opts.log(`upload on save to ${t.name} failed again (not shown again until an upload succeeds): ${failure}`);
      return;
    }
    this.shown.set(key, failure);
    this.opts.notify(failure, t);
  }

  dispose(): void {
    for (const b of this.batchers.values()) b.dispose();
    for (const m of this.monitors.values()) m?.stop();
    this.batchers.clear();
    this.monitors.clear();
  }
}
