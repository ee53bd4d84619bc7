/**
 * Module containment: every path that arrives over the wire is checked twice before anything
 * touches the filesystem. First lexically (no absolute path, no '..', no NUL, a known module),
 * then after resolving symlinks: the real path of the longest existing prefix must be the module
 * root or below it. A read-only module refuses every write and delete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError, ErrorCodes, fromErrno } from '../engine/errors';
import { displayPath } from '../engine/paths';
import type { Logger, ModuleConfig, ResolvedPath } from './context';

const SLASH = 0x2f;

/**
 * Lexical check. Returns the normalised components ('' and '.' dropped). Throws PathEscape for an
 * absolute path or a '..' component, InvalidPath for a NUL byte.
 */
export function checkRelative(rel: Buffer, shown: string): Buffer[] {
  if (rel.includes(0)) throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'path contains a NUL byte', path: shown });
  if (rel.length > 0 && rel[0] === SLASH) {
    throw new BlitError({ code: ErrorCodes.PathEscape, message: 'absolute paths are not allowed; paths are relative to the module', path: shown });
  }
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === SLASH) {
      const part = rel.subarray(start, i);
      start = i + 1;
      if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
        throw new BlitError({ code: ErrorCodes.PathEscape, message: "'..' is not allowed in a module path", path: shown });
      }
      parts.push(part);
    }
  }
  return parts;
}

function joinParts(root: Buffer, parts: Buffer[]): Buffer {
  const chunks: Buffer[] = [root];
  for (const p of parts) chunks.push(Buffer.from('/'), p);
  return Buffer.concat(chunks);
}

function isInside(root: Buffer, real: Buffer): boolean {
  if (real.equals(root)) return true;
  if (root.length === 1 && root[0] === SLASH) return real.length > 0 && real[0] === SLASH;
  return real.length > root.length && real[root.length] === SLASH && real.subarray(0, root.length).equals(root);
}

const MAX_LINK_DEPTH = 8;

/**
 * Longest path from the wire (bytes, relative to the module): PATH_MAX less the '/' after the
 * module root. Longer ones cannot name anything (ENAMETOOLONG), and resolving one cost a
 * realpath and an lstat per component: a 64 KiB "a/a/..." kept blitd busy for minutes.
 */
export const MAX_WIRE_PATH = 4095;

function escape(shown: string, why: string): BlitError {
  return new BlitError({ code: ErrorCodes.PathEscape, message: why, path: shown });
}

/** Lexically normalise an absolute byte path (latin1 keeps bytes 1:1). */
function normaliseAbs(p: Buffer): Buffer {
  return Buffer.from(path.posix.resolve(p.toString('latin1')), 'latin1');
}

/**
 * Realpath of the longest existing prefix of root/parts, checked to be inside root; the
 * remaining components do not exist, so they cannot be symlinks. A dangling symlink is only
 * accepted as the last component, and only when its target (resolved the same way) stays inside:
 * otherwise creating the path would follow it out of the module.
 */
async function resolveInside(root: Buffer, parts: Buffer[], shown: string, depth: number): Promise<Buffer> {
  for (let n = parts.length; n >= 0; n--) {
    const prefix = joinParts(root, parts.slice(0, n));
    let real: Buffer;
    try {
      real = await fs.promises.realpath(prefix, { encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (n === 0) {
        throw new BlitError({ code: ErrorCodes.SourceNotFound, message: `module root ${root.toString()} is not accessible (${code ?? 'error'})`, cause: err });
      }
      if (code === 'ELOOP') throw escape(shown, 'symlink loop');
      // EACCES (a directory on the way blitd may not search) and the rest: the errno's code and text.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fromErrno(err, shown, 'cannot resolve path');
      const st = await fs.promises.lstat(prefix).catch(() => null);
      if (!st) continue; // this component does not exist: try the parent
      // It exists but cannot be resolved: a dangling symlink.
      if (n !== parts.length || !st.isSymbolicLink()) throw escape(shown, 'goes through a dangling symlink');
      if (depth >= MAX_LINK_DEPTH) throw escape(shown, 'too many levels of symlinks');
      const parentReal = await resolveInside(root, parts.slice(0, n - 1), shown, depth + 1);
      const target = await fs.promises.readlink(prefix, { encoding: 'buffer' });
      const targetAbs = normaliseAbs(target[0] === SLASH ? target : Buffer.concat([parentReal, Buffer.from('/'), target]));
      if (!isInside(root, targetAbs)) throw escape(shown, 'is a symlink pointing outside the module');
      const targetParts = targetAbs.equals(root) ? [] : checkRelative(targetAbs.subarray(root.length + 1), shown);
      await resolveInside(root, targetParts, shown, depth + 1);
      return Buffer.concat([parentReal, Buffer.from('/'), parts[n - 1]!]);
    }
    if (!isInside(root, real)) throw escape(shown, 'resolves (through a symlink) outside the module');
    return joinParts(real, parts.slice(n));
  }
  throw new BlitError({ code: ErrorCodes.Internal, message: 'unreachable: module root not resolved', path: shown });
}

export interface ContainmentOptions {
  modules: ReadonlyMap<string, ModuleConfig>;
  log: Logger;
}

export type ResolveOptions = { forWrite: boolean };

/** Builds ServerContext.resolvePath for a set of modules. */
export function createResolver(opts: ContainmentOptions): (module: string, rel: Buffer, o: ResolveOptions) => Promise<ResolvedPath> {
  return async (moduleName, rel, { forWrite }) => {
    const shown = `${moduleName}/${displayPath(rel)}`;
    try {
      if (!moduleName) throw new BlitError({ code: ErrorCodes.ModuleNotFound, message: 'no module given (expected HOST:/MODULE[/PATH])' });
      const module = opts.modules.get(moduleName);
      if (!module) {
        const names = [...opts.modules.keys()].join(', ') || 'none';
        throw new BlitError({ code: ErrorCodes.ModuleNotFound, message: `unknown module '${moduleName}' (available: ${names})` });
      }
      if (rel.length > MAX_WIRE_PATH) {
        throw new BlitError({ code: ErrorCodes.InvalidPath, message: `path too long (${rel.length} bytes, at most ${MAX_WIRE_PATH})`, path: shown });
      }
      const parts = checkRelative(rel, shown);
      if (forWrite && module.readOnly) {
        throw new BlitError({ code: ErrorCodes.ReadOnlyModule, message: `module '${module.name}' is read-only`, path: shown });
      }
      const abs = await resolveInside(Buffer.from(module.path), parts, shown, 0);
      return { module, abs };
    } catch (err) {
      const code = err instanceof BlitError ? err.code : 'Internal';
      if (code === 'PathEscape' || code === 'ReadOnlyModule' || code === 'InvalidPath') {
        opts.log.warn('refused path', { code, module: moduleName, path: displayPath(rel), forWrite });
      }
      throw err;
    }
  };
}
