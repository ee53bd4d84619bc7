/**
 * Admin verbs served by blitd: ListModules, List, Find, DiskUsage, FilesystemStats, Purge. Each
 * resolves its path through ctx.resolvePath first (containment), so nothing outside a module is
 * read or written; Purge resolves forWrite, so read-only modules refuse it. Then every directory
 * is used through an fd opened beneath the module root (beneath.ts): a directory swapped for a
 * symlink after the check fails with PathEscape instead of leading out.
 */
import * as fs from 'node:fs';
import picomatch from 'picomatch';
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { baseName, displayPath, EMPTY } from '../engine/paths';
import { statEntry } from '../engine/walk';
import { NativeError, statfsType, type NativeBatch } from '@blit/native';
import { ENOENT, isDirMode, kindOfMode, nativeScanner, ScanCursor } from '../engine/scan-dir';
import { entryToWire } from '../remote/convert';
import type { ModuleConfig, ServerContext } from './context';
import { walkTree, type TreeItem } from './tree';
import { DirAnchor } from './beneath';

const FIND_BATCH = 256;

/** An anchor at the module root and `abs` relative to it (for walkTree's `beneath`). */
function beneathModule(ctx: ServerContext, module: ModuleConfig, abs: Buffer): { anchor: DirAnchor; rel: Buffer } {
  const root = Buffer.from(module.path);
  const anchor = new DirAnchor(module.path, root, ctx.log);
  return { anchor, rel: abs.length > root.length ? abs.subarray(root.length + 1) : EMPTY };
}

/**
 * Left-out entries one find/du call names (loops and unreadable together, in walk order); the rest
 * are only counted (`left_out_unnamed`). The lists come from the tree's contents: a 0400 directory
 * of a million files was a million Failures in one DiskUsageResponse (~100 MB, past the client's
 * 64 MiB receive limit, all held in blitd) and a million log lines.
 */
export const MAX_LEFT_OUT_NAMED = 1000;

/**
 * What a find/du walk left out, for the client: directories skipped as their own ancestors
 * (`loops`) and directories or entries it could not read (`unreadable`), the first
 * MAX_LEFT_OUT_NAMED named (each also logged), the rest counted (one log line at the end). The
 * client names each and exits 2 (GNU du/find warn "cannot read directory" and exit 1). A directory
 * swapped for a symlink (PathEscape from the anchor) is not left out: it fails the call naming it.
 */
class LeftOut {
  readonly loops: pb.FileSystemLoop[] = [];
  readonly unreadable: pb.Failure[] = [];
  /** Named so far (sent or not): the cap counts across Find's batches. */
  private named = 0;
  private unnamed = 0;
  constructor(
    private readonly ctx: ServerContext,
    private readonly verb: string,
    private readonly shown: string,
  ) {}

  /** Whether this one may still be named; counts it otherwise. */
  private nameable(): boolean {
    if (this.named < MAX_LEFT_OUT_NAMED) {
      this.named++;
      return true;
    }
    this.unnamed++;
    return false;
  }

  /** walkTree's onError. */
  readonly onError = (e: BlitError, rel: Buffer): void => {
    if (e.code === ErrorCodes.PathEscape) throw e;
    if (!this.nameable()) return;
    this.unreadable.push({ path: rel, code: e.code, reason: e.reason });
    this.ctx.log.warn(`${this.verb}: skipped`, { error: e.message });
  };

  /** walkTree's onLoop. */
  readonly onLoop = (rel: Buffer, ancestor: Buffer): void => {
    if (!this.nameable()) return;
    this.loops.push({ path: rel, ancestor });
    const sameAs = ancestor.length ? `${this.shown}/${displayPath(ancestor)}` : this.shown;
    this.ctx.log.warn(`${this.verb}: skipped a file system loop`, { path: `${this.shown}/${displayPath(rel)}`, sameAs });
  };

  /** Everything named and not yet sent (Find sends each once, in some batch). */
  take(): { loops: pb.FileSystemLoop[]; unreadable: pb.Failure[] } {
    return { loops: this.loops.splice(0), unreadable: this.unreadable.splice(0) };
  }

