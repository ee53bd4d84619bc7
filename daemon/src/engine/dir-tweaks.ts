/**
 * rsync's "dir tweaking", one mechanism for the local engine and the remote destination: a
 * destination directory without owner rwx (a `0555` kept from the source, or one a mirror must
 * empty) is made u+rwx while the run writes or deletes inside it, and gets a mode back afterwards:
 * the source's (its metadata, applied after its children), or the mode it was found with (the run
 * ended first, or the directory it emptied stays). Done as root too: root without
 * CAP_DAC_OVERRIDE (a container, setpriv) is refused like a user, and with it the cost is one
 * chmod per such directory. A chmod that fails (a directory of another owner) is not reported
 * here: whatever is then refused inside it fails on its own, named.
 *
 * Paths come from a function, asked at each use: the remote destination's are pinned beneath the
 * module root (`/proc/self/fd/N`, dirOf) and may be stale after a recursion, and resolving them may
 * throw (PathEscape), which counts as "could not".
 */
import * as fs from 'node:fs';
import { depth } from './paths';

type PathOf = () => Buffer | string;

/** u+rwx on the directory at `at()` when `found` lacks it; true when its mode was changed. */
export function makeDirWritable(at: PathOf, found: number): boolean {
  if ((found & 0o700) === 0o700) return false;
  try {
    fs.chmodSync(at(), (found & 0o7777) | 0o700);
    return true;
  } catch {
    return false;
  }
}

/** The mode `found` back on the directory at `at()` (best effort: gone, or not ours any more). */
export function restoreDirMode(at: PathOf, found: number): void {
  try {
    fs.chmodSync(at(), found & 0o7777);
  } catch {
    // nothing to restore
  }
}

/**
 * Runs `empty` (true: the directory is emptied, or gone) with the directory at `at()` writable;
 * its mode `found` goes back when it stays (entries kept, a failure, a throw).
 */
export function whileWritable(at: PathOf, found: number, empty: () => boolean): boolean {
  const tweaked = makeDirWritable(at, found);
  let emptied = false;
  try {
    emptied = empty();
    return emptied;
  } finally {
    if (tweaked && !emptied) restoreDirMode(at, found);
  }
}

/** The existing directories a run made writable, until their metadata is applied. */
export class TweakedDirs {
  private readonly found = new Map<string, { rel: Buffer; found: number }>();

  constructor(
    private readonly pathOf: (rel: Buffer) => Buffer | string,
    private readonly dryRun: boolean,
  ) {}

  /**
   * Directory `rel`, found with mode `found`, made u+rwx when it lacks it (not in a dry run). True
   * when done: the caller queues its metadata, whose mode then replaces the tweak.
   */
  tweak(rel: Buffer, found: number): boolean {
    if (this.dryRun || !makeDirWritable(() => this.pathOf(rel), found)) return false;
    this.found.set(rel.toString('latin1'), { rel, found });
    return true;
  }

  /** `rel`'s metadata was applied (the source's mode, or a failure named): nothing to restore. */
  settled(rel: Buffer): void {
    this.found.delete(rel.toString('latin1'));
  }

  /**
   * A run that ended before the metadata of some (failed, cancelled; called once nothing writes
   * any more): each gets back the mode it was found with, deepest first. rsync leaves them tweaked
   * only when killed; so does blit.
   */
  restore(): void {
    const t = [...this.found.values()].sort((a, b) => depth(b.rel) - depth(a.rel));
    this.found.clear();
    for (const { rel, found } of t) restoreDirMode(() => this.pathOf(rel), found);
  }
}
