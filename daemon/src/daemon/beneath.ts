/**
 * Use-time containment (closes the check-then-use window of containment.ts). resolvePath checks a
 * network path lexically and after resolving symlinks, but the daemon uses the path later: a
 * local user who can write inside a module could swap a checked directory for a symlink leading
 * out in between. A DirAnchor opens every directory a network path goes through with
 * openat2(module root fd, path, O_PATH|O_DIRECTORY, RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|
 * RESOLVE_NO_SYMLINKS) and hands out `/proc/self/fd/N` for it: the kernel then refuses any path
 * that leaves the module or goes through a symlink (EXDEV/ELOOP, reported as PathEscape naming the
 * path), and the last component is addressed relative to that pinned directory, so node:fs,
 * worker threads and the data plane keep taking paths.
 *
 * No symlink on the way: the transfer root is symlink-free (resolvePath returns real paths) and
 * every directory below it is a real directory (the destination refuses to write through a
 * symlink, the walk never descends into one), so RESOLVE_NO_SYMLINKS only refuses swaps.
 *
 * Directory fds are cached for one transfer and closed at its end (close()). That is as safe as
 * opening per use: the fd names the directory that was beneath the root when it was opened; a
 * later swap of any path component cannot redirect it. (Moving the directory itself out of the
 * module needs write access outside it, on the same filesystem, and races per-use opens alike.)
 * A directory removed by the transfer is forgotten (its fd closed). The cache holds at most
 * MAX_CACHED directories, least recently used evicted first, but never one whose path is still
 * held by an asynchronous user (acquire()/release(): a temp file awaiting its rename, a small
 * file queued for a writer thread, a file queued for a sender). An fd number is never reused under
 * a path still in use: a dropped directory (evicted or forgotten) whose path dir()/path() handed
 * out in the current synchronous turn is closed after that turn (setImmediate), so the caller can
 * still use it; one only acquired (and released) since is closed at once, nobody holds it. The
 * deferred closes are bounded (MAX_CACHED): a synchronous loop over tens of thousands of
 * directories (the receiver's final metadata pass, a mirror's deletions, the fallback loops)
 * cannot pile up an fd per directory until EMFILE (it did, 2026-11-21). So a path from
 * dir()/path() stays valid for the rest of its turn unless more than MAX_CACHED other directories
 * are addressed after it; a user that keeps one across a loop over many directories (a recursion)
 * asks again or holds it with acquire().
 *
 * Without openat2 (kernel before 5.6, a seccomp filter answering EPERM, no native library) the
 * anchor hands out the plain joined paths: today's checks stay, and the daemon logs once that the
 * race window exists.
 */
import * as fs from 'node:fs';
import * as native from '@blit/native';
import { BlitError, ErrorCodes } from '../engine/errors';
import { displayPath, EMPTY, join2, parentRel, baseName } from '../engine/paths';
import type { Logger } from './context';

/** Directory fds kept per transfer (RLIMIT_NOFILE is 20000 here; several transfers run at once). */
export const MAX_CACHED = 1024;
export const RESOLVE = native.RESOLVE_BENEATH | native.RESOLVE_NO_MAGICLINKS | native.RESOLVE_NO_SYMLINKS;
const ENOENT = 2;
const ELOOP = 40;
const EXDEV = 18;
const DOT = Buffer.from('.');

let warned = false;

/**
 * Test hook (BLIT_TEST_SWAP_BEFORE_OPEN='{"dir":"<module-relative dir>","to":"<symlink target>"}'):
 * the first time a transfer addresses that directory, after the containment checks and right
 * before it is opened, it is renamed away and a symlink to `to` takes its name: a real swap on
 * disk at the worst moment, for the tests of this file's guarantee. Runs once per process.
 */
let swap: { dir: string; to: string } | undefined = (() => {
  const v = process.env['BLIT_TEST_SWAP_BEFORE_OPEN'];
  if (!v) return undefined;
  const j = JSON.parse(v) as { dir?: unknown; to?: unknown };
  if (typeof j.dir !== 'string' || typeof j.to !== 'string') throw new Error(`BLIT_TEST_SWAP_BEFORE_OPEN: expected {"dir": string, "to": string}, got ${v}`);
  return { dir: j.dir, to: j.to };
})();