  /** After the walk: what is left to send, with the count of the unnamed (logged once here). */
  finish(): { loops: pb.FileSystemLoop[]; unreadable: pb.Failure[]; leftOutUnnamed: number } {
    if (this.unnamed > 0) {
      this.ctx.log.warn(`${this.verb}: skipped more, not named (past the first ${MAX_LEFT_OUT_NAMED})`, { path: this.shown, entries: this.unnamed });
    }
    return { ...this.take(), leftOutUnnamed: this.unnamed };
  }

  get any(): boolean {
    return this.loops.length > 0 || this.unreadable.length > 0 || this.unnamed > 0;
  }
}

function shownPath(module: string, rel: Buffer): string {
  return rel.length ? `${module}/${displayPath(rel)}` : module;
}

function entryOf(item: { abs: Buffer }, rel: Buffer, shown: string): pb.FileEntry | null {
  try {
    const e = statEntry(item.abs, rel);
    return e ? entryToWire(e) : null;
  } catch (err) {
    throw fromErrno(err, shown, 'cannot stat');
  }
}

export function listModules(ctx: ServerContext): pb.ListModulesResponse {
  return { modules: [...ctx.modules.values()].map((m) => ({ name: m.name, comment: m.comment, readOnly: m.readOnly })) };
}

/** One directory (or one file) with lstat metadata; names relative to the listed directory. */
export async function list(ctx: ServerContext, req: pb.ListRequest__Output): Promise<pb.ListResponse> {
  const shown = shownPath(req.module, req.path);
  const resolved = await ctx.resolvePath(req.module, req.path, { forWrite: false });
  const b = beneathModule(ctx, resolved.module, resolved.abs);
  try {
    return await listIn(b, baseName(resolved.abs), shown);
  } finally {
    b.anchor.close();
  }
}

async function listIn(b: { anchor: DirAnchor; rel: Buffer }, name: Buffer, shown: string): Promise<pb.ListResponse> {
  let st: fs.Stats;
  let abs: Buffer;
  try {
    abs = b.anchor.path(b.rel);
    st = b.rel.length === 0 ? await fs.promises.stat(abs) : await fs.promises.lstat(abs);
  } catch (err) {
    throw fromErrno(err, shown, 'cannot list');
  }
  if (!st.isDirectory()) {
    const e = entryOf({ abs }, name, shown);
    return { entries: e ? [e] : [] };
  }
  const nb = nativeScanner();
  if (nb) return { entries: scannedEntries(nb, b, shown) };
  let names: Buffer[];
  try {
    abs = b.anchor.listDir(b.rel);
    names = await fs.promises.readdir(abs, { encoding: 'buffer' });
  } catch (err) {
    throw fromErrno(err, shown, 'cannot list');
  }
  names.sort(Buffer.compare);
  const entries: pb.FileEntry[] = [];
  for (const name of names) {
    try {
      const e = statEntry(Buffer.concat([abs, Buffer.from('/'), name]), name);
      if (e) entries.push(entryToWire(e));
    } catch (err) {
      // Removed between readdir and lstat: it is simply not there any more.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromErrno(err, `${shown}/${displayPath(name)}`, 'cannot stat');
    }
  }
  return { entries };
}

/**
 * ls of a directory in one native call (DirAnchor.scanDir: opened by openat2 beneath the module
 * root, entries lstat'ed relative to that fd), the same entries and errors as the node:fs path.
 */
function scannedEntries(nb: NativeBatch, b: { anchor: DirAnchor; rel: Buffer }, shown: string): pb.FileEntry[] {
  let n: number;
  try {
    n = b.anchor.scanDir(nb, b.rel);
  } catch (err) {
    throw fromErrno(err, shown, 'cannot list');
  }
  const c = new ScanCursor(nb);
  const entries: { name: Buffer; e: pb.FileEntry }[] = [];
  for (let i = 0; i < n; i++, c.next()) {
    const name = c.joinName(EMPTY);
    const err = c.err;
    if (err !== 0) {
      // Removed between readdir and lstat: it is simply not there any more.
      if (err === ENOENT) continue;
      throw fromErrno(new NativeError(err, 'lstat', name), `${shown}/${displayPath(name)}`, 'cannot stat');
    }
    const e = c.entry(name, false);
    if (e) entries.push({ name, e: entryToWire(e) });
  }
  entries.sort((x, y) => Buffer.compare(x.name, y.name));
  return entries.map((x) => x.e);
}

