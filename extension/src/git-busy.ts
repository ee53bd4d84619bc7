/**
 * Detects a git operation rewriting the working tree (checkout, rebase, merge), so upload on save
 * pauses instead of pushing a storm of half-switched files. Busy while a lock or an in-progress
 * marker exists, and for a settle period after HEAD or the index last changed. Pure apart from
 * reading the file system (no `vscode` import).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Files and directories that exist only while git is in the middle of rewriting the tree. */
export const BUSY_MARKERS = ['index.lock', 'HEAD.lock', 'rebase-merge', 'rebase-apply', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'BISECT_LOG'];

/** The git directory of a work tree: `.git` itself, or where a `.git` file (worktree) points. */
export function findGitDir(workTree: string): string | null {
  const dotGit = path.join(workTree, '.git');
  let st: fs.Stats;
  try {
    st = fs.statSync(dotGit);
  } catch {
    return null;
  }
  if (st.isDirectory()) return dotGit;
  try {
    const m = /^gitdir:\s*(.+)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m) return path.resolve(workTree, m[1]!.trim());
  } catch {
    /* unreadable .git file: not a work tree we understand */
  }
  return null;
}

/** Which busy markers are present right now. */
export function presentMarkers(gitDir: string): string[] {
  return BUSY_MARKERS.filter((m) => fs.existsSync(path.join(gitDir, m)));
}

export class GitBusyMonitor {
  private lastChangeMs = -Infinity;
  private watcher: fs.FSWatcher | undefined;

  constructor(
    readonly gitDir: string,
    private readonly settleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching the git dir (HEAD, index, locks). Safe to call once. */
  start(): void {
    if (this.watcher) return;
    try {
      this.watcher = fs.watch(this.gitDir, { persistent: false }, (_ev, name) => {
        if (name === null || name === 'HEAD' || name === 'index' || BUSY_MARKERS.includes(String(name).replace(/\/.*$/, ''))) this.noteChange();
      });
      this.watcher.on('error', () => this.stop());
    } catch {
      this.watcher = undefined; // git dir vanished: markers are still checked on demand
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Records that git touched HEAD/the index (called by the watcher, or by tests). */
  noteChange(): void {
    this.lastChangeMs = this.now();
  }

  /** Why uploads should wait right now, or null when the tree is quiet. */
  busyReason(): string | null {
    const markers = presentMarkers(this.gitDir);
    if (markers.length) return `git operation in progress (${markers.join(', ')})`;
    const since = this.now() - this.lastChangeMs;
    if (since < this.settleMs) return `git changed HEAD/index ${since} ms ago`;
    return null;
  }
}