export function swapForTest(moduleRoot: string, modRel: Buffer): void {
  if (!swap || modRel.toString() !== swap.dir) return;
  if (swapNow(moduleRoot, swap.dir, swap.to)) swap = undefined;
}

/** The swap of both test hooks: `dir` renamed away, a symlink to `to` in its place. */
function swapNow(moduleRoot: string, dir: string, to: string): boolean {
  const at = `${moduleRoot}/${dir}`;
  // Each thread has its own copy of the hooks' state: swap only a real directory (once per process).
  if (!fs.lstatSync(at, { throwIfNoEntry: false })?.isDirectory()) return false;
  fs.renameSync(at, `${at}.swapped-away`);
  fs.symlinkSync(to, at);
  return true;
}

/**
 * Test hook (BLIT_TEST_SWAP_BEFORE_LIST='{"list":"<module-relative dir>","dir":"<module-relative
 * dir>","to":"<symlink target>"}'): right before a listing (listDir) reads directory `list`,
 * directory `dir` (`list` itself or a directory above it) is renamed away and a symlink to `to`
 * takes its name: the swap between the containment check and the listing. Once per process.
 */
let listSwap: { list: string; dir: string; to: string } | undefined = (() => {
  const v = process.env['BLIT_TEST_SWAP_BEFORE_LIST'];
  if (!v) return undefined;
  const j = JSON.parse(v) as { list?: unknown; dir?: unknown; to?: unknown };
  if (typeof j.list !== 'string' || typeof j.dir !== 'string' || typeof j.to !== 'string') throw new Error(`BLIT_TEST_SWAP_BEFORE_LIST: expected {"list": string, "dir": string, "to": string}, got ${v}`);
  return { list: j.list, dir: j.dir, to: j.to };
})();

export function swapBeforeListForTest(moduleRoot: string, modRel: Buffer): void {
  if (!listSwap || modRel.toString() !== listSwap.list) return;
  if (swapNow(moduleRoot, listSwap.dir, listSwap.to)) listSwap = undefined;
}

function warnOnce(log: Logger | undefined, why: string): void {
  if (warned) return;
  warned = true;
  log?.warn('openat2 is not available: paths are checked before use only, so a local user who can write inside a module could swap a directory for a symlink between check and use', { why });
}

/** Is use-time containment (openat2) active in this process? */
export function anchoredAvailable(): boolean {
  return native.loadOpenBeneath().open !== undefined;
}

/** A cached directory: its fd, `/proc/self/fd/N`, acquire() count, the turn its path was last handed out in. */
type Cached = { fd: number; path: Buffer; refs: number; turn: number };

export class DirAnchor {
  private moduleFd = -1;
  private readonly fds = new Map<string, Cached>();
  /** The cache size at which evict() runs next (MAX_CACHED, or more while many fds are held). */
  private evictAt = MAX_CACHED;
  /** Dropped fds whose path was handed out in this turn: closed when it ends (or when too many wait). */
  private toClose: number[] = [];
  /** The current synchronous turn (Cached.turn); ends at the next setImmediate once something asks for it. */
  private turn = 1;
  private turnEnds = false;
  private last: { rel: Buffer; e: Cached } | undefined;
  private readonly open: native.OpenBeneath | undefined;
  private closed = false;
  /** The transfer root relative to the module root ('' when they are the same). */
  private readonly rootRel: Buffer;

  /**
   * `moduleRoot`: the module's (real) root; `rootAbs`: the transfer root, the module root or a
   * path below it (as resolvePath returned it). Relative paths given to dir()/path() are below
   * rootAbs. Never throws: without openat2 it falls back to joined paths (and logs once).
   */
  constructor(private readonly moduleRoot: string, private readonly rootAbs: Buffer, log?: Logger) {
    const root = Buffer.from(moduleRoot);
    const inside = rootAbs.equals(root) || (rootAbs.length > root.length && rootAbs[root.length] === 0x2f && rootAbs.subarray(0, root.length).equals(root));
    if (!inside) throw new BlitError({ code: ErrorCodes.PathEscape, message: 'transfer root is not inside its module', path: displayPath(rootAbs) });
    this.rootRel = rootAbs.length > root.length ? rootAbs.subarray(root.length + 1) : EMPTY;
    const o = native.loadOpenBeneath();
    if (!o.open) {
      warnOnce(log, o.error?.message ?? 'unknown');
      this.open = undefined;
      return;
    }
    const fd = o.open(native.AT_FDCWD, root, 0);
    if (fd < 0) {
      // The module root itself cannot be opened: let the plain paths report it, as before.
      this.open = undefined;
      return;
    }
    this.moduleFd = fd;
    this.open = o.open;
  }

