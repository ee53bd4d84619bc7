/**
 * VS Code entry: wires commands, the "Blit Transfers" tree, the status bar, progress notifications
 * and upload on save to the local blitd (DaemonManager). The extension never copies a file itself:
 * every sync is a StartTransfer on the daemon.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DAEMON_UNAVAILABLE, DaemonCallError, type DaemonClient, type TransferRequest } from './daemon-client';
import { DaemonManager, defaultSocketPath } from './daemon-manager';
import { followDaemon, JobTracker } from './job-tracker';
import { isFinished, percentDone, statusText, type JobRecord } from './jobs';
import { messageForError, outcomeOfJob, type JobOutcome } from './messages';
import { buildRequest, countDeletions, formatPreview, type SyncKind } from './requests';
import { chooseTarget, describeTarget, parseTarget, parseTargets, targetToSetting, TargetConfigError, type Target } from './targets';
import { askForTarget } from './add-target';
import { TransfersTreeProvider } from './tree-view';
import { UploadOnSave } from './upload-on-save';

/** Arguments commands accept when run programmatically (tests, keybindings). */
export interface CommandArgs {
  /** Target name; otherwise the only target, or a quick pick. */
  target?: string;
  /** Workspace folder path; otherwise the only folder, or a quick pick. */
  folder?: string;
  /** false: return once the job started (default: wait for it to finish). */
  wait?: boolean;
  /** Mirror only: skip the confirmation modal (the dry run still runs and is reported). */
  assumeYes?: boolean;
  /** Cancel only: the job to cancel. */
  jobId?: string;
}

/** What a sync command returns: JSON-friendly, so tests can check it. */
export interface CommandResult {
  jobId?: string;
  state?: string;
  summary?: JobRecord['job']['summary'];
  items?: JobRecord['items'];
  failures?: JobRecord['failures'];
  deletions?: number;
  error?: string;
  lines?: string[];
}

/** How many of the output channel's lines the API keeps readable. */
const RECENT_LOG_LINES = 500;

class Blit {
  readonly output = vscode.window.createOutputChannel('Blit');
  readonly previewOutput = vscode.window.createOutputChannel('Blit Preview');
  readonly tree = new TransfersTreeProvider();
  readonly tracker: JobTracker;
  readonly manager: DaemonManager;
  readonly status = vscode.window.createStatusBarItem('blit.status', vscode.StatusBarAlignment.Left, 10);
  readonly uploads: UploadOnSave;
  /** Push, mirror or pull jobs running, by job id: upload on save to the same folder + target waits for them. */
  private readonly wholeTreeJobs = new Map<string, { folder: string; target: string; label: string }>();
  /** The output channel's last lines, as written (the channel itself cannot be read back). */
  readonly recentLog: string[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    const log = (line: string) => this.log(line);
    this.tracker = new JobTracker(log);
    const socket = vscode.workspace.getConfiguration('blit').get<string>('daemonSocket') || defaultSocketPath();
    this.manager = new DaemonManager({
      nodePath: process.execPath,
      daemonScript: context.asAbsolutePath(path.join('bundle', 'blitd.js')),
      socketPath: socket,
      rootDir: path.join(context.globalStorageUri?.fsPath ?? path.join(os.tmpdir(), 'blit-vscode'), 'daemon-root'),
      log,
    });
    followDaemon(this.tracker, this.manager);
    this.tracker.onChange((jobs) => {
      this.tree.update(jobs);
      this.updateStatus(jobs);
    });
    this.status.name = 'Blit transfer';
    this.status.command = 'blit.transfers.focus';
    this.uploads = new UploadOnSave({
      targets: (folder) => this.targets(folder),
      gitignore: (folder) => this.gitignoreSetting(folder),
      delayMs: (folder) => this.config(folder).get<number>('uploadOnSaveDelayMs') ?? 400,
      folderLabel: (folder) => this.folderLabel(folder),
      run: async (req, target) => outcomeOfJob((await this.runJob(req, { notify: false })).job, target),
      describeError: (e, target) => messageForError(e, target),
      notify: (message) => this.showError(message),
      busy: (folder, target) => {
        const j = [...this.wholeTreeJobs.values()].find((x) => x.folder === folder && x.target === target);
        return j ? `${j.label} is running` : null;
      },
      log,
    });
  }

