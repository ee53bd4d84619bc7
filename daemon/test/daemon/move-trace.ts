/**
 * Reading a move's durability order from strace (move-remote, move-sync): blit and blitd each
 * run under `strace -f -ttt -T -y` on this machine (one clock); a source unlink must start after
 * the end of a syncfs of its copy's filesystem that started after the copy's rename onto its name.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Daemon } from './harness';
import { releaseTraced, tracedPid } from '../strace-stops';

export interface Call {
  /** The thread (strace -f prints the tid; the main thread's is the process id). */
  tid: number;
  name: string;
  args: string;
  start: number;
  end: number;
}

// execve: its tid is the main thread's (mainThread).
const TRACED = 'trace=execve,syncfs,fdatasync,rename,renameat,renameat2,unlink,unlinkat';

/** strace -f -ttt -T -y output → successful calls with start and end times. */
export function parseTrace(file: string): Call[] {
  const open = new Map<string, { text: string; start: number }>();
  const calls: Call[] = [];
  for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ts, rest] = m as unknown as [string, string, string, string];
    const t = Number(ts);
    const unfinished = /^(\w+\(.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, { text: unfinished[1]!, start: t });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    const begun = resumed ? open.get(pid) : undefined;
    if (resumed) open.delete(pid);
    const full = resumed ? `${begun?.text ?? `${resumed[1]}(`}${resumed[2]}` : rest;
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+).*<(\d+\.\d+)>$/.exec(full);
    if (!call || call[3] === '-1') continue;
    const start = resumed ? (begun?.start ?? t) : t;
    calls.push({ tid: Number(pid), name: call[1]!, args: call[2]!, start, end: resumed ? t : t + Number(call[4]) });
  }
  return calls;
}

export function strace(out: string): string[] {
  return ['strace', '-f', '-qq', '-y', '-ttt', '-T', '-o', out, '-e', TRACED, '--'];
}

/** `<path>` of an strace -y fd argument at or below `root`. */
const fdBelow = (args: string, root: string): boolean => args.includes(`<${root}>`) || args.includes(`<${root}/`);

/**
 * Each file of `files` (and `same`, identical at the destination before the move): its source
 * unlink (in `unlinks`, matched by `srcName`) starts after the end of a syncfs in `syncs` of the
 * filesystem its copy is on, which started after the last rename onto its name. That filesystem:
 * the one of `dstRoot`, or for a file below one of `mounts` (mount points inside dstRoot), that
 * mount's (a syncfs through a directory below it).
 */
export function assertDurableFirst(files: string[], unlinks: Call[], syncs: Call[], srcName: (rel: string) => string, dstRoot: string, mounts: string[] = []): void {
  const syncfs = syncs.filter((c) => c.name === 'syncfs');
  const fsOf = (abs: string): string | undefined => mounts.find((m) => abs.startsWith(`${m}/`));
  for (const rel of [...files, 'same']) {
    const gone = unlinks.find((c) => /^unlink/.test(c.name) && c.args.includes(`${srcName(rel)}"`));
    assert.ok(gone, `no unlink of the source ${rel}`);
    const base = path.basename(rel);
    // Onto a path (".../name") or, from a writer that holds the directory's fd, relative to it
    // (strace -y: `7</dst/dir>, "name"`).
    const renames = syncs.filter((c) => /^rename/.test(c.name) && (c.args.endsWith(`/${base}"`) || c.args.endsWith(`>, "${base}"`)) && c.end < gone.start);
    if (rel !== 'same') assert.ok(renames.length > 0, `no rename onto ${rel} before its source was unlinked`);
    const named = renames.length > 0 ? renames[renames.length - 1]!.end : 0;
    const mount = fsOf(path.join(dstRoot, rel));
    const onItsFs = (args: string): boolean =>
      mount ? fdBelow(args, mount) : fdBelow(args, dstRoot) && !mounts.some((m) => fdBelow(args, m));
    assert.ok(
      syncfs.some((s) => onItsFs(s.args) && s.start >= named && s.end <= gone.start),
      `${rel}: source unlinked at ${gone.start} without a syncfs of ${mount ? `the filesystem mounted on ${mount}` : 'the destination filesystem'} between its rename (${named}) and then`,
    );
  }
}

/** Every syncfs in `calls` ran off the main thread (blitd's serves gRPC; blit's its streams). */
export function assertSyncfsOffMainThread(calls: Call[], who: string): void {
  const main = calls.find((c) => c.name === 'execve')?.tid;
  assert.ok(main, `${who}: no execve in the trace (the main thread's id)`);
  const syncs = calls.filter((c) => c.name === 'syncfs');
  assert.ok(syncs.length > 0, `${who}: no syncfs`);
  for (const s of syncs) assert.notEqual(s.tid, main, `${who}: syncfs(${s.args}) ran on the main thread (${main})`);
}

/** Ends blitd under strace once it ran (releaseTraced), the trace complete. */
export async function stopTraced(daemon: Daemon): Promise<void> {
  assert.ok(tracedPid(daemon.proc.pid!) > 0, 'blitd runs under strace');
  await releaseTraced(daemon);
}