  /** True when paths are pinned with openat2; false on the fallback (plain joined paths). */
  get anchored(): boolean {
    return this.open !== undefined;
  }

  /** The transfer root is the module root itself (never removed: a move keeps it). */
  get atModuleRoot(): boolean {
    return this.rootRel.length === 0;
  }

  /** `rel` (below the transfer root) as a path below the module root. */
  modRel(rel: Buffer): Buffer {
    if (rel.length === 0) return this.rootRel;
    return this.rootRel.length === 0 ? rel : join2(this.rootRel, rel);
  }

  /** Opens module-relative directory `m` beneath the module root; throws errno-style or PathEscape. */
  private openDir(m: Buffer, shownRel: Buffer): number {
    if (this.closed) throw new BlitError({ code: ErrorCodes.Internal, message: 'directory anchor used after the transfer ended', path: displayPath(shownRel) || '.' });
    return openBeneathChecked(this.open!, this.moduleFd, m, shownRel);
  }

  /**
   * The module root fd (open until close()) and the transfer root below it, for a writer thread
   * that opens directories itself (openBeneathChecked); undefined on the fallback.
   */
  get beneath(): { fd: number; root: string; rootRel: Buffer } | undefined {
    return this.open && this.moduleFd >= 0 ? { fd: this.moduleFd, root: this.moduleRoot, rootRel: this.rootRel } : undefined;
  }

  /**
   * A path naming directory `rel` (below the transfer root) as opened beneath the module root:
   * `/proc/self/fd/N`, cached until forget()/close(). Fallback: the joined path.
   */
  dir(rel: Buffer): Buffer {
    return this.entry(rel, 0)?.path ?? (rel.length === 0 ? this.rootAbs : join2(this.rootAbs, rel));
  }

  /**
   * dir(rel) for a listing (the pull's walk, the push's destination listing, ls): the directory to
   * read, pinned like dir(); read it following this path (`/proc/self/fd/N` is a magic link to the
   * directory opened beneath the module root) and address its entries relative to the directory
   * fd the read opens (fstatat), never through the path again. Throws PathEscape for a swap.
   */
  listDir(rel: Buffer): Buffer {
    if (listSwap) swapBeforeListForTest(this.moduleRoot, this.modRel(rel));
    return this.dir(rel);
  }

  /**
   * The listing of directory `rel` (below the transfer root) into `nb.scan` (scan-dir.ts), in one
   * native call that opens it beneath the module root (openat2 O_RDONLY|O_DIRECTORY with the
   * anchor's RESOLVE bits: no symlink, no magic link, nothing outside) and lstats its entries
   * relative to the fd that open returned: one syscall per directory, no procfs path, nothing
   * cached (a listing reads each directory once). Returns the entry count; throws PathEscape
   * naming `rel` for a swap (EXDEV/ELOOP), a NativeError ('scandir', `rel`) otherwise (ENOENT,
   * ENOTDIR: no such directory). Fallback (no openat2): the joined path, as dir() hands out.
   */
  scanDir(nb: native.NativeBatch, rel: Buffer): number {
    const m = this.modRel(rel);
    if (listSwap) swapBeforeListForTest(this.moduleRoot, m);
    if (swap) swapForTest(this.moduleRoot, m);
    if (!this.open) {
      const abs = rel.length === 0 ? this.rootAbs : join2(this.rootAbs, rel);
      const n = nb.scanDir(abs, true);
      if (n < 0) throw new native.NativeError(-n, 'scandir', abs);
      return n;
    }
    if (this.closed) throw new BlitError({ code: ErrorCodes.Internal, message: 'directory anchor used after the transfer ended', path: displayPath(rel) || '.' });
    const n = nb.scanDirAt(this.moduleFd, m.length === 0 ? DOT : m, RESOLVE);
    if (n < 0) throw beneathError(-n, 'scandir', rel);
    return n;
  }

