/**
 * move: a source is removed only once its copy is on disk, not just in the page cache (a power
 * loss after `mv` across filesystems or `rsync --remove-source-files` can lose both). Removals are
 * collected per batch; before the batch's unlinks, one syncfs(2) per destination filesystem
 * writes back the batch's data, inodes and new directory entries at once. Where syncfs is not
 * available (non-Linux, node:fs fallback), each file is fdatasync'ed and each directory holding a
 * new name fsync'ed. Measured in DEVLOG 2026-11-21 "move-durable".
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import { BlitError, ErrorCodes } from './errors';

const O_NOFOLLOW = fs.constants.O_NOFOLLOW;
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

export interface DurableFile {
  /** The destination, committed under its real name. */
  dstAbs: Buffer;
  /** st_dev of the destination (from the verifying lstat): one syncfs per filesystem. */
  dev: bigint;
  /** A regular file (else a symlink: only its directory can be fsync'ed without syncfs). */
  isFile: boolean;
}

let useSyncfs = true;

function parentOf(p: Buffer): Buffer {
  const i = p.lastIndexOf(0x2f);
  return i <= 0 ? Buffer.from(i === 0 ? '/' : '.') : p.subarray(0, i);
}

function withFd<T>(path: Buffer, flags: number, run: (fd: number) => T): T {
  const fd = fs.openSync(path, flags);
  try {
    return run(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What makes a set of files durable, for makeDurable and makeDurableAsync: one syncfs through a
 * directory on each filesystem (same filesystem as the file, and a symlink cannot be opened), or,
 * where syncfs is missing, each regular file's fdatasync and each directory's fsync.
 */
function durablePlan(files: readonly DurableFile[]): { syncfsDirs: Buffer[]; dataFiles: Buffer[]; dirs: Buffer[] } {
  const syncfsDirs: Buffer[] = [];
  const seen = new Set<bigint>();
  const dataFiles: Buffer[] = [];
  const dirs = new Map<string, Buffer>();
  for (const f of files) {
    const dir = parentOf(f.dstAbs);
    if (!seen.has(f.dev)) {
      seen.add(f.dev);
      syncfsDirs.push(dir);
    }
    if (f.isFile) dataFiles.push(f.dstAbs);
    dirs.set(dir.toString('latin1'), dir);
  }
  return { syncfsDirs, dataFiles, dirs: [...dirs.values()] };
}

/**
 * Write the files (data, size, and their names in their directories) to stable storage. Throws
 * the first failure (EIO, ENOSPC on write-back...): the caller then keeps every source of the set.
 */
export function makeDurable(files: readonly DurableFile[]): void {
  if (files.length === 0) return;
  const plan = durablePlan(files);
  if (useSyncfs) {
    try {
      for (const dir of plan.syncfsDirs) withFd(dir, fs.constants.O_RDONLY | O_DIRECTORY, (fd) => native.syncfs(fd));
      return;
    } catch (err) {
      if (!(err instanceof native.UnsupportedError)) throw err;
      useSyncfs = false;
    }
  }
  for (const file of plan.dataFiles) withFd(file, fs.constants.O_RDONLY | O_NOFOLLOW, (fd) => fs.fdatasyncSync(fd));
  for (const dir of plan.dirs) withFd(dir, fs.constants.O_RDONLY | O_DIRECTORY, (fd) => fs.fsyncSync(fd));
}

/** A source whose copy verified, waiting for its batch's makeDurable before it is unlinked. */
export interface PendingRemoval {
  src: Buffer;
  dst: DurableFile;
  /** Is the source still what was copied (size and mtime, checked again just before the unlink)? */
  unchanged: (st: fs.BigIntStats) => boolean;
  /** Told the outcome: null = removed, else why the source was kept. */
  done: (keptReason: string | null) => void;
}

/** The removals of one batch: make their destinations durable, then unlink the sources. */
export class DeferredRemovals {
  private pending: PendingRemoval[] = [];

  get size(): number {
    return this.pending.length;
  }

  add(r: PendingRemoval): void {
    this.pending.push(r);
  }

  flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      makeDurable(batch.map((r) => r.dst));
    } catch (err) {
      const why = `destination not synced to disk (${(err as Error).message}); source kept`;
      for (const r of batch) r.done(why);
      return;
    }
    for (const r of batch) {
      try {
        const s = fs.lstatSync(r.src, { bigint: true });
        if (!r.unchanged(s)) {
          r.done('source changed after it was copied; kept');
          continue;
        }
        fs.unlinkSync(r.src);
        r.done(null);
      } catch (err) {
        r.done(`cannot remove source: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * makeDurable without blocking the event loop (blitd's main thread serves every other call while
 * a write-back takes seconds): each syncfs runs on a libuv pool thread, the opens and the fallback's
 * fdatasync/fsync go through fs.promises (the pool too). Throws as makeDurable does.
 */
export async function makeDurableAsync(files: readonly DurableFile[]): Promise<void> {
  if (files.length === 0) return;
  const plan = durablePlan(files);
  if (useSyncfs) {
    try {
      for (const dir of plan.syncfsDirs) await withHandle(dir, fs.constants.O_RDONLY | O_DIRECTORY, (h) => native.syncfsAsync(h.fd));
      return;
    } catch (err) {
      if (!(err instanceof native.UnsupportedError)) throw err;
      useSyncfs = false;
    }
  }
  for (const file of plan.dataFiles) await withHandle(file, fs.constants.O_RDONLY | O_NOFOLLOW, (h) => h.datasync());
  for (const dir of plan.dirs) await withHandle(dir, fs.constants.O_RDONLY | O_DIRECTORY, (h) => h.sync());
}

async function withHandle<T>(path: Buffer, flags: number, run: (h: fs.promises.FileHandle) => Promise<T>): Promise<T> {
  const h = await fs.promises.open(path, flags);
  try {
    return await run(h);
  } finally {
    await h.close();
  }
}

/**
 * Remote move (push: blitd before it reports files committed; pull: blit before it asks blitd to
 * remove the sources): the committed files `rels` below the destination root `root` are made
 * durable, off the event loop (makeDurableAsync). One syncfs per filesystem the files are on: a
 * mount point inside the tree is a directory, so each distinct parent directory is stat'ed for
 * its st_dev (one stat per directory of the batch, not per file).
 */
export async function makeDurableBelow(root: Buffer, rels: readonly Buffer[]): Promise<void> {
  const slash = Buffer.from('/');
  const devOf = new Map<string, Promise<bigint>>();
  const files = rels.map((rel) => {
    const dstAbs = Buffer.concat([root, slash, rel]);
    const dir = parentOf(dstAbs);
    const key = dir.toString('latin1');
    let dev = devOf.get(key);
    if (!dev) devOf.set(key, (dev = fs.promises.stat(dir, { bigint: true }).then((st) => st.dev)));
    return { dstAbs, dev };
  });
  const devs = await Promise.all(files.map((f) => f.dev));
  await makeDurableAsync(files.map((f, i) => ({ dstAbs: f.dstAbs, dev: devs[i]!, isFile: true })));
}

/** The error of a failed makeDurable(Below) that keeps a move's sources. */
export function notDurableError(err: unknown): BlitError {
  return new BlitError({
    code: ErrorCodes.VerifyFailed,
    message: `destination not synced to disk (${(err as Error).message}); the sources not yet removed are kept`,
  });
}