/**
 * Most '*' wildcards one path segment of a Find pattern may hold. picomatch compiles a glob to a
 * backtracking regex: `*a*a*a*a*b` against a 255-byte name of 'a's took > 20 s of blitd's only
 * thread (every client starved); 3 take ~15 ms at worst, 4 already ~0.8 s.
 */
export const MAX_GLOB_STARS_PER_SEGMENT = 3;

/** Refuses (Usage, naming the segment) a pattern whose matching could take exponential time. */
export function checkGlobComplexity(pattern: string): void {
  for (const seg of pattern.split('/')) {
    if (seg === '**') continue;
    const stars = seg.split('*').length - 1;
    if (stars > MAX_GLOB_STARS_PER_SEGMENT) {
      throw new BlitError({
        code: ErrorCodes.Usage,
        message:
          `invalid pattern '${pattern}': segment '${seg}' holds ${stars} '*' wildcards (at most ${MAX_GLOB_STARS_PER_SEGMENT}: ` +
          'matching more can take exponential time)',
      });
    }
  }
}

/**
 * Glob search below a path. The pattern is matched against the path relative to the search
 * start and, for patterns without '/', against the name alone (rsync-like). Results are sent in
 * batches as they are found.
 */
export async function find(
  ctx: ServerContext,
  req: pb.FindRequest__Output,
  send: (batch: pb.FindResponse) => Promise<void>,
  signal: AbortSignal,
): Promise<number> {
  if (!req.pattern) throw new BlitError({ code: ErrorCodes.Usage, message: 'find needs a pattern (--pattern GLOB)' });
  checkGlobComplexity(req.pattern);
  let isMatch: (s: string) => boolean;
  try {
    isMatch = picomatch(req.pattern, { dot: true, basename: !req.pattern.includes('/') });
  } catch (err) {
    throw new BlitError({ code: ErrorCodes.Usage, message: `invalid pattern '${req.pattern}': ${(err as Error).message}` });
  }
  const shown = shownPath(req.module, req.path);
  const { abs, module } = await ctx.resolvePath(req.module, req.path, { forWrite: false });
  const beneath = beneathModule(ctx, module, abs);
  let batch: pb.FileEntry[] = [];
  let found = 0;
  const limit = req.limit > 0 ? req.limit : Infinity;
  const left = new LeftOut(ctx, 'find', shown);
  try {
    for await (const item of walkTree(abs, shown, { signal, beneath, onError: left.onError, onLoop: left.onLoop })) {
      if (item.rel.length === 0 || !isMatch(displayPath(item.rel))) continue;
      const e = entryOfItem(item);
      if (!e) continue;
      batch.push(e);
      found++;
      if (batch.length >= FIND_BATCH) {
        await send({ entries: batch, ...left.take() });
        batch = [];
      }
      if (found >= limit) break;
    }
  } finally {
    beneath.anchor.close();
  }
  if (batch.length > 0 || left.any) await send({ entries: batch, ...left.finish() });
  return found;
}

function entryOfItem(item: TreeItem): pb.FileEntry | null {
  const s = item.stat;
  const kind = kindOfMode(s.mode);
  if (!kind) return null;
  return entryToWire({
    rel: item.rel,
    kind,
    size: kind === 'file' ? s.size : 0,
    mtimeNs: BigInt(s.mtimeSec) * 1_000_000_000n + BigInt(s.mtimeNsec),
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    ...(kind === 'symlink' ? { linkTarget: item.linkTarget ?? EMPTY } : {}),
  });
}

