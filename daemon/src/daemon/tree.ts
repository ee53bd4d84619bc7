/**
 * Asynchronous, non-following tree walk for the admin verbs (Find, DiskUsage, Purge). Async so a
 * large `du` never blocks the daemon's other calls; depth first with an explicit stack so memory
 * holds only the directories still to visit (each with its entries' lstat data).
 *
 * Each directory is read in one native call (scan-dir.ts): with an anchor (DirAnchor.scanDir) it
 * is opened by openat2 beneath the module root inside the call and its entries are lstat'ed (and
 * symlinks read) relative to that fd: one foreign call per directory, no `/proc/self/fd/N` path,
 * no lstat per entry. Without the native library (or BLIT_NATIVE_BATCH=0) the node:fs path reads
 * the directory held open by the anchor and lstats each entry through it.
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { displayPath, join2 } from '../engine/paths';
import { ENOENT, isDirMode, nativeScanner, scanDir, ScanCursor } from '../engine/scan-dir';
import { splitNs } from '../engine/time-split';
import type { DirAnchor } from './beneath';

/** The lstat data the admin verbs use (from the native scan or from a node:fs lstat). */
export interface TreeStat {
  mode: number;
  size: number;
  /** st_blocks (512-byte units). */
  blocks: number;
  /** mtime as seconds (floor) and nanoseconds in [0, 1e9). */
  mtimeSec: number;
  mtimeNsec: number;
  uid: number;
  gid: number;
}

export interface TreeItem {
  /** Relative to the walk start ('' = the start itself). */
  rel: Buffer;
  /**
   * A path for the entry (below its parent held open beneath the module root with an anchor):
   * only with TreeWalkOptions.paths, and for the start itself.
   */
  abs?: Buffer;
  stat: TreeStat;
  /** A symlink's target (empty when it could not be read); the start's is not read. */
  linkTarget?: Buffer;
}

export interface TreeWalkOptions {
  signal?: AbortSignal;
  /**
   * Errors below the start (a directory that cannot be listed, an entry that cannot be lstat'ed),
   * with the path relative to the start; the walk continues. A file or link that vanished is no
   * error (a directory that vanished before it was listed is one: cannot read directory, ENOENT).
   */
  onError?: (err: BlitError, rel: Buffer) => void;
  /** Directories yielded after their children (for deletion) instead of before. */
  postOrder?: boolean;
  /** Items carry `abs` (Purge deletes through it); each directory is then held open while its children are used. */
  paths?: boolean;
  /**
   * Use-time containment (beneath.ts): `anchor` is rooted at the module root and `rel` is the
   * start relative to it; every directory is then read through an fd opened beneath the module
   * root and every entry addressed relative to its pinned parent (item.abs is such a path).
   */
  beneath?: { anchor: DirAnchor; rel: Buffer };
  /**
   * Skip a directory that is its own ancestor (a bind mount of a tree inside itself), as GNU
   * du/find do: it is neither yielded nor entered, and this is told its path and the ancestor's
   * (both relative to the start). Identities are (st_dev, st_ino) of the directory as opened for
   * its listing, compared with the directories on the current path from the start down. Without
   * it (Purge) the walk goes through, as `rm -r` does.
   */
  onLoop?: (rel: Buffer, ancestor: Buffer) => void;
  /** Test hook: false forces the node:fs path even with the native library. */
  native?: boolean;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'cancelled' });
}

