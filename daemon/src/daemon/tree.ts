/**
 * Asynchronous, non-following tree walk for the admin verbs (Find, DiskUsage, Purge). Async so a
 * large `du` never blocks the daemon's other calls; depth first with an explicit stack so memory
 * holds only the directories still to visit.
 */
import * as fs from 'node:fs';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { displayPath, join2 } from '../engine/paths';
import type { DirAnchor } from './beneath';

export interface TreeItem {
  /** Relative to the walk start ('' = the start itself). */
  rel: Buffer;
  abs: Buffer;
  stat: fs.BigIntStats;
}

export interface TreeWalkOptions {
  signal?: AbortSignal;
  /** Errors below the start (unreadable directory, vanished entry); the walk continues. */
  onError?: (err: BlitError) => void;
  /** Directories yielded after their children (for deletion) instead of before. */
  postOrder?: boolean;
  /**
   * Use-time containment (beneath.ts): `anchor` is rooted at the module root and `rel` is the
   * start relative to it; every directory is then read through an fd opened beneath the module
   * root and every entry addressed relative to its pinned parent (item.abs is such a path).
   */
  beneath?: { anchor: DirAnchor; rel: Buffer };
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'cancelled' });
}

/** Walks `start` (which must exist; a missing start throws SourceNotFound naming `shown`). */
export async function* walkTree(start: Buffer, shown: string, opts: TreeWalkOptions = {}): AsyncGenerator<TreeItem> {
  const b = opts.beneath;
  const full = (rel: Buffer): Buffer => (!b ? rel : b.rel.length === 0 ? rel : rel.length === 0 ? b.rel : join2(b.rel, rel));
  // The module root itself is configuration, not a network path: taken as it is.
  const absOf = (rel: Buffer): Buffer => (b && full(rel).length > 0 ? b.anchor.path(full(rel)) : join2(start, rel));
  let rootStat: fs.BigIntStats;
  let startAbs: Buffer;
  try {
    startAbs = absOf(Buffer.alloc(0));
    rootStat = await fs.promises.lstat(startAbs, { bigint: true });
  } catch (err) {
    throw fromErrno(err, shown, 'cannot stat');
  }
  type Frame = { item: TreeItem; children?: Buffer[]; next: number };
  const first: TreeItem = { rel: Buffer.alloc(0), abs: startAbs, stat: rootStat };
  if (!rootStat.isDirectory()) {
    yield first;
    return;
  }
  const stack: Frame[] = [];
  // With an anchor, each directory on the stack is held (its children's paths go through it).
  const dirOf = (rel: Buffer): Buffer => (b ? b.anchor.acquire(full(rel)) : join2(start, rel));
  const enter = async (item: TreeItem): Promise<void> => {
    if (!opts.postOrder) pending.push(item);
    let names: Buffer[] = [];
    try {
      names = await fs.promises.readdir(dirOf(item.rel), { encoding: 'buffer' });
    } catch (err) {
      const e = fromErrno(err, displayPath(item.rel) || shown, 'cannot read directory');
      if (item.rel.length === 0) throw e;
      opts.onError?.(e);
    }
    stack.push({ item, children: names, next: 0 });
  };
  const pending: TreeItem[] = [];
  await enter(first);
  while (stack.length > 0 || pending.length > 0) {
    while (pending.length > 0) yield pending.shift()!;
    checkAbort(opts.signal);
    const top = stack[stack.length - 1];
    if (!top) break;
    if (top.next >= top.children!.length) {
      stack.pop();
      // Its children are done (each was used before the walk went on): release its fd.
      if (b) {
        b.anchor.release(full(top.item.rel));
        b.anchor.forget(full(top.item.rel));
      }
      if (opts.postOrder) yield top.item;
      continue;
    }
    const name = top.children![top.next++]!;
    const rel = join2(top.item.rel, name);
    let abs: Buffer;
    let stat: fs.BigIntStats;
    try {
      abs = absOf(rel);
      stat = await fs.promises.lstat(abs, { bigint: true });
    } catch (err) {
      opts.onError?.(fromErrno(err, displayPath(rel), 'cannot stat'));
      continue;
    }
    const item = { rel, abs, stat };
    if (stat.isDirectory()) await enter(item);
    else yield item;
  }
}
