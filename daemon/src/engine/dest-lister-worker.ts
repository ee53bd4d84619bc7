/** Thread body for DestLister: list one destination directory per request, quick check included. */
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { fastFileEntry, statEntry } from './walk';
import { ENOENT, nativeScanner, scanDir, ScanCursor } from './scan-dir';
import * as native from '@blit/native';
import type { ListedDir, ListedEntry, ListRequest, QuickCheck, Reply } from './dest-lister';
import type { Entry } from './types';
import { isExitRequest, type ExitRequest } from './worker-exit';

const init = workerData as { root: string; quick: QuickCheck; owners: boolean };
const root = Buffer.from(init.root, 'latin1');
const SLASH = Buffer.from('/');

const nb = nativeScanner();
const cursor = nb ? new ScanCursor(nb) : undefined;
const NO_REL = Buffer.alloc(0);

/**
 * One directory's answer, whichever way it was read: the source names it was asked about, the
 * quick check (a file with the source's size, and mtime unless size-only, is `same` and sent as a
 * bit only), the other matched entries in full, and what only the destination has.
 */
class DirAnswer {
  private readonly index = new Map<string, number>();
  private readonly same: Uint8Array;
  private readonly matched: Array<ListedEntry & { index: number }> = [];
  readonly dstOnly: Array<{ name: string; kind: ListedEntry['kind'] }> = [];

  constructor(private readonly req: ListRequest) {
    const names = req.names === '' ? [] : req.names.split('\0');
    for (let i = 0; i < names.length; i++) this.index.set(names[i]!, i);
    this.same = new Uint8Array(names.length);
  }

  /** The position of `name` among the source names asked about, or undefined (destination only). */
  indexOf(name: string): number | undefined {
    return this.index.get(name);
  }

  /** Source name `i` exists here as `e` (null: a kind we do not transfer). */
  match(i: number, name: string, e: Entry | null): void {
    if (e === null) {
      this.matched.push({ index: i, name, kind: null, size: 0, mtimeNs: 0n, mtimeMs: undefined, mode: 0, uid: 0, gid: 0, blocks: 0, linkTarget: undefined });
      return;
    }
    const srcSize = this.req.sizes[i]!;
    const req = this.req;
    // Mode (and owner) too: a file whose content passes but whose metadata differs goes back in full.
    if (init.quick !== null && e.kind === 'file' && srcSize >= 0 && e.size === srcSize && (init.quick === 'size-only' || e.mtimeMs === req.mtimes[i]) && e.mode === req.modes[i] && (!init.owners || (e.uid === req.uids[i] && e.gid === req.gids[i]))) {
      this.same[i] = 1;
      return;
    }
    this.matched.push({
      index: i,
      name,
      kind: e.kind,
      size: e.size,
      mtimeNs: e.mtimeNs,
      mtimeMs: e.mtimeMs,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      blocks: e.blocks ?? 0,
      linkTarget: e.linkTarget?.toString('latin1'),
    });
  }

  done(): ListedDir {
    return { exists: true, same: this.same, matched: this.matched, dstOnly: this.dstOnly };
  }
}

function listDir(req: ListRequest): ListedDir {
  const abs = req.dir === '' ? root : Buffer.concat([root, SLASH, Buffer.from(req.dir, 'latin1')]);
  if (nb !== undefined && cursor !== undefined) return listDirNative(nb, cursor, abs, req);
  let dirents: fs.Dirent<Buffer>[];
  try {
    dirents = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
    return { error: { code, message: (err as Error).message } };
  }
  const answer = new DirAnswer(req);
  for (const d of dirents) {
    const name = d.name.toString('latin1');
    const i = answer.indexOf(name);
    if (i === undefined) {
      answer.dstOnly.push({ name, kind: d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : d.isFile() ? 'file' : null });
      continue;
    }
    const p = Buffer.concat([abs, SLASH, d.name]);
    try {
      answer.match(i, name, d.isFile() ? fastFileEntry(p, d.name) : statEntry(p, d.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') continue; // vanished between readdir and lstat: the source entry is new
      return { error: { code, message: (err as Error).message } };
    }
  }
  return answer.done();
}

/**
 * listDir through one native call per directory (scan-dir.ts): the same answer. Below the root
 * a directory is opened O_NOFOLLOW; a symlink there (ELOOP) is "no such directory", as ENOTDIR
 * is (the differ has by then marked it missing: the source's directory replaces the link).
 */
function listDirNative(nb: native.NativeBatch, c: ScanCursor, abs: Buffer, req: ListRequest): ListedDir {
  let n: number;
  try {
    n = scanDir(nb, abs, req.dir === '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { exists: false };
    return { error: { code, message: (err as Error).message } };
  }
  const answer = new DirAnswer(req);
  c.reset();
  for (let k = 0; k < n; k++, c.next()) {
    const name = c.nameLatin1();
    const i = answer.indexOf(name);
    if (i === undefined) {
      answer.dstOnly.push({ name, kind: c.isDir ? 'dir' : c.isSymlink ? 'symlink' : c.isFile ? 'file' : null });
      continue;
    }
    const err = c.err;
    if (err !== 0) {
      if (err === ENOENT) continue; // vanished between readdir and lstat: the source entry is new
      const e = new native.NativeError(err, 'lstat', Buffer.concat([abs, SLASH, Buffer.from(name, 'latin1')]));
      return { error: { code: e.code, message: e.message } };
    }
    answer.match(i, name, c.entry(NO_REL, true));
  }
  return answer.done();
}

// Requests arrive in groups and are answered with one message per group (see DestLister.send).
// Copied, not transferred (one byte per entry): see DestLister.send.
parentPort!.on('message', (reqs: ListRequest[] | ExitRequest) => {
  if (isExitRequest(reqs)) process.exit(0); // DestLister.close: between groups, from JS
  const replies: Reply[] = [];
  for (const req of reqs) replies.push({ seq: req.seq, dir: listDir(req) });
  parentPort!.postMessage(replies);
});
parentPort!.postMessage({ ready: true });
