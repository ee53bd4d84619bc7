/**
 * move: a source is removed only once its copy is on disk, not just in the page cache (a power
 * loss after `mv` across filesystems or `rsync --remove-source-files` can lose both). Removals are
 * collected (DeferredRemovals: ~1,024 files or 64 MiB, across copy batches); before their unlinks,
 * one syncfs(2) per destination filesystem writes back their data, inodes and new directory
 * entries at once. Where syncfs is not available (non-Linux, node:fs fallback), each file is
 * fdatasync'ed and each directory holding a new name fsync'ed. Measured in DEVLOG 2026-11-21
 * "move-durable" and 2026-11-22 "move-batches".
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
 * One directory per filesystem of `files` to syncfs through (same filesystem as the file; a
 * symlink cannot be opened): one Set lookup per file, the directory taken once per filesystem.
 */
function syncfsDirs(files: readonly DurableFile[]): Buffer[] {
  const dirs: Buffer[] = [];
  const seen = new Set<bigint>();
  for (const f of files) {
    if (seen.has(f.dev)) continue;
    seen.add(f.dev);
    dirs.push(parentOf(f.dstAbs));
  }
  return dirs;
}

/** Where syncfs is missing: each regular file to fdatasync, each directory holding a name to fsync. */
function fallbackPlan(files: readonly DurableFile[]): { dataFiles: Buffer[]; dirs: Buffer[] } {
  const dataFiles: Buffer[] = [];
  const dirs = new Map<string, Buffer>();
  for (const f of files) {
    if (f.isFile) dataFiles.push(f.dstAbs);
    const dir = parentOf(f.dstAbs);
    dirs.set(dir.toString('latin1'), dir);
  }
  return { dataFiles, dirs: [...dirs.values()] };
}

/**
 * Write the files (data, size, and their names in their directories) to stable storage. Throws
 * the first failure (EIO, ENOSPC on write-back...): the caller then keeps every source of the set.
 */
export function makeDurable(files: readonly DurableFile[]): void {
  if (files.length === 0) return;
  if (useSyncfs) {
    try {
      for (const dir of syncfsDirs(files)) withFd(dir, fs.constants.O_RDONLY | O_DIRECTORY, (fd) => native.syncfs(fd));
      return;
    } catch (err) {
      if (!(err instanceof native.UnsupportedError)) throw err;
      useSyncfs = false;
    }
  }
  const plan = fallbackPlan(files);
  for (const file of plan.dataFiles) withFd(file, fs.constants.O_RDONLY | O_NOFOLLOW, (fd) => fs.fdatasyncSync(fd));
  for (const dir of plan.dirs) withFd(dir, fs.constants.O_RDONLY | O_DIRECTORY, (fd) => fs.fsyncSync(fd));
}

/** A source whose copy verified, waiting for a makeDurable of its copy before it is unlinked. */
export interface PendingRemoval {
  src: Buffer;
  dst: DurableFile;
  /** Is the source still what was copied (size and mtime, checked again just before the unlink)? */
  unchanged: (st: fs.BigIntStats) => boolean;
  /** Told the outcome: null = removed, else why the source was kept. */
  done: (keptReason: string | null) => void;
}

/**
 * A move syncs once this many sources are waiting (or SYNC_EVERY_BYTES of their copies), not per
 * copy batch: batches aim at 20 ms of copy work, so one syncfs per batch was one per ~17 small
 * files (5,863 on a 100k-file move; DEVLOG move-batches). One syncfs covers everything written
 * to its filesystem before it started, so waiting longer is as safe; the bytes bound keeps the
 * sources a move on one filesystem holds twice (copy and source) small.
 */
export const SYNC_EVERY_FILES = 1024;
export const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Sources waiting for their copies to be durable: collected (from any number of copy batches),
 * then one makeDurable of all their destinations, then each source re-checked and unlinked. A
 * source is only unlinked after a sync that started after it was added, i.e. after its copy was
 * complete. flush() blocks (copy workers); flushSoon()/settle() sync off the event loop (the main
 * thread: move-finalise.ts, split huge files).
 */
export class DeferredRemovals {
  private pending: PendingRemoval[] = [];
  private bytes = 0;
  private background: Promise<void> | undefined;
  private asyncSyncs = 0;

  get size(): number {
    return this.pending.length;
  }

  /** A sync off the event loop is in progress (the stall detector's sign of life meanwhile). */
  get syncing(): boolean {
    return this.asyncSyncs > 0;
  }