/** Apparent and allocated size plus counts of everything at and below the path. */
export async function diskUsage(ctx: ServerContext, req: pb.DiskUsageRequest__Output, signal: AbortSignal): Promise<pb.DiskUsageResponse> {
  const shown = shownPath(req.module, req.path);
  const { abs, module } = await ctx.resolvePath(req.module, req.path, { forWrite: false });
  const out = { bytes: 0, allocatedBytes: 0, files: 0, dirs: 0, symlinks: 0 };
  const beneath = beneathModule(ctx, module, abs);
  const left = new LeftOut(ctx, 'du', shown);
  try {
    for await (const { stat } of walkTree(abs, shown, { signal, beneath, onError: left.onError, onLoop: left.onLoop })) {
      out.allocatedBytes += stat.blocks * 512;
      const kind = kindOfMode(stat.mode);
      if (kind === 'file') {
        out.files++;
        out.bytes += stat.size;
      } else if (kind === 'dir') out.dirs++;
      else if (kind === 'symlink') out.symlinks++;
    }
  } finally {
    beneath.anchor.close();
  }
  return { ...out, ...left.finish() };
}

function fsTypeOf(abs: Buffer): string {
  try {
    return statfsType(abs);
  } catch {
    return 'unknown'; // the sizes above are still right; the name is informational
  }
}

export async function filesystemStats(ctx: ServerContext, req: pb.FilesystemStatsRequest__Output): Promise<pb.FilesystemStatsResponse> {
  const { abs, module } = await ctx.resolvePath(req.module, EMPTY, { forWrite: false });
  let st: fs.StatsFs;
  try {
    st = await fs.promises.statfs(abs.toString());
  } catch (err) {
    throw fromErrno(err, module.name, 'statfs');
  }
  return {
    totalBytes: st.blocks * st.bsize,
    freeBytes: st.bfree * st.bsize,
    availableBytes: st.bavail * st.bsize,
    totalInodes: st.files,
    freeInodes: st.ffree,
    fsType: fsTypeOf(abs),
  };
}

/**
 * rm -r inside a module. The module root itself is refused unless `allow_module_root` is set, and
 * then only its contents go (the root stays). A non-recursive purge of a non-empty directory is
 * refused. Deletion is post-order and stops at the first error, naming the path; an entry that
 * vanished meanwhile (ENOENT) is not one.
 */
export async function purge(ctx: ServerContext, req: pb.PurgeRequest__Output, signal: AbortSignal): Promise<pb.PurgeResponse> {
  const shown = shownPath(req.module, req.path);
  const { abs, module } = await ctx.resolvePath(req.module, req.path, { forWrite: true });
  const isRoot = abs.equals(Buffer.from(module.path));
  if (isRoot && !req.allowModuleRoot) {
    throw new BlitError({
      code: ErrorCodes.Usage,
      message: `refusing to purge the root of module '${module.name}' (name a path inside it, or pass --module-root to empty it)`,
    });
  }
  const beneath = beneathModule(ctx, module, abs);
  let deleted = 0;
  try {
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(isRoot ? abs : beneath.anchor.path(beneath.rel));
    } catch (err) {
      throw fromErrno(err, shown, 'cannot purge');
    }
    if (st.isDirectory() && !req.recursive && (await fs.promises.readdir(beneath.anchor.dir(beneath.rel))).length > 0) {
      throw new BlitError({ code: ErrorCodes.Usage, message: 'is a non-empty directory (purge it recursively)', path: shown });
    }
    for await (const item of walkTree(abs, shown, { signal, beneath, postOrder: true, paths: true, onError: (e) => { throw e; } })) {
      if (isRoot && item.rel.length === 0) continue;
      try {
        if (isDirMode(item.stat.mode)) await fs.promises.rmdir(item.abs!);
        else await fs.promises.unlink(item.abs!);
        deleted++;
      } catch (err) {
        // Already gone (another writer, a push renaming its temp away, a second rm): what was
        // asked holds, as `rm -rf` treats it; not counted as deleted by this purge.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw fromErrno(err, item.rel.length ? `${shown}/${displayPath(item.rel)}` : shown, 'cannot delete');
      }
    }
  } finally {
    beneath.anchor.close();
  }
  ctx.log.info('purged', { module: module.name, path: displayPath(req.path), entries: deleted });
  return { entriesDeleted: deleted };
}
