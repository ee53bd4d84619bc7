/**
 * AtomicFile: the only way the engine writes a regular file. Data goes to a hidden temp name in
 * the destination directory (`.blit.<name>.<random>.tmp`, created O_EXCL), and commit() applies
 * the metadata and renames it over the real name; abort() closes and unlinks. So an interrupted
 * run never leaves a half-written file under a real name. Synchronous (blocking) by design: the
 * local copier runs it in worker threads; the remote receiver can feed it Buffer chunks.
 */
import * as fs from 'node:fs';
import type { Entry } from './types';
import { applyFdMeta, type MetaOptions } from './metadata';
import { copyData, copyRange, type CopyContext } from './copy';
import { BlitError, ErrorCodes } from './errors';

const TEMP_PREFIX = Buffer.from('.blit.');
const TEMP_SUFFIX = '.tmp';
/** Keep temp names under NAME_MAX (255) even for a 255-byte real name. */
const MAX_NAME_PART = 200;

/**
 * Unique part of temp names: a random per-thread prefix plus a counter (12 hex digits). No
 * randomness syscall per file; O_EXCL still guards against any clash (the caller retries).
 */
let tempPrefix = randomHex6();
let tempCounter = 0;
function randomHex6(): string {
  return Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0');
}
function nextUnique(): string {
  tempCounter = (tempCounter + 1) & 0xffffff;
  if (tempCounter === 0) tempPrefix = randomHex6();
  return tempPrefix + tempCounter.toString(16).padStart(6, '0');
}

/**
 * Reserve `n` consecutive unique parts for a native batch (native/src/batch.ts builds the same
 * `.blit.<name>.<prefix><counter>.tmp` names): file i uses counter + i (mod 2^24).
 */
export function reserveTempNames(n: number): { prefix: number; counter: number } {
  const counter = (tempCounter + 1) & 0xffffff;
  tempCounter = (tempCounter + n) & 0xffffff;
  return { prefix: parseInt(tempPrefix, 16), counter };
}

/** A fresh temp path next to `name` in `dirAbs`. */
export function tempPathFor(dirAbs: Buffer, name: Buffer): Buffer {
  const part = name.length > MAX_NAME_PART ? name.subarray(0, MAX_NAME_PART) : name;
  return Buffer.concat([dirAbs, SLASH, TEMP_PREFIX, part, Buffer.from(`.${nextUnique()}${TEMP_SUFFIX}`, 'latin1')]);
}
const SLASH = Buffer.from('/');

/** Does this directory entry name look like one of our temp files? */
export function isTempName(name: Buffer): boolean {
  return isTempNameAt(name, 0, name.length);
}

const SUFFIX_BYTES = Buffer.from(TEMP_SUFFIX, 'latin1');

/** isTempName of the name at data[start, start + len), without copying it (the native scan's buffer). */
export function isTempNameAt(data: Buffer, start: number, len: number): boolean {
  if (len <= TEMP_PREFIX.length + SUFFIX_BYTES.length || data[start] !== 0x2e) return false;
  return data.compare(TEMP_PREFIX, 0, TEMP_PREFIX.length, start, start + TEMP_PREFIX.length) === 0 &&
    data.compare(SUFFIX_BYTES, 0, SUFFIX_BYTES.length, start + len - SUFFIX_BYTES.length, start + len) === 0;
}

/** Remove leftover temp files for `name` (or for any name, if omitted) in a directory. */
export function removeStaleTemps(dirAbs: Buffer, name?: Buffer): number {
  let removed = 0;
  let names: Buffer[];
  try {
    names = fs.readdirSync(dirAbs, { encoding: 'buffer' });
  } catch {
    return 0;
  }
  const want = name ? Buffer.concat([TEMP_PREFIX, name.length > MAX_NAME_PART ? name.subarray(0, MAX_NAME_PART) : name, Buffer.from('.')]) : null;
  for (const n of names) {
    if (!isTempName(n)) continue;
    if (want && !(n.length === want.length + 16 && n.subarray(0, want.length).equals(want))) continue;
    try {
      fs.unlinkSync(Buffer.concat([dirAbs, Buffer.from('/'), n]));
      removed++;
    } catch {
      // raced with another cleanup
    }
  }
  return removed;
}

/**
 * A temp file not written for this long belongs to a dead run (SIGKILL, power loss): a live
 * writer writes continuously. Local and remote destinations use the same rule.
 */
export const STALE_TEMP_MS = 15 * 60 * 1000;

/**
 * STALE_TEMP_MS, or (test hook) BLIT_TEST_STALE_TEMP_MS: tests cannot backdate a ctime, so they
 * shorten the age instead and let a temp grow old for real.
 */
function staleTempMs(): number {
  const v = process.env['BLIT_TEST_STALE_TEMP_MS'];
  if (v === undefined || v === '') return STALE_TEMP_MS;
  const ms = Number(v);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`BLIT_TEST_STALE_TEMP_MS: expected a whole number of ms, got ${v}`);
  return ms;
}

/**
 * Unlink `abs` (a temp name the differ found in the destination) if it is a regular file whose
 * data AND inode were last changed STALE_TEMP_MS ago or more. Both times: a live temp's commit
 * sets the source's (old) mtime on it in the instant before its rename, and only the ctime (set
 * by that very utimensat) still says it is live. A run stopped (SIGSTOP) for longer than the age
 * can still lose its temp: its rename then fails named, nothing is lost. True if removed; throws
 * only for a malformed test hook (a file gone already, or not ours: left, false).
 */
