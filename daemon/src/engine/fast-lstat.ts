/**
 * lstat without a Stats object. fs.lstatSync builds a Stats with four Date objects per call
 * (Node 20), which on a no-op mirror of 100k files is ~0.4-0.5 µs of the ~3 µs per entry plus
 * the garbage behind it. Node's own fs binding returns the raw stat array (the numbers lstatSync
 * reads its Stats from), so when that binding is there and proves (once, at load) to give the
 * same numbers and the same errors as fs.lstatSync, the walk reads those numbers directly.
 * Anything unexpected (another Node, Electron without process.binding) falls back to
 * fs.lstatSync: same results, only slower.
 */
import * as fs from 'node:fs';

/** Slots of the raw array (Node's kFsStatsFieldsNumber layout). */
export const ST_MODE = 1;
export const ST_UID = 3;
export const ST_GID = 4;
export const ST_SIZE = 8;
export const ST_BLOCKS = 9;
export const ST_MTIME_SEC = 12;
export const ST_MTIME_NSEC = 13;

type RawLstat = (path: Buffer, bigint: false, req: undefined, throwIfNoEntry: true) => Float64Array;

const fallbackValues = new Float64Array(14);

function viaStats(path: Buffer): Float64Array {
  const st = fs.lstatSync(path);
  const v = fallbackValues;
  v[ST_MODE] = st.mode;
  v[ST_UID] = st.uid;
  v[ST_GID] = st.gid;
  v[ST_SIZE] = st.size;
  v[ST_BLOCKS] = st.blocks;
  v[ST_MTIME_SEC] = Math.floor(st.mtimeMs / 1e3);
  v[ST_MTIME_NSEC] = -1; // unknown: use mtimeMsOf's Stats path below
  lastMtimeMs = st.mtimeMs;
  return v;
}

let lastMtimeMs = 0;

function probe(): RawLstat | null {
  // process.binding warns (DEP0111) under --pending-deprecation: use the public API there.
  if (process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '')) return null;
  try {
    const binding = (process as unknown as { binding?: (name: string) => { lstat?: unknown } }).binding?.('fs');
    const lstat = binding?.lstat;
    if (typeof lstat !== 'function') return null;
    const raw = lstat as RawLstat;
    const path = Buffer.from(process.execPath);
    const v = raw(path, false, undefined, true);
    const st = fs.lstatSync(path);
    if (!(v instanceof Float64Array) || v.length < 14) return null;
    const ms = v[ST_MTIME_SEC]! * 1e3 + v[ST_MTIME_NSEC]! / 1e6;
    if (v[ST_MODE] !== st.mode || v[ST_SIZE] !== st.size || v[ST_BLOCKS] !== st.blocks || v[ST_UID] !== st.uid || ms !== st.mtimeMs) return null;
    try {
      raw(Buffer.from('/nonexistent-blit-probe/x'), false, undefined, true);
      return null; // must throw like lstatSync
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    }
    return raw;
  } catch {
    return null;
  }
}

const raw = probe();

/**
 * lstat `path`; the returned array is reused by the next call (read it at once). Throws the same
 * errno errors as fs.lstatSync.
 */
export function lstatValues(path: Buffer): Float64Array {
  return raw !== null ? raw(path, false, undefined, true) : viaStats(path);
}

/** Node's double-ms mtime (bit-identical to Stats.mtimeMs) of the array lstatValues returned. */
export function mtimeMsOf(v: Float64Array): number {
  return v[ST_MTIME_NSEC]! < 0 ? lastMtimeMs : v[ST_MTIME_SEC]! * 1e3 + v[ST_MTIME_NSEC]! / 1e6;
}

/** True when the raw binding is used (tests check both paths agree). */
export const usesRawBinding = raw !== null;
