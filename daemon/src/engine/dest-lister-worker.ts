/** Thread body for DestLister: list one destination directory per request, quick check included. */
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { fastFileEntry, statEntry } from './walk';
import { ENOENT, nativeScanner, scanDir, ScanCursor } from './scan-dir';
import * as native from '@blit/native';
import type { ListedDir, ListedEntry, ListRequest, QuickCheck, Reply } from './dest-lister';

const init = workerData as { root: string; quick: QuickCheck };
const root = Buffer.from(init.root, 'latin1');
const SLASH = Buffer.from('/');

const nb = nativeScanner();
const cursor = nb ? new ScanCursor(nb) : undefined;
const NO_REL = Buffer.alloc(0);

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
  const names = req.names === '' ? [] : req.names.split('\0');
  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i]!, i);
  const same = new Uint8Array(names.length);
  const matched: Array<ListedEntry & { index: number }> = [];
  const dstOnly: Array<{ name: string; kind: ListedEntry['kind'] }> = [];
  for (const d of dirents) {
    const name = d.name.toString('latin1');
    const i = index.get(name);
    if (i === undefined) {
      dstOnly.push({ name, kind: d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : d.isFile() ? 'file' : null });
      continue;
    }
    const p = Buffer.concat([abs, SLASH, d.name]);
    try {
      const e = d.isFile() ? fastFileEntry(p, d.name) : statEntry(p, d.name);
      if (e === null) {
        matched.push({ index: i, name, kind: null, size: 0, mtimeNs: 0n, mtimeMs: undefined, mode: 0, uid: 0, gid: 0, blocks: 0, linkTarget: undefined });
        continue;
      }
      const srcSize = req.sizes[i]!;
      if (init.quick !== null && e.kind === 'file' && srcSize >= 0 && e.size === srcSize && (init.quick === 'size-only' || e.mtimeMs === req.mtimes[i])) {
        same[i] = 1;
        continue;
      }
      matched.push({
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
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') continue; // vanished between readdir and lstat: the source entry is new
      return { error: { code, message: (err as Error).message } };
    }
  }
  return { exists: true, same, matched, dstOnly };
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
  const names = req.names === '' ? [] : req.names.split('\0');
  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i]!, i);
  const same = new Uint8Array(names.length);
  const matched: Array<ListedEntry & { index: number }> = [];
  const dstOnly: Array<{ name: string; kind: ListedEntry['kind'] }> = [];
  c.reset();
  for (let k = 0; k < n; k++, c.next()) {
    const name = c.nameLatin1();
    const i = index.get(name);
    if (i === undefined) {
      dstOnly.push({ name, kind: c.isDir ? 'dir' : c.isSymlink ? 'symlink' : c.isFile ? 'file' : null });
      continue;
    }
    const err = c.err;
    if (err !== 0) {
      if (err === ENOENT) continue; // vanished between readdir and lstat: the source entry is new
      const e = new native.NativeError(err, 'lstat', Buffer.concat([abs, SLASH, Buffer.from(name, 'latin1')]));
      return { error: { code: e.code, message: e.message } };
    }
    const e = c.entry(NO_REL, true);
    if (e === null) {
      matched.push({ index: i, name, kind: null, size: 0, mtimeNs: 0n, mtimeMs: undefined, mode: 0, uid: 0, gid: 0, blocks: 0, linkTarget: undefined });
      continue;
    }
    const srcSize = req.sizes[i]!;
    if (init.quick !== null && e.kind === 'file' && srcSize >= 0 && e.size === srcSize && (init.quick === 'size-only' || e.mtimeMs === req.mtimes[i])) {
      same[i] = 1;
      continue;
    }
    matched.push({
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
  return { exists: true, same, matched, dstOnly };
}

// Requests arrive in groups and are answered with one message per group (see DestLister.send).
parentPort!.on('message', (reqs: ListRequest[]) => {
  const replies: Reply[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const req of reqs) {
    const dir = listDir(req);
    replies.push({ seq: req.seq, dir });
    if ('same' in dir) transfer.push(dir.same.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(replies, transfer);
});
parentPort!.postMessage({ ready: true });
