/**
 * Asynchronous, non-following tree walk for the admin verbs (Find, DiskUsage, Purge). Async so a
 * large `du` never blocks the daemon's other calls; depth first with an explicit stack so memory
 * holds only the directories still to visit.
 */
import * as fs from 'node:fs';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { displayPath, join2 } from '../engine/paths';

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
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'cancelled' });
}

/** Walks `start` (which must exist; a missing start throws SourceNotFound naming `shown`). */
export async function* walkTree(start: Buffer, shown: string, opts: TreeWalkOptions = {}): AsyncGenerator<TreeItem> {
  let rootStat: fs.BigIntStats;
  try {
    rootStat = await fs.promises.lstat(start, { bigint: true });
  } catch (err) {
    throw fromErrno(err, shown, 'cannot stat');
  }
  type Frame = { item: TreeItem; children?: Buffer[]; next: number };
  const first: TreeItem = { rel: Buffer.alloc(0), abs: start, stat: rootStat };
  if (!rootStat.isDirectory()) {
    yield first;
    return;
  }
  const stack: Frame[] = [];
  const enter = async (item: TreeItem): Promise<void> => {
    if (!opts.postOrder) pending.push(item);
    let names: Buffer[] = [];
    try {
      names = await fs.promises.readdir(item.abs, { encoding: 'buffer' });
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
      if (opts.postOrder) yield top.item;
      continue;
    }
    const name = top.children![top.next++]!;
    const rel = join2(top.item.rel, name);
    const abs = join2(top.item.abs, name);
    let stat: fs.BigIntStats;
    try {
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