export function removeIfStaleTemp(abs: Buffer, now = Date.now()): boolean {
  const staleMs = staleTempMs();
  try {
    const st = fs.lstatSync(abs);
    if (!st.isFile() || now - Math.max(st.mtimeMs, st.ctimeMs) < staleMs) return false;
    fs.unlinkSync(abs);
    return true;
  } catch {
    return false;
  }
}

/**
 * A rename that failed ENOENT while the temp's directory is there: the temp itself was removed,
 * by another blit run's stale-temp rule (this run was stopped longer than STALE_TEMP_MS: Ctrl-Z,
 * a suspended job) or by hand. Named so, not as a bare "no such file or directory"; null otherwise.
 */
function tempRemoved(err: unknown, tempAbs: Buffer): BlitError | null {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
  try {
    fs.lstatSync(tempAbs);
    return null;
  } catch {
    // gone: was its directory removed, or only the temp?
  }
  try {
    // Still linked: blitd's path is its pinned directory fd (/proc/self/fd/N), which stats even
    // after the directory itself was removed (then nlink 0, and that is the failure to name).
    const dir = fs.statSync(tempAbs.subarray(0, tempAbs.lastIndexOf(0x2f)));
    if (!dir.isDirectory() || dir.nlink === 0) return null;
  } catch {
    return null;
  }
  const minutes = STALE_TEMP_MS / 60_000;
  return new BlitError({ code: ErrorCodes.IoError, message: `its temp file was removed before it could be renamed into place (another blit run removes temp files not written for ${minutes} min); not copied`, cause: err });
}

export interface AtomicFileOptions {
  /**
   * Create a missing destination directory (and its missing parents, owner-only: the caller
   * applies the final directory metadata later). The local engine creates directories in the
   * background, so a file may reach a worker before its directory exists.
   */
  createParents?: boolean;
}

export class AtomicFile {
  readonly finalAbs: Buffer;
  readonly tempAbs: Buffer;
  fd = -1;
  private done = false;
  private position = 0;
  private readonly createdMode: number;

  /**
   * Create the temp file (O_EXCL). `createMode` defaults to owner-only; the local copier passes
   * the final permission bits so that commit() can skip fchmod when the umask left them intact
   * (the file is no more exposed than it will be under its real name).
   */
  constructor(dirAbs: Buffer, name: Buffer, createMode = 0o600, opts: AtomicFileOptions = {}) {
    this.finalAbs = Buffer.concat([dirAbs, SLASH, name]);
    this.createdMode = createMode & 0o777;
    let tempAbs = tempPathFor(dirAbs, name);
    let madeParents = false;
    for (let attempt = 0; ; attempt++) {
      try {
        this.fd = fs.openSync(tempAbs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, this.createdMode);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && opts.createParents && !madeParents) {
          madeParents = true;
          fs.mkdirSync(dirAbs, { recursive: true, mode: 0o700 });
          continue;
        }
        if (code !== 'EEXIST' || attempt >= 5) throw err;
        tempPrefix = randomHex6();
        tempAbs = tempPathFor(dirAbs, name);
      }
    }
    this.tempAbs = tempAbs;
  }

  /** Append a chunk (stream/Buffer source, e.g. the remote receiver). */
  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const n = fs.writeSync(this.fd, chunk, off, chunk.length - off, this.position);
      off += n;
      this.position += n;
    }
  }

  /** Write a chunk at an explicit offset (several ranges of one big file). */
  writeAt(chunk: Uint8Array, offset: number): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off, offset + off);
    this.position = Math.max(this.position, offset + chunk.length);
  }

  /** Copy a whole file from an open source fd with the best primitive. Returns bytes. */
  copyFromFd(srcFd: number, size: number, blocks: number | undefined, devPair: string, ctx: CopyContext): number {
    const n = copyData(srcFd, this.fd, size, blocks, devPair, ctx);
    this.position = Math.max(this.position, n);
    return n;
  }

  /** Copy [start, end) of a source fd to the same offsets. */
  copyRangeFromFd(srcFd: number, start: number, end: number, devPair: string, ctx: CopyContext): number {
    const n = copyRange(srcFd, this.fd, start, end, devPair, ctx);
    this.position = Math.max(this.position, start + n);
    return n;
  }

  get bytesWritten(): number {
    return this.position;
  }

  /** Apply metadata and rename over the real name. After this the file is in place. */
  commit(meta: Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtimeNs'>, opts: MetaOptions): void {
    if (this.done) throw new Error('AtomicFile already finished');
    try {
      applyFdMeta(this.fd, meta, opts, this.createdMode);
      fs.closeSync(this.fd);
      this.fd = -1;
      fs.renameSync(this.tempAbs, this.finalAbs);
      this.done = true;
    } catch (err) {
      const removed = tempRemoved(err, this.tempAbs);
      this.abort();
      throw removed ?? err;
    }
  }

  /** Close and unlink the temp; the real name is untouched. Safe to call twice. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
    try {
      fs.unlinkSync(this.tempAbs);
    } catch {
      // never created or already removed
    }
  }
}