function statOf(st: fs.BigIntStats): TreeStat {
  const { sec, nsec } = splitNs(st.mtimeNs);
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    blocks: Number(st.blocks),
    mtimeSec: Number(sec),
    mtimeNsec: Number(nsec),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/** A child of a directory being walked: its stat from the scan, or (node:fs path) its name only. */
type Child = { rel: Buffer; stat?: TreeStat; linkTarget?: Buffer; err?: number };

let cursor: ScanCursor | undefined;

/**
 * The entries of the directory last scanned into `nb`, copied out (the scan buffer is this
 * thread's, reused by the next scan of any caller). Entries that vanished (ENOENT) are left out.
 */
function scannedChildren(nb: native.NativeBatch, n: number, dirRel: Buffer): Child[] {
  const c = (cursor ??= new ScanCursor(nb));
  const out: Child[] = [];
  c.reset();
  for (let i = 0; i < n; i++, c.next()) {
    const rel = c.joinName(dirRel);
    const err = c.err;
    if (err !== 0) {
      if (err !== ENOENT) out.push({ rel, err });
      continue;
    }
    const stat: TreeStat = { mode: c.mode, size: c.size, blocks: c.blocks, mtimeSec: c.mtimeSec, mtimeNsec: c.mtimeNsec, uid: c.uid, gid: c.gid };
    out.push({ rel, stat, linkTarget: c.isSymlink ? c.linkTarget() : undefined });
  }
  return out;
}

/** A directory's (st_dev, st_ino) as a Map key; undefined when unknown (the native fstat failed: 0, 0). */
function identity(dev: bigint, ino: bigint): string | undefined {
  return dev === 0n && ino === 0n ? undefined : `${dev}:${ino}`;
}

/** Walks `start` (which must exist; a missing start throws SourceNotFound naming `shown`). */
export async function* walkTree(start: Buffer, shown: string, opts: TreeWalkOptions = {}): AsyncGenerator<TreeItem> {
  const b = opts.beneath;
  const full = (rel: Buffer): Buffer => (!b ? rel : b.rel.length === 0 ? rel : rel.length === 0 ? b.rel : join2(b.rel, rel));
  const nb = opts.native === false ? undefined : nativeScanner();
  // A directory is held open (acquired) while its children are used when they are addressed by path.
  const holdDirs = opts.paths === true || nb === undefined;
  let rootStat: fs.BigIntStats;
  let startAbs: Buffer;
  try {
    // The module root itself is configuration, not a network path: taken as it is.
    startAbs = b && b.rel.length > 0 ? b.anchor.path(b.rel) : start;
    rootStat = await fs.promises.lstat(startAbs, { bigint: true });
  } catch (err) {
    throw fromErrno(err, shown, 'cannot stat');
  }
  type Frame = { item: TreeItem; children: Child[]; next: number; dirPath?: Buffer; id?: string };
  const first: TreeItem = { rel: Buffer.alloc(0), abs: startAbs, stat: statOf(rootStat) };
  if (!rootStat.isDirectory()) {
    yield first;
    return;
  }
  const stack: Frame[] = [];
  const pending: TreeItem[] = [];
  /** With onLoop: the identity of each directory on the current path -> its rel. */
  const onPath = new Map<string, Buffer>();
  /** A held directory (acquired for its listing) is done with: beneath the module, its fd goes. */
  const letGo = (rel: Buffer): void => {
    if (!b) return;
    b.anchor.release(full(rel));
    b.anchor.forget(full(rel));
  };
  const enter = async (item: TreeItem): Promise<void> => {
    let children: Child[] = [];
    let dirPath: Buffer | undefined;
    let id: string | undefined;
    try {
      if (holdDirs) dirPath = b ? b.anchor.acquire(full(item.rel)) : join2(start, item.rel);
      if (nb) {
        const n = b ? b.anchor.scanDir(nb, full(item.rel)) : scanDir(nb, join2(start, item.rel), item.rel.length === 0);
        if (opts.onLoop) id = identity(nb.scanDirId[0]!, nb.scanDirId[1]!);
        children = scannedChildren(nb, n, item.rel);
      } else {
        // Through the held fd (/proc/self/fd/N beneath the module): the directory the readdir reads.
        if (opts.onLoop) {
          const st = await fs.promises.stat(dirPath!, { bigint: true });
          id = identity(st.dev, st.ino);
        }
        const names = await fs.promises.readdir(dirPath!, { encoding: 'buffer' });
        children = names.map((name) => ({ rel: join2(item.rel, name) }));
      }
    } catch (err) {
      const e = fromErrno(err, displayPath(item.rel) || shown, 'cannot read directory');
      if (item.rel.length === 0) throw e;
      opts.onError?.(e, item.rel);
    }
    const ancestor = id === undefined ? undefined : onPath.get(id);
    if (ancestor !== undefined) {
      if (dirPath) letGo(item.rel);
      opts.onLoop!(item.rel, ancestor);
      return;
    }
    if (id !== undefined) onPath.set(id, item.rel);
    if (!opts.postOrder) pending.push(item);
    stack.push({ item, children, next: 0, ...(dirPath ? { dirPath } : {}), ...(id !== undefined ? { id } : {}) });
  };
  await enter(first);
  while (stack.length > 0 || pending.length > 0) {
    while (pending.length > 0) yield pending.shift()!;
    checkAbort(opts.signal);
    const top = stack[stack.length - 1];
    if (!top) break;
    if (top.next >= top.children.length) {
      stack.pop();
      if (top.id !== undefined) onPath.delete(top.id);
      // Its children are done (each was used before the walk went on): release its fd.
      if (top.dirPath) letGo(top.item.rel);
      if (opts.postOrder) yield top.item;
      continue;
    }
    const child = top.children[top.next++]!;
    const rel = child.rel;
    const abs = top.dirPath ? join2(top.dirPath, rel.subarray(top.item.rel.length === 0 ? 0 : top.item.rel.length + 1)) : undefined;
    let item: TreeItem;
    if (child.err !== undefined) {
      opts.onError?.(fromErrno(new native.NativeError(child.err, 'lstat', displayPath(rel)), displayPath(rel), 'cannot stat'), rel);
      continue;
    } else if (child.stat) {
      item = { rel, stat: child.stat, ...(abs ? { abs } : {}), ...(child.linkTarget ? { linkTarget: child.linkTarget } : {}) };
    } else {
      let st: fs.BigIntStats;
      try {
        st = await fs.promises.lstat(abs!, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.onError?.(fromErrno(err, displayPath(rel), 'cannot stat'), rel);
        continue;
      }
      let linkTarget: Buffer | undefined;
      if (st.isSymbolicLink()) {
        try {
          linkTarget = await fs.promises.readlink(abs!, { encoding: 'buffer' });
        } catch {
          linkTarget = Buffer.alloc(0);
        }
      }
      item = { rel, stat: statOf(st), abs: abs!, ...(linkTarget ? { linkTarget } : {}) };
    }
    if (isDirMode(item.stat.mode)) await enter(item);
    else yield item;
  }
}
