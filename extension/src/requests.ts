/**
 * What each command asks blitd to do: the StartTransfer request for push, pull, mirror, preview
 * and upload on save, built from a target and a workspace folder. rsync path semantics: a source
 * with a trailing '/' transfers its contents. Pure: no `vscode` import.
 */
import type { TransferRequest } from './daemon-client';
import { remoteSpec, type Target } from './targets';

export type SyncKind = 'push' | 'pull' | 'mirror' | 'preview-push' | 'preview-mirror' | 'upload';

export interface RequestInput {
  kind: SyncKind;
  target: Target;
  /** Absolute path of the workspace folder. */
  folder: string;
  /** Honour .gitignore (setting blit.gitignore, default true). */
  gitignore: boolean;
  /** For mirror: the user confirmed the deletions. */
  deleteConfirmed?: boolean;
  /** For upload: the saved files, relative to the folder. */
  files?: string[];
  /** The folder's name, added to the label when several folders are open (else two jobs read alike). */
  where?: string;
}

const withSlash = (p: string) => (p.endsWith('/') ? p : `${p}/`);

/** The exclude patterns blitd gets for `target` (upload on save matches a saved file against the same list). */
export function requestExcludes(target: Target, gitignore: boolean): string[] {
  // Git metadata never leaves the machine with a git-aware sync: it is not part of the workspace.
  return gitignore ? ['.git', ...target.excludes.filter((e) => e !== '.git')] : [...target.excludes];
}

export function buildRequest(i: RequestInput): TransferRequest {
  const t = i.target;
  const excludes = requestExcludes(t, i.gitignore);
  const base = { excludes, gitignore: i.gitignore, deleteConfirmed: false, dryRun: false };
  const push = { source: withSlash(i.folder), destination: remoteSpec(t) };
  const of = i.where ? ` (${i.where})` : '';
  switch (i.kind) {
    case 'push':
      return { ...base, ...push, mode: 'copy', label: `Push to ${t.name}${of}` };
    case 'preview-push':
      return { ...base, ...push, mode: 'copy', dryRun: true, label: `Preview push to ${t.name}${of}` };
    case 'preview-mirror':
      return { ...base, ...push, mode: 'mirror', dryRun: true, label: `Preview mirror to ${t.name}${of}` };
    case 'mirror':
      return { ...base, ...push, mode: 'mirror', deleteConfirmed: Boolean(i.deleteConfirmed), label: `Mirror to ${t.name}${of}` };
    case 'pull':
      return { ...base, source: remoteSpec(t, true), destination: i.folder, mode: 'copy', label: `Pull from ${t.name}${of}` };
    case 'upload': {
      const files = (i.files ?? []).filter((f) => f !== '' && !f.startsWith('../') && !f.startsWith('/'));
      if (files.length === 0) throw new Error('upload on save: no files inside the workspace folder');
      // The exact names: files_from carries each path byte-exact (no comments, no trimming, no
      // globs), so `[a].txt`, `#x`, ` lead` or a name with a line break name only themselves.
      return { ...base, ...push, mode: 'copy', filesFrom: files, label: `Upload ${files.length === 1 ? files[0] : `${files.length} files`} to ${t.name}${of}` };
    }
  }
}

/** How many remote entries a mirror dry run says would be deleted. */
export function countDeletions(items: Array<{ action: string }>, summary: { entriesDeleted: number; deletionsSkipped: number } | null): number {
  const fromItems = items.filter((x) => x.action === 'delete').length;
  const fromSummary = summary ? Math.max(summary.entriesDeleted, summary.deletionsSkipped) : 0;
  return Math.max(fromItems, fromSummary);
}

/** The preview listing, one line per file: `+ new`, `~ changed`, `- deleted`, `d dir`, `l link`. */
export function formatPreview(items: Array<{ action: string; path: string; size: number }>): string[] {
  const mark: Record<string, string> = { create: '+', update: '~', delete: '-', mkdir: 'd', symlink: 'l', skip: '=' };
  return items.filter((x) => x.action !== 'skip').map((x) => `${mark[x.action] ?? '?'} ${x.path}${x.action === 'create' || x.action === 'update' ? ` (${x.size} B)` : ''}`);
}