  log(line: string): void {
    const stamped = `[${new Date().toISOString()}] ${line}`;
    this.output.appendLine(stamped);
    this.recentLog.push(stamped);
    if (this.recentLog.length > RECENT_LOG_LINES) this.recentLog.splice(0, this.recentLog.length - RECENT_LOG_LINES);
  }

  /**
   * The blit settings as seen from `folder`: in a multi-root workspace each folder may have its own
   * blit.targets (resource-scoped settings, read with the folder's URI); without a folder, the
   * workspace's (or user's) values.
   */
  config(folder?: string): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('blit', folder === undefined ? undefined : vscode.Uri.file(folder));
  }

  gitignoreSetting(folder?: string): boolean {
    return this.config(folder).get<boolean>('gitignore') ?? true;
  }

  private warnedSettings = '';

  targets(folder?: string): Target[] {
    const { targets, errors } = parseTargets(this.config(folder).get('targets'));
    if (errors.length && targets.length === 0) throw errors[0];
    // in a multi-root workspace, say whose settings hold the bad entry
    const whose = folder !== undefined && (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? ` (folder ${folder})` : '';
    const text = errors.map((e) => e.message).join('; ') + whose;
    if (errors.length && text !== this.warnedSettings) {
      // valid entries stay usable; say once (per distinct problem) which entries were skipped
      this.warnedSettings = text;
      for (const e of errors) this.log(`settings${whose}: ${e.message}`);
      void vscode.window.showWarningMessage(`Blit settings${whose}: ${errors[0]!.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}; that entry is skipped.`, 'Show Log').then((a) => {
        if (a) this.output.show(true);
      });
    }
    return targets;
  }

  updateStatus(jobs: ReadonlyMap<string, JobRecord>): void {
    const text = statusText(jobs);
    if (text === null) {
      this.status.hide();
      return;
    }
    this.status.text = `$(sync~spin) ${text}`;
    this.status.tooltip = 'Blit: show transfers';
    this.status.show();
  }

  /** A finished job as the user sees it: nothing, an information for a cancel, or an error. */
  tell(outcome: JobOutcome): void {
    if (outcome.kind === 'cancelled') this.showInfo(outcome.message);
    else if (outcome.kind === 'failed') this.showError(outcome.message);
  }

  showInfo(message: string): void {
    this.log(`info: ${message}`);
    void vscode.window.showInformationMessage(message);
  }

  showError(message: string): void {
    this.log(`error: ${message}`);
    void vscode.window.showErrorMessage(message, 'Show Log').then((a) => {
      if (a === 'Show Log') this.output.show(true);
    });
  }

  async client(): Promise<DaemonClient> {
    const c = await this.manager.ensure();
    await this.tracker.attach(c);
    return c;
  }

  /** A target of `folder`'s settings: the one named, the only one, or the user's pick. */
  async pickTarget(name: string | undefined, folder: string): Promise<Target | undefined> {
    const choice = chooseTarget(this.targets(folder), name);
    if (choice.kind === 'one') return choice.target;
    if (choice.kind === 'none') {
      if (name !== undefined) throw new TargetConfigError('blit.targets', choice.message);
      const a = await vscode.window.showWarningMessage(choice.message, 'Add Remote Target');
      if (a) await vscode.commands.executeCommand('blit.addTarget');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      choice.candidates.map((t) => ({ label: t.name, description: describeTarget(t), target: t })),
      { placeHolder: 'Blit target' },
    );
    return picked?.target;
  }

  async pickFolder(folder?: string): Promise<string | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folder) return folder;
    if (folders.length === 0) {
      void vscode.window.showWarningMessage('Blit: open a folder first.');
      return undefined;
    }
    if (folders.length === 1) return folders[0]!.uri.fsPath;
    const f = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Workspace folder to sync' });
    return f?.uri.fsPath;
  }

  /** Starts a job and (by default) waits for it, with a cancellable progress notification. */
  async runJob(req: ReturnType<typeof buildRequest>, opts: { notify: boolean; wait?: boolean; tree?: { folder: string; target: string } }): Promise<JobRecord> {
    let client = await this.client();
    let jobId: string;
    try {
      jobId = await client.startTransfer(req);
    } catch (e) {
      // the daemon we attached to went away with its window since the last call: start one, retry once
      if (!(e instanceof DaemonCallError && e.code === DAEMON_UNAVAILABLE) || (await this.manager.checkAlive(client))) throw e;
      client = await this.client();
      jobId = await client.startTransfer(req);
    }
    this.log(`job ${jobId}: ${req.label} (${req.source} -> ${req.destination}${req.dryRun ? ', dry run' : ''})`);
    const done = this.tracker.waitFor(jobId);
    if (opts.tree && !req.dryRun) {
      this.wholeTreeJobs.set(jobId, { ...opts.tree, label: req.label });
      void done.finally(() => this.wholeTreeJobs.delete(jobId));
    }
    if (opts.notify) {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Blit: ${req.label}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => void client.cancelJob(jobId).catch((e) => this.showError(messageForError(e))));
          let last = 0;
          const off = this.tracker.onChange((jobs) => {
            const j = jobs.get(jobId)?.job;
            if (!j) return;
            const pct = percentDone(j) ?? 0;
            progress.report({ increment: Math.max(0, pct - last), message: `${pct}%` });
            last = Math.max(last, pct);
          });
          try {
            await done;
          } finally {
            off();
          }
        },
      );
    }
    if (opts.wait === false) {
      const rec = this.tracker.get(jobId);
      return rec ?? { job: { id: jobId, label: req.label, kind: 'push', state: 'queued', filesDone: 0, bytesDone: 0, filesPlanned: 0, bytesPlanned: 0, scanComplete: false, bytesPerSecond: 0, etaSeconds: null, startedAtMs: Date.now(), finishedAtMs: 0, summary: null, error: null, inFlight: [] }, items: [], failures: [], itemsDropped: 0 };
    }
    return done;
  }

  result(rec: JobRecord, extra: Partial<CommandResult> = {}): CommandResult {
    return { jobId: rec.job.id, state: rec.job.state, summary: rec.job.summary, items: rec.items, failures: rec.failures, ...extra };
  }

  /**
   * The folder, then one of its targets (in a multi-root workspace each folder has its own
   * blit.targets). Undefined when the user dismissed a picker.
   */
  async pickFolderAndTarget(args: CommandArgs): Promise<{ folder: string; target: Target } | undefined> {
    const folder = await this.pickFolder(args.folder);
    const target = folder === undefined ? undefined : await this.pickTarget(args.target, folder);
    return folder !== undefined && target ? { folder, target } : undefined;
  }

  /** The request of `kind` from a picked folder to its target, with that folder's settings. */
  requestFor(kind: SyncKind, picked: { folder: string; target: Target }, deleteConfirmed = false): TransferRequest {
    const { folder, target } = picked;
    return buildRequest({ kind, target, folder, gitignore: this.gitignoreSetting(folder), where: this.folderLabel(folder), deleteConfirmed });
  }

  /** push / pull: one job, progress, one message on failure (an information when cancelled). */
  async sync(kind: Extract<SyncKind, 'push' | 'pull'>, args: CommandArgs): Promise<CommandResult> {
    let target: Target | undefined;
    try {
      const picked = await this.pickFolderAndTarget(args);
      if (!picked) return { error: 'cancelled by the user' };
      target = picked.target;
      const { folder } = picked;
      const req = this.requestFor(kind, picked);
      const rec = await this.runJob(req, { notify: true, wait: args.wait, tree: { folder, target: target.name } });
      if (args.wait === false) return this.result(rec);
      const outcome = outcomeOfJob(rec.job, target);
      this.tell(outcome);
      if (outcome.kind === 'ok') void vscode.window.setStatusBarMessage(`Blit: ${req.label} done`, 5000);
      return this.result(rec, outcome.kind === 'ok' ? {} : { error: outcome.message });
    } catch (e) {
      const msg = messageForError(e, target);
      this.showError(msg);
      return { error: msg };
    }
  }

  async preview(args: CommandArgs & { mirror?: boolean }): Promise<CommandResult> {
    let target: Target | undefined;
    try {
      const picked = await this.pickFolderAndTarget(args);
      if (!picked) return { error: 'cancelled by the user' };
      target = picked.target;
      const req = this.requestFor(args.mirror ? 'preview-mirror' : 'preview-push', picked);
      // a dry run of a big tree takes a while: a cancellable notification, as for the real run
      const rec = await this.runJob(req, { notify: true });
      const outcome = outcomeOfJob(rec.job, target);
      if (outcome.kind !== 'ok') {
        this.tell(outcome);
        return this.result(rec, { error: outcome.message });
      }
      const lines = formatPreview(rec.items);
      this.previewOutput.clear();
      this.previewOutput.appendLine(`${req.label}: ${req.source} -> ${req.destination} (dry run, nothing changed)`);
      for (const l of lines) this.previewOutput.appendLine(l);
      if (rec.itemsDropped) this.previewOutput.appendLine(`… and ${rec.itemsDropped} more`);
      this.previewOutput.appendLine(lines.length ? `${lines.length} change(s)` : 'Already in sync: nothing would change.');
      this.previewOutput.show(true);
      return this.result(rec, { lines });
    } catch (e) {
      const msg = messageForError(e, target);
      this.showError(msg);
      return { error: msg };
    }
  }

  async mirror(args: CommandArgs): Promise<CommandResult> {
    let target: Target | undefined;
    try {
      const picked = await this.pickFolderAndTarget(args);
      if (!picked) return { error: 'cancelled by the user' };
      target = picked.target;
      const { folder } = picked;
      const dry = await this.runJob(this.requestFor('preview-mirror', picked), { notify: true });
      const dryOutcome = outcomeOfJob(dry.job, target);
      if (dryOutcome.kind !== 'ok') {
        this.tell(dryOutcome);
        return this.result(dry, { error: dryOutcome.message });
      }
      const deletions = countDeletions(dry.items, dry.job.summary);
      if (!args.assumeYes) {
        const text = deletions
          ? `Mirror to ${describeTarget(target)} will DELETE ${deletions} remote file(s) that are not in the workspace.`
          : `Mirror to ${describeTarget(target)}: no remote files will be deleted.`;
        const ok = await vscode.window.showWarningMessage(text, { modal: true, detail: 'Run "Blit: Preview Sync (Dry Run)" to see the list.' }, 'Mirror');
        if (ok !== 'Mirror') return { deletions, error: 'cancelled by the user' };
      }
      const rec = await this.runJob(this.requestFor('mirror', picked, true), { notify: true, wait: args.wait, tree: { folder, target: target.name } });
      const outcome: JobOutcome = args.wait === false ? { kind: 'ok' } : outcomeOfJob(rec.job, target);
      this.tell(outcome);
      return this.result(rec, { deletions, ...(outcome.kind === 'ok' ? {} : { error: outcome.message }) });
    } catch (e) {
      const msg = messageForError(e, target);
      this.showError(msg);
      return { error: msg };
    }
  }

  /** The folder's name for job labels when the workspace has several folders, else undefined. */
  folderLabel(folder: string): string | undefined {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length < 2) return undefined;
    return folders.find((f) => f.uri.fsPath === folder)?.name ?? path.basename(folder);
  }

  async cancel(args: CommandArgs): Promise<CommandResult> {
    try {
      const client = await this.client();
      let jobId = args.jobId;
      if (!jobId) {
        const running = [...this.tracker.snapshot.values()].filter((r) => !isFinished(r.job.state));
        if (running.length === 0) {
          void vscode.window.showInformationMessage('Blit: no transfer is running.');
          return { error: 'no transfer is running' };
        }
        if (running.length === 1) jobId = running[0]!.job.id;
        else {
          const pick = await vscode.window.showQuickPick(running.map((r) => ({ label: r.job.label, description: r.job.id, id: r.job.id })), { placeHolder: 'Transfer to cancel' });
          if (!pick) return { error: 'cancelled by the user' };
          jobId = pick.id;
        }
      }
      const res = await client.cancelJob(jobId);
      this.log(`cancel ${jobId}: ${res.cancelled ? 'cancelled' : res.message}`);
      if (!res.cancelled) void vscode.window.showInformationMessage(`Blit: ${res.message || 'the transfer had already finished'}`);
      const rec = await this.tracker.waitFor(jobId);
      return this.result(rec);
    } catch (e) {
      const msg = messageForError(e);
      this.showError(msg);
      return { error: msg };
    }
  }

  /**
   * Appends a target to blit.targets: the workspace settings when one folder is open; in a
   * multi-root workspace the chosen folder's settings (a folder's own blit.targets hides the
   * workspace's, so a target written there would not be seen from it); user settings otherwise.
   */
  async addTarget(args: { values?: Record<string, unknown>; folder?: string } = {}): Promise<CommandResult> {
    try {
      const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
      const folder = multi ? await this.pickFolder(args.folder) : undefined;
      if (multi && folder === undefined) return { error: 'cancelled by the user' };
      const raw = args.values ?? (await askForTarget());
      if (!raw) return { error: 'cancelled by the user' };
      const t = parseTarget(raw, 'new target');
      const cfg = this.config(folder);
      const existing = (cfg.get<unknown[]>('targets') ?? []).filter((x) => (x as { name?: unknown })?.name !== t.name);
      const scope = folder !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder
        : vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await cfg.update('targets', [...existing, targetToSetting(t)], scope);
      void vscode.window.showInformationMessage(`Blit: added target ${describeTarget(t)}`);
      return {};
    } catch (e) {
      const msg = messageForError(e);
      this.showError(msg);
      return { error: msg };
    }
  }

  async dispose(): Promise<void> {
    this.uploads.dispose();
    this.tracker.dispose();
    this.tree.dispose();
    this.status.dispose();
    await this.manager.dispose();
    this.output.dispose();
    this.previewOutput.dispose();
  }
}

