/**
 * move from a daemon's module (pull, daemon side): removes each source file the client reports as
 * committed (or already identical at the destination), and each symlink it reports in place. A
 * source is removed only when it is a file (symlink) of this transfer's manifest, its sending did
 * not fail, it is still the same file (size and ns mtime as sent; a symlink: the same target), and
 * it is reached through containment: its directory resolved inside the module for writing (so a
 * read-only module never loses a file), the entry itself never followed as a symlink. Every
 * refusal or error is reported, never thrown: the other removals go on. At the end of a move that
 * succeeded, the directories it emptied go (removeEmptiedDirs): only those the client reported in
 * place (Committed.dirs), so a directory it could not create is never lost from both sides.
 */
import * as fs from 'node:fs';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { displayPath, parentRel } from '../engine/paths';
import type { Failure } from '../engine/types';
import { checkRelative } from '../daemon/containment';
import type { ServerContext } from '../daemon/context';
import type { ManifestSource } from './source';
import { removeEmptiedDirs, stillAsScannedAt } from '../engine/move-finalise';

/** How a committed index of each kind is named in a BadFrame. */
const INDEX_NAME = { file: 'index', symlink: 'symlink index', dir: 'directory index' } as const;

export class SourceRemover {
  private chain: Promise<void> = Promise.resolve();
  private readonly seen = new Set<number>();
  /** Manifest indices of the directories the client has in place (Committed.dirs). */
  private readonly dirsInPlace: number[] = [];
  private readonly dirs = new Map<string, Promise<Buffer>>();
  /** Module-relative path of the manifest root, normalised ('' = module root). */
  private readonly base: Buffer;

  constructor(
    private readonly ctx: ServerContext,
    private readonly module: string,
    base: Buffer,
    private readonly source: ManifestSource,
    private readonly sendFailed: ReadonlySet<number>,
    private readonly report: (f: Failure) => Promise<void>,
  ) {
    const parts = checkRelative(base, `${module}/${displayPath(base)}`);
    this.base = Buffer.from(parts.map((p) => p.toString('latin1')).join('/'), 'latin1');
  }

  /**
   * Queue a batch of committed file and symlink indices, and note the directories in place; a
   * malformed batch (an index out of range, of another kind, or reported twice) is a protocol
   * error, thrown before anything of it is queued.
   */
  add(indices: number[], symlinks: number[] = [], dirs: number[] = []): void {
    for (const [list, kind] of [[indices, 'file'], [symlinks, 'symlink'], [dirs, 'dir']] as const) {
      for (const i of list) {
        const e = this.source.entryAt(i);
        if (!Number.isSafeInteger(i) || !e || e.kind !== kind) {
          throw new BlitError({ code: ErrorCodes.BadFrame, message: `committed ${INDEX_NAME[kind]} ${i} is not a ${kind === 'dir' ? 'directory' : kind} of the manifest` });
        }
        if (this.seen.has(i)) throw new BlitError({ code: ErrorCodes.BadFrame, message: `committed ${INDEX_NAME[kind]} ${i} reported twice`, path: displayPath(e.rel) });
        this.seen.add(i);
      }
    }
    // Not push(...dirs): one message may hold ~10^6 indices (a RangeError past ~10^5 arguments).
    for (const d of dirs) this.dirsInPlace.push(d);
    const batch = [...indices, ...symlinks];
    this.chain = this.chain.then(async () => {
      for (const i of batch) await this.removeOne(i);
    });
  }

  /** Resolves when every queued removal is settled (reported). */
  finish(): Promise<void> {
    return this.chain;
  }

  /**
   * After finish(), the client done: the manifest's directories the client has in place and that
   * are now empty go, deepest first, each through the source's anchor (ManifestSource.rmdir: its name beneath its parent opened
   * beneath the module root, never followed); the root only when `removeRoot` (`SRC`, not
   * `SRC/`), never the module root. A directory still holding anything stays, silently.
   */
  async removeEmptiedDirs(removeRoot: boolean): Promise<void> {
    // Checked inside the module for writing, as each file's directory (a read-only module was
    // refused before the manifest; this holds if that ever changes). Refused: all kept.
    try {
      await this.dir(this.base);
    } catch {
      return;
    }
    // Not source.dirRels(): a directory the client failed to create (or one of an older client,
    // which reports none) stays, though empty.
    const dirs = this.dirsInPlace.map((i) => this.source.entryAt(i)!.rel);
    await removeEmptiedDirs(dirs, !removeRoot, (rel) => this.source.rmdir(rel));
  }

  private async removeOne(index: number): Promise<void> {
    const e = this.source.entryAt(index)!;
    const shown = displayPath(e.rel);
    try {
      if (this.sendFailed.has(index)) {
        throw new BlitError({ code: ErrorCodes.IoError, message: 'its copy failed; source kept', path: shown });
      }
      const modRel = this.base.length > 0 ? Buffer.concat([this.base, Buffer.from('/'), e.rel]) : e.rel;
      // Checked (inside the module, writable), then used through the source's directory pinned
      // beneath the module root (daemon/beneath.ts): a swap since the check cannot lead out.
      await this.dir(parentRel(modRel));
      const pinned = this.source.pin(e.rel);
      try {
        let same: boolean;
        try {
          same = await stillAsScannedAt(e, pinned.abs);
        } catch (err) {
          throw fromErrno(err, shown, 'cannot remove source');
        }
        if (!same) {
          throw new BlitError({ code: ErrorCodes.SourceChanged, message: 'changed after it was sent; source kept', path: shown });
        }
        try {
          await fs.promises.unlink(pinned.abs);
        } catch (err) {
          throw fromErrno(err, shown, 'cannot remove source');
        }
      } finally {
        pinned.done();
      }
    } catch (err) {
      const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: String(err), path: shown });
      await this.report({ path: be.path ?? shown, code: be.code, reason: be.message }).catch(() => undefined);
    }
  }

  /** The directory, resolved (symlinks included) inside the module for writing; cached. */
  private dir(modRel: Buffer): Promise<Buffer> {
    const k = modRel.toString('latin1');
    let p = this.dirs.get(k);
    if (!p) {
      p = this.ctx.resolvePath(this.module, modRel, { forWrite: true }).then((r) => r.abs);
      this.dirs.set(k, p);
    }
    return p;
  }
}
