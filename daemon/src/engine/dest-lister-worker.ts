/** Thread body for DestLister: list one destination directory per request. */
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { fastFileEntry, statEntry } from './walk';
import type { ListedDir, ListedEntry } from './dest-lister';

const root = Buffer.from((workerData as { root: string }).root, 'latin1');
const SLASH = Buffer.from('/');

function listDir(dirLatin1: string): ListedDir {
  const abs = dirLatin1 === '' ? root : Buffer.concat([root, SLASH, Buffer.from(dirLatin1, 'latin1')]);
  let dirents: fs.Dirent<Buffer>[];
  try {
    dirents = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
    return { error: { code, message: (err as Error).message } };
  }
  const entries: ListedEntry[] = [];
  for (const d of dirents) {
    const p = Buffer.concat([abs, SLASH, d.name]);
    try {
      const e = d.isFile() ? fastFileEntry(p, d.name) : statEntry(p, d.name);
      if (e === null) {
        entries.push({ name: d.name.toString('latin1'), kind: null, size: 0, mtimeNs: 0n, mtimeMs: undefined, mode: 0, uid: 0, gid: 0, blocks: 0, linkTarget: undefined });
        continue;
      }
      entries.push({
        name: d.name.toString('latin1'),
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
      if (code === 'ENOENT') continue; // vanished between readdir and lstat
      return { error: { code, message: (err as Error).message } };
    }
  }
  return { exists: true, entries };
}

parentPort!.on('message', (req: { seq: number; dir: string }) => {
  parentPort!.postMessage({ seq: req.seq, dir: listDir(req.dir) });
});
parentPort!.postMessage({ ready: true });