  /**
   * A path for the transfer root itself as an entry (to lstat it): its parent opened beneath the
   * module root plus its name, valid for this synchronous turn (the parent's fd is closed after
   * it). The module root itself (configuration, not a network path) and the fallback: the root's
   * own path. Throws PathEscape (naming `shown`) when a directory above it is now a symlink, or
   * an errno error (ENOENT: a parent is missing).
   */
  rootEntry(shown: string): Buffer {
    if (!this.open || this.rootRel.length === 0) return this.rootAbs;
    const parent = parentRel(this.rootRel);
    if (swap) swapForTest(this.moduleRoot, parent);
    let fd: number;
    try {
      fd = this.openDir(parent, EMPTY);
    } catch (err) {
      if (err instanceof BlitError) throw new BlitError({ code: err.code, message: err.message, path: shown });
      throw err;
    }
    this.closeLater(fd);
    return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), baseName(this.rootRel)]);
  }

  /**
   * dir(rel) for a user that keeps the path beyond this synchronous turn: the directory stays
   * cached (its fd open) until release(rel).
   */
  acquire(rel: Buffer): Buffer {
    return this.entry(rel, 1)?.path ?? (rel.length === 0 ? this.rootAbs : join2(this.rootAbs, rel));
  }

  /** Ends an acquire(rel). */
  release(rel: Buffer): void {
    const e = this.fds.get(rel.toString('latin1'));
    if (e && e.refs > 0) e.refs--;
  }

  private entry(rel: Buffer, ref: number): Cached | undefined {
    // Consecutive calls mostly name one directory: no key string, no reordering (it is already
    // the most recently used, and an insert never evicts the entry it inserts).
    const last = this.last;
    if (last && last.rel.equals(rel)) {
      last.e.refs += ref;
      if (ref === 0) this.handedOut(last.e);
      return last.e;
    }
    const k = rel.toString('latin1');
    const hit = this.fds.get(k);
    if (hit) {
      hit.refs += ref;
      if (ref === 0) this.handedOut(hit);
      // Most recently used last (Map order), for the eviction below.
      this.fds.delete(k);
      this.fds.set(k, hit);
      this.last = { rel: Buffer.from(rel), e: hit };
      return hit;
    }
    if (swap) swapForTest(this.moduleRoot, this.modRel(rel));
    if (!this.open) return undefined;
    const fd = this.openDir(this.modRel(rel), rel);
    const e: Cached = { fd, path: Buffer.from(`/proc/self/fd/${fd}`), refs: ref, turn: 0 };
    if (ref === 0) this.handedOut(e);
    this.fds.set(k, e);
    if (this.fds.size > this.evictAt) this.evict(k);
    this.last = { rel: Buffer.from(rel), e };
    return e;
  }

  /**
   * Close the least recently used directories nobody holds, down to 3/4 of MAX_CACHED. When held
   * directories keep the cache above that (a pull's sender queues files of thousands of
   * directories ahead of its sockets), the next pass waits for MAX_CACHED/4 more inserts: a pass
   * per insert walked the whole cache each time (1.1 s of blitd's main thread in a pull of 13,792
   * directories). The unheld fds stay bounded: at most 3/4 + 1/4 of MAX_CACHED beside the held ones.
   */
  private evict(keep: string): void {
    for (const [k, e] of this.fds) {
      if (this.fds.size <= (MAX_CACHED * 3) / 4) break;
      if (e.refs > 0 || k === keep) continue;
      this.fds.delete(k);
      this.drop(e);
    }
    this.evictAt = Math.max(MAX_CACHED, this.fds.size + MAX_CACHED / 4);
  }

  /** Its path was handed out (dir()/path()) in this turn: a drop closes it only after the turn. */
  private handedOut(e: Cached): void {
    e.turn = this.turn;
    this.endTurnLater();
  }

  private endTurnLater(): void {
    if (this.turnEnds) return;
    this.turnEnds = true;
    setImmediate(() => {
      this.turnEnds = false;
      this.turn++;
      this.flushClose();
    });
  }

  /** A directory left the cache (unheld): close it now, or after this turn if its path was handed out in it. */
  private drop(e: Cached): void {
    if (e.turn === this.turn) this.closeLater(e.fd);
    else fs.closeSync(e.fd);
  }

  /**
   * Close after this synchronous turn: a path handed out in it stays valid while it is used. At
   * most MAX_CACHED wait: beyond that the oldest half is closed now (an evicted one was dropped
   * after more than 3/4 of MAX_CACHED other directories were addressed since its path was handed
   * out, and MAX_CACHED/2 more drops came after it; a forgotten one was removed).
   */
  private closeLater(fd: number): void {
    this.endTurnLater();
    this.toClose.push(fd);
    if (this.toClose.length >= MAX_CACHED) for (const old of this.toClose.splice(0, MAX_CACHED / 2)) fs.closeSync(old);
  }

  private flushClose(): void {
    const fds = this.toClose;
    this.toClose = [];
    for (const fd of fds) fs.closeSync(fd);
  }

  /** A path for entry `rel`: its pinned parent directory plus its own name (never followed by lstat, unlink, rename, O_NOFOLLOW opens). */
  path(rel: Buffer): Buffer {
    if (!this.open) return rel.length === 0 ? this.rootAbs : join2(this.rootAbs, rel);
    if (rel.length === 0) return this.dir(EMPTY);
    return join2(this.dir(parentRel(rel)), baseName(rel));
  }

  /**
   * Create the transfer root's missing components (the caller checked how many may be created),
   * each mkdir addressed relative to its pinned parent. Fallback: mkdir -p on the joined path.
   */
  ensureRoot(): void {
    if (!this.open) {
      fs.mkdirSync(this.rootAbs, { recursive: true, mode: 0o755 });
      return;
    }
    const parts = this.rootRel.length === 0 ? [] : splitParts(this.rootRel);
    let parentFd = this.moduleFd;
    const opened: number[] = [];
    try {
      for (let i = 0; i < parts.length; i++) {
        const m = Buffer.from(parts.slice(0, i + 1).join('/'), 'latin1');
        let fd: number;
        try {
          fd = this.openDir(m, EMPTY);
        } catch (err) {
          if ((err as { errno?: number }).errno !== ENOENT) throw err;
          try {
            fs.mkdirSync(Buffer.from(`/proc/self/fd/${parentFd}/${parts[i]!}`, 'latin1'), 0o755);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          }
          fd = this.openDir(m, EMPTY);
        }
        opened.push(fd);
        parentFd = fd;
      }
    } finally {
      for (const fd of opened) fs.closeSync(fd);
    }
  }

  /**
   * Drop directory `rel` (it was removed). Only `rel` itself: the callers (the mirror's
   * deleteTree, the admin tree walk, a pull move's emptied directories) remove bottom-up, so
   * everything below was forgotten first.
   */
  forget(rel: Buffer): void {
    if (!this.open || this.fds.size === 0) return;
    const k = rel.toString('latin1');
    const hit = this.fds.get(k);
    if (hit && hit.refs === 0) {
      this.fds.delete(k);
      if (this.last?.e === hit) this.last = undefined;
      this.drop(hit);
    }
  }

  /** Close every fd (call once nothing uses the paths any more: writers settled, senders done). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.last = undefined;
    this.flushClose();
    if (this.moduleFd >= 0) fs.closeSync(this.moduleFd);
    this.moduleFd = -1;
  }
}

/**
 * openat2(moduleFd, m, O_PATH|O_DIRECTORY, RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS):
 * the fd, or PathEscape (a symlink on the way) / a NativeError naming `shownRel`. Any thread.
 */
export function openBeneathChecked(open: native.OpenBeneath, moduleFd: number, m: Buffer, shownRel: Buffer): number {
  const fd = open(moduleFd, m.length === 0 ? DOT : m, RESOLVE);
  if (fd >= 0) return fd;
  throw beneathError(-fd, 'openat2', shownRel);
}

/** The error of an open beneath the module root: PathEscape for a swap (EXDEV/ELOOP), else a NativeError naming `shownRel`. */
export function beneathError(errno: number, syscall: string, shownRel: Buffer): Error {
  if (errno === EXDEV || errno === ELOOP) {
    return new BlitError({
      code: ErrorCodes.PathEscape,
      message: errno === EXDEV
        ? 'resolves outside the module (a directory on the way was replaced by a symlink); refusing to use it'
        : 'a directory on the way is now a symlink (replaced during the transfer?); refusing to follow it',
      path: displayPath(shownRel) || '.',
    });
  }
  return new native.NativeError(errno, syscall, displayPath(shownRel) || '.');
}

function splitParts(rel: Buffer): string[] {
  return rel.toString('latin1').split('/').filter((p) => p.length > 0);
}