let blit: Blit | undefined;

/** The extension's exports: read-only views of its state (tests, other extensions). */
export interface BlitApi {
  jobs: () => ReadonlyMap<string, JobRecord>;
  daemonPid: () => number | undefined;
  /** The Blit Transfers view's data provider, exactly as the workbench renders it. */
  tree: () => TransfersTreeProvider;
  /** The "Blit" output channel's last lines (up to 500), each as written there, timestamp first. */
  log: () => readonly string[];
}

export function activate(context: vscode.ExtensionContext): BlitApi {
  const b = new Blit(context);
  blit = b;
  const reg = (id: string, fn: (args?: any) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('blit.push', (a: CommandArgs = {}) => b.sync('push', a));
  reg('blit.pull', (a: CommandArgs = {}) => b.sync('pull', a));
  reg('blit.mirror', (a: CommandArgs = {}) => b.mirror(a));
  reg('blit.preview', (a: CommandArgs & { mirror?: boolean } = {}) => b.preview(a));
  reg('blit.cancel', (a: CommandArgs = {}) => b.cancel(a));
  reg('blit.addTarget', (a: { values?: Record<string, unknown>; folder?: string } = {}) => b.addTarget(a));
  reg('blit.showLog', () => b.output.show(true));
  context.subscriptions.push(
    vscode.window.createTreeView('blit.transfers', { treeDataProvider: b.tree, showCollapseAll: true }),
    vscode.workspace.onDidSaveTextDocument((doc) => b.uploads.onSaved(doc.uri.fsPath, (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath))),
  );
  b.log(`Blit extension activated (VS Code ${vscode.version}, node ${process.version})`);
  // Show jobs a daemon already runs (e.g. started from another window) without starting one.
  void b.manager.attachIfRunning().then((c) => (c ? b.tracker.attach(c) : undefined)).catch(() => {});
  // API for tests and other extensions: read-only views of the state.
  return { jobs: () => b.tracker.snapshot, daemonPid: () => b.manager.pid, tree: () => b.tree, log: () => [...b.recentLog] };
}

export async function deactivate(): Promise<void> {
  const b = blit;
  blit = undefined;
  await b?.dispose();
}