  /** Enough waiting to be worth a sync (SYNC_EVERY_FILES / SYNC_EVERY_BYTES). */
  get due(): boolean {
    return this.pending.length >= SYNC_EVERY_FILES || this.bytes >= SYNC_EVERY_BYTES;
  }

  /** `bytes`: the copy's size (what the sync will have to write back). */
  add(r: PendingRemoval, bytes: number): void {
    this.pending.push(r);
    this.bytes += bytes;
  }

  /** Sync everything waiting and remove those sources, blocking the thread. */
  flush(): void {
    const batch = this.take();
    if (batch.length === 0) return;
    try {
      makeDurable(batch.map((r) => r.dst));
    } catch (err) {
      keepAll(batch, err);
      return;
    }
    unlinkSources(batch);
  }

  /** Main thread: start syncing what is waiting off the event loop, one sync at a time. */
  flushSoon(): void {
    this.background ??= this.flushInBackground();
  }

  /** Wait for a background sync; then, if `flushRest`, sync and remove whatever still waits. */
  async settle(flushRest: boolean): Promise<void> {
    while (this.background) await this.background;
    if (flushRest) await this.flushAsync();
  }

  private async flushInBackground(): Promise<void> {
    try {
      do await this.flushAsync();
      while (this.due);
    } finally {
      this.background = undefined;
    }
  }

  private async flushAsync(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    this.asyncSyncs++;
    try {
      await makeDurableAsync(batch.map((r) => r.dst));
    } catch (err) {
      keepAll(batch, err);
      return;
    } finally {
      this.asyncSyncs--;
    }
    unlinkSources(batch);
  }

  private take(): PendingRemoval[] {
    const batch = this.pending;
    this.pending = [];
    this.bytes = 0;
    return batch;
  }
}

function keepAll(batch: readonly PendingRemoval[], err: unknown): void {
  const why = `destination not synced to disk (${(err as Error).message}); source kept`;
  for (const r of batch) r.done(why);
}

/** After the sync: each source, if still what was copied, unlinked. */
function unlinkSources(batch: readonly PendingRemoval[]): void {
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

/**
 * makeDurable without blocking the event loop (blitd's main thread serves every other call while
 * a write-back takes seconds): each syncfs runs on a libuv pool thread, the opens and the fallback's
 * fdatasync/fsync go through fs.promises (the pool too). Throws as makeDurable does.
 */
export async function makeDurableAsync(files: readonly DurableFile[]): Promise<void> {
  if (files.length === 0) return;
  if (useSyncfs) {
    try {
      for (const dir of syncfsDirs(files)) await withHandle(dir, fs.constants.O_RDONLY | O_DIRECTORY, (h) => native.syncfsAsync(h.fd));
      return;
    } catch (err) {
      if (!(err instanceof native.UnsupportedError)) throw err;
      useSyncfs = false;
    }
  }
  const plan = fallbackPlan(files);
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
 * remove the sources): the committed files `rels` (and symlinks `links`) below the destination root `root` are made
 * durable, off the event loop (makeDurableAsync). One syncfs per filesystem the files are on: a
 * mount point inside the tree is a directory, so each distinct parent directory is stat'ed for
 * its st_dev (one stat per directory of the batch, not per file).
 */
export async function makeDurableBelow(root: Buffer, rels: readonly Buffer[], links: readonly Buffer[] = []): Promise<void> {
  const slash = Buffer.from('/');
  const paths = [...rels, ...links].map((rel) => Buffer.concat([root, slash, rel]));
  // Without syncfs the devices are not used (each file and directory is synced on its own).
  const devOf = new Map<string, bigint>();
  let keys: string[] = [];
  if (useSyncfs) {
    const dirs = new Map<string, Buffer>();
    keys = paths.map((p) => {
      const dir = parentOf(p);
      const key = dir.toString('latin1');
      dirs.set(key, dir);
      return key;
    });
    await Promise.all([...dirs].map(async ([key, dir]) => devOf.set(key, (await fs.promises.stat(dir, { bigint: true })).dev)));
  }
  // A symlink is a name: its directory is synced, never the link opened (O_NOFOLLOW: ELOOP).
  await makeDurableAsync(paths.map((dstAbs, i) => ({ dstAbs, dev: devOf.get(keys[i] ?? '') ?? 0n, isFile: i < rels.length })));
}

/** The error of a failed makeDurable(Below) that keeps a move's sources. */
export function notDurableError(err: unknown): BlitError {
  return new BlitError({
    code: ErrorCodes.VerifyFailed,
    message: `destination not synced to disk (${(err as Error).message}); the sources not yet removed are kept`,
  });
}
