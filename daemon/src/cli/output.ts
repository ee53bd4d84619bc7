/**
 * Text and JSON forms of what a transfer did: rsync-like itemized lines, the one-line totals, the
 * `--json` summary object. Pure functions; the command decides which stream they go to.
 */
import type { EntryKind, Failure, ItemAction, TransferMode, TransferSummary } from '../engine/types';

/** Counts of itemized changes, gathered from `item` events (the dry-run totals come from here). */
export interface ItemTally {
  create: number;
  update: number;
  delete: number;
  mkdir: number;
  symlink: number;
  /** Bytes of the files to create or update. */
  bytes: number;
}

export function emptyTally(): ItemTally {
  return { create: 0, update: 0, delete: 0, mkdir: 0, symlink: 0, bytes: 0 };
}

export function addToTally(t: ItemTally, action: ItemAction, kind: EntryKind, size: number): void {
  if (action === 'skip') return;
  t[action]++;
  if ((action === 'create' || action === 'update') && kind === 'file') t.bytes += size;
}

/**
 * Text for one line of a terminal or a line-oriented reader: C0 controls and DEL as `\xNN`, C1
 * controls as `\u00NN`. A newline in a file name would split an itemized line in two, and an ESC
 * would reach the terminal (rsync prints `\#012`). Unambiguous for paths from displayPath, which
 * already shows a backslash as `\\` and a byte that is not UTF-8 as `\xNN`.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x80 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/**
 * One itemized line: the action padded to 7 columns, then the path; directories end in '/'.
 * Returns null for actions that change nothing ('skip').
 */
export function itemLine(action: ItemAction, path: string, kind: EntryKind): string | null {
  if (action === 'skip') return null;
  // The transfer root itself has the empty path; rsync shows it as './'.
  const base = path === '' ? '.' : printable(path);
  const shown = kind === 'dir' && !base.endsWith('/') ? `${base}/` : base;
  return `${action.padEnd(7)} ${shown}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** The one-line total after a dry run's itemized list. */
export function dryRunTotal(t: ItemTally, deletionsNeedYes: boolean): string {
  const parts = [
    `${t.create} to create`,
    `${t.update} to update`,
    `${plural(t.mkdir, 'directory', 'directories')} to make`,
    `${plural(t.symlink, 'symlink')} to make`,
    `${t.delete} to delete${deletionsNeedYes && t.delete > 0 ? ' (needs --yes)' : ''}`,
  ];
  return `dry run: ${parts.join(', ')}; ${formatBytes(t.bytes)} to send; nothing changed`;
}

/** The one-line total after a real run. */
export function runTotal(mode: TransferMode, s: TransferSummary): string {
  const verb = mode === 'move' ? 'moved' : 'copied';
  const parts = [`${verb} ${plural(s.filesTransferred, 'file')} (${formatBytes(s.bytesTransferred)})`];
  if (s.filesUnchanged > 0) parts.push(`${s.filesUnchanged} unchanged`);
  if (s.dirsCreated > 0) parts.push(`${plural(s.dirsCreated, 'directory', 'directories')} created`);
  if (s.symlinksCreated > 0) parts.push(`${plural(s.symlinksCreated, 'symlink')} created`);
  if (mode === 'mirror') parts.push(`${s.entriesDeleted} deleted`);
  if (s.failures.length > 0) parts.push(`${s.failures.length} failed`);
  if (s.skippedInFailedDirs) parts.push(`${s.skippedInFailedDirs} not copied in failed directories`);
  return `${parts.join(', ')} in ${formatDuration(s.durationMs)}`;
}

export function failureLine(f: Failure): string {
  return `blit: failed: ${printable(f.path)}: ${printable(f.reason)} [${f.code}]`;
}

/** The `--json` object: the engine summary plus what was asked, one line. */
export function summaryJson(mode: TransferMode, src: string, dst: string, s: TransferSummary): string {
  const out = {
    mode,
    source: src,
    destination: dst,
    ok: s.failures.length === 0,
    filesTransferred: s.filesTransferred,
    bytesTransferred: s.bytesTransferred,
    dirsCreated: s.dirsCreated,
    symlinksCreated: s.symlinksCreated,
    filesUnchanged: s.filesUnchanged,
    entriesDeleted: s.entriesDeleted,
    deletionsSkipped: s.deletionsSkipped,
    skippedInFailedDirs: s.skippedInFailedDirs ?? 0,
    failures: s.failures.map((f) => ({ path: f.path, code: f.code, reason: f.reason })),
    durationMs: s.durationMs,
    firstByteMs: s.firstByteMs,
    dryRun: s.dryRun,
    ...(s.zeroCopy !== undefined ? { zeroCopy: s.zeroCopy } : {}),
    ...(s.tcpDataPlane !== undefined ? { tcpDataPlane: s.tcpDataPlane } : {}),
    ...(s.bytesPerSecond !== undefined ? { bytesPerSecond: s.bytesPerSecond } : {}),
  };
  return JSON.stringify(out);
}

/** The `--json` object for a run that ended in a fatal error (stdout still gets one object). */
export function errorJson(mode: TransferMode, src: string, dst: string, code: string, message: string, path?: string): string {
  return JSON.stringify({ mode, source: src, destination: dst, ok: false, error: { code, message, ...(path ? { path } : {}) } });
}

/**
 * Two passes of one mirror (the copy pass with deletions held back, then the confirmed deletion
 * pass) reported as one run.
 */
export function mergeSummaries(first: TransferSummary, second: TransferSummary): TransferSummary {
  return {
    filesTransferred: first.filesTransferred + second.filesTransferred,
    bytesTransferred: first.bytesTransferred + second.bytesTransferred,
    dirsCreated: first.dirsCreated + second.dirsCreated,
    symlinksCreated: first.symlinksCreated + second.symlinksCreated,
    entriesDeleted: first.entriesDeleted + second.entriesDeleted,
    deletionsSkipped: second.deletionsSkipped,
    filesUnchanged: first.filesUnchanged,
    skippedInFailedDirs: (first.skippedInFailedDirs ?? 0) + (second.skippedInFailedDirs ?? 0),
    failures: [...first.failures, ...second.failures],
    durationMs: first.durationMs + second.durationMs,
    firstByteMs: first.firstByteMs ?? second.firstByteMs,
    dryRun: first.dryRun,
    ...(first.zeroCopy !== undefined ? { zeroCopy: first.zeroCopy } : {}),
    ...(first.tcpDataPlane !== undefined ? { tcpDataPlane: first.tcpDataPlane } : {}),
    ...(first.bytesPerSecond !== undefined ? { bytesPerSecond: first.bytesPerSecond } : {}),
  };
}
