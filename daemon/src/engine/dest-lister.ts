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
import type { DirListing } from './walk';
import { baseName } from './paths';
import { msFromNs } from './compare';
import { askToExit } from './worker-exit';

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

/**
 * exists: `same[i]` = 1 when source entry i is a regular file whose destination passed the quick
 * check in the lister (nothing crosses back for it); `matched` = the other names present on both
 * sides, with the source index; `dstOnly` = names only in the destination.
 */
export type ListedDir =
  | { exists: true; same: Uint8Array; matched: Array<ListedEntry & { index: number }>; dstOnly: Array<{ name: string; kind: EntryKind | null }> }
  | { exists: false }
  | { error: { code: string; message: string } };

/** What the lister needs of a source listing to run the quick check for regular files. */
export interface ListRequest {
  seq: number;
  dir: string;
  /** Source names joined with NUL (a file name never contains a zero byte): one string clones far cheaper than many. */
  names: string;
  /** Size of each source entry; -1 = not a regular file (no quick check). */
  sizes: Float64Array;
  /** Node double-ms mtime of each source file. */
  mtimes: Float64Array;
  /** Mode (permission bits), uid and gid of each source file: a file passes only with them equal
   * (uid/gid when owners are preserved), else it goes back in full for a chmod/chown. */
  modes: Uint32Array;
  uids: Uint32Array;
  gids: Uint32Array;
}

/** Quick check the lister may apply: 'default' (size and mtime) or 'size-only'; null = none. */
export type QuickCheck = 'default' | 'size-only' | null;

/** Directories per message to the lister thread (and per reply). */
const SEND_EVERY = 8;

export interface Reply {
  seq: number;
  dir: ListedDir;
}

/** Error code of a ListedDir whose lister thread failed: read the directory on the caller's thread. */
export const LISTER_FAILED = 'ELISTERFAILED';

export class DestLister {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, (d: ListedDir) => void>();
  private ready = false;
  private failed: Error | null = null;
  private outbox: ListRequest[] = [];
  private sendScheduled = false;

  /** owners: the quick check also compares uid/gid (owners preserved). */
  constructor(dstRootAbs: Buffer, quick: QuickCheck, owners = false) {
    this.worker = new Worker(path.join(__dirname, 'dest-lister-worker.js'), { workerData: { root: dstRootAbs.toString('latin1'), quick, owners } });
    this.worker.on('message', (m: Reply[] | { ready: true }) => {
      if (!Array.isArray(m)) {
        this.ready = true;
        return;
      }
      for (const r of m) {
        const resolve = this.waiting.get(r.seq);
        this.waiting.delete(r.seq);
        resolve?.(r.dir);
      }
    });
    this.worker.on('error', (err) => {
      this.failed = err;
      // The thread died (or its file is missing in a bundle): the caller reads those dirs itself.
      for (const resolve of this.waiting.values()) resolve({ error: { code: LISTER_FAILED, message: `destination lister failed: ${err.message}` } });
      this.waiting.clear();
    });
  }

  /** True once the thread is up: before that, the caller reads directories itself. */
  get usable(): boolean {
    return this.ready && this.failed === null;
  }

  /** List the destination side of one source listing (names aligned with its entries). */
  list(listing: DirListing): Promise<ListedDir> {
    const seq = ++this.seq;
    const n = listing.entries.length;
    const names = listing.names ?? listing.entries.map((e) => baseName(e.rel).toString('latin1'));
    const sizes = new Float64Array(n);
    const mtimes = new Float64Array(n);
    const modes = new Uint32Array(n);
    const uids = new Uint32Array(n);
    const gids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const e = listing.entries[i]!;
      sizes[i] = e.kind === 'file' ? e.size : -1;
      mtimes[i] = e.kind === 'file' ? (e.mtimeMs ?? msFromNs(e.mtimeNs)) : 0;
      modes[i] = e.mode;
      uids[i] = e.uid;
      gids[i] = e.gid;
    }
    const req: ListRequest = { seq, dir: listing.dir.toString('latin1'), names: names.join('\0'), sizes, mtimes, modes, uids, gids };
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.outbox.push(req);
      if (this.outbox.length >= SEND_EVERY) this.send();
      else if (!this.sendScheduled) {
        this.sendScheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  /**
   * Requests go in groups, answered in groups: one message per directory woke the other thread
   * per directory, and on 2 busy cores each wake-up preempted the walker (21 % of the main
   * thread's no-op profile sat in postMessage). A partial group leaves when the walker yields.
   * The arrays are copied by the structured clone (~25 bytes per entry), not transferred: the
   * first ArrayBuffer an isolate detaches invalidates V8's ArrayBufferDetaching protector and
   * every optimized function of that thread that touches a typed array is compiled again
   * (DEVLOG h39, h49).
   */
  private send(): void {
    this.sendScheduled = false;
    if (this.outbox.length === 0) return;
    const reqs = this.outbox;
    this.outbox = [];
    this.worker.postMessage(reqs);
  }

  /**
   * Ask the thread to exit after the group it is listing (never terminate(): a thread still loading
   * the native library or inside a listing call would abort the process, see worker-exit.ts).
   * Resolves with its exit code (0: exited when asked).
   */
  close(): Promise<number> {
    return askToExit(this.worker);
  }
}
