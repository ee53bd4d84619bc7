/**
 * Reads destination directories on a helper thread while the main thread walks the source, so a
 * mostly up-to-date tree (no-op or incremental mirror) uses both cores for the two scans, as
 * rsync does with its sender and receiver. The main thread asks for a directory as soon as the
 * source walker yields it and diffs it a few listings later, with the destination side ready.
 * Every regular file gets a fast stat, directories and symlinks an exact one (walk.ts rules).
 */
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import type { EntryKind } from './types';

/** One destination entry as it crosses the thread boundary (names and targets as latin1). */
export interface ListedEntry {
  name: string;
  /** null: a socket, FIFO or device (replaced like a missing entry). */
  kind: EntryKind | null;
  size: number;
  mtimeNs: bigint;
  mtimeMs: number | undefined;
  mode: number;
  uid: number;
  gid: number;
  blocks: number;
  linkTarget: string | undefined;
}

export type ListedDir = { exists: true; entries: ListedEntry[] } | { exists: false } | { error: { code: string; message: string } };

interface Reply {
  seq: number;
  dir: ListedDir;
}

export class DestLister {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, (d: ListedDir) => void>();
  private ready = false;
  private failed: Error | null = null;

  constructor(dstRootAbs: Buffer) {
    this.worker = new Worker(path.join(__dirname, 'dest-lister-worker.js'), { workerData: { root: dstRootAbs.toString('latin1') } });
    this.worker.on('message', (m: Reply | { ready: true }) => {
      if (!('seq' in m)) {
        this.ready = true;
        return;
      }
      const resolve = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      resolve?.(m.dir);
    });
    this.worker.on('error', (err) => {
      this.failed = err;
      for (const resolve of this.waiting.values()) resolve({ error: { code: 'EIO', message: `destination lister failed: ${err.message}` } });
      this.waiting.clear();
    });
  }

  /** True once the thread is up: before that, the caller reads directories itself. */
  get usable(): boolean {
    return this.ready && this.failed === null;
  }

  list(dirRel: Buffer): Promise<ListedDir> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.worker.postMessage({ seq, dir: dirRel.toString('latin1') });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
