/**
 * Domain types shared by the engine, the CLI, the daemon and the remote client.
 * Wire types live in proto/; daemon/src/remote/convert.ts is the one place that translates.
 *
 * Paths: every relative path is a Buffer of raw bytes, '/'-separated, relative to the transfer
 * root ('' = the root itself). File names on Linux are bytes, not text; keeping Buffers end to end
 * is what makes non-UTF-8 names survive byte-exact. Convert to text only for display and matching.
 */

import type { ErrorCode } from './errors';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface Entry {
  /** Raw bytes, '/'-separated, relative to the root of the walk. */
  rel: Buffer;
  kind: EntryKind;
  /** Bytes (files); 0 for directories and symlinks. */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Permission bits only (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Symlink target, byte-exact, never followed. */
  linkTarget?: Buffer;
  /** 512-byte blocks allocated; lets the copier notice sparse files (blocks*512 < size). */
  blocks?: number;
  /**
   * Only from the walker's/differ's fast mode (local transfers), for regular files: the mtime as
   * Node's double milliseconds (sec*1e3 + nsec/1e6), read with a cheap non-bigint lstat. Then
   * mtimeNs is MTIME_NS_UNKNOWN (-1n) and the copier takes the exact ns from the open source fd.
   * Equal ns always give equal mtimeMs; compare.ts compares in ms when either side lacks ns.
   */
  mtimeMs?: number;
}

/** mtimeNs of a fast-mode entry (see Entry.mtimeMs). */
export const MTIME_NS_UNKNOWN = -1n;

export type CompareMode = 'default' | 'checksum' | 'size-only' | 'ignore-times';

export interface CompareOptions {
  mode: CompareMode;
  /** Skip any path that already exists in the destination. */
  ignoreExisting: boolean;
}

export interface FilterSpec {
  /** Globs (picomatch, rsync-like: a pattern without '/' matches a name at any depth). */
  excludes: string[];
  includes: string[];
  /** File of '\n'-separated relative paths (rsync's --files-from rules); only these are transferred. */
  filesFrom?: string;
  /**
   * The list itself, byte-exact relative paths (StartTransfer and the wire carry it this way, so
   * any name can be listed); takes the place of `filesFrom`. An empty list transfers nothing.
   */
  filesFromPaths?: Buffer[];
  /** Honour every .gitignore in the source tree with git's semantics. */
  gitignore: boolean;
}

export type TransferMode = 'copy' | 'mirror' | 'move';

export interface TransferOptions {
  mode: TransferMode;
  compare: CompareOptions;
  filter: FilterSpec;
  dryRun: boolean;
  /** Mirror deletions are allowed (user passed --yes or confirmed on a terminal). */
  deleteConfirmed: boolean;
  /**
   * rsync's --mkpath: create DST's missing parents too (without it the directory DST is created
   * in must exist). On a push blitd creates them beneath the module root, never through a symlink.
   */
  mkpath?: boolean;
  /** Cancels every stage; workers stop after their current syscall, temp files are removed. */
  signal?: AbortSignal;
  /** Debug overrides (Advanced help only). Undefined = the planner decides. */
  debug?: DebugOverrides;
}

export interface DebugOverrides {
  workers?: number;
  /** Force one copy primitive, for tests and benchmarks. */
  primitive?: CopyPrimitive;
  /** Stall timeout in ms (default 10 000). */
  stallTimeoutMs?: number;
  /**
   * Fault injection for tests: source directories (relative, '/'-separated text) that the walker
   * treats as unreadable (EACCES). Tests run as root, where chmod 000 does not block reading.
   */
  failReadDirs?: string[];
  /** Files per worker batch (fixed: the planner does not adapt it). */
  batchFiles?: number;
  /** Split files at least this big into ranges copied by several workers (also the least range size). */
  hugeFileSplitBytes?: number;
}

export type CopyPrimitive = 'reflink' | 'copy_file_range' | 'sendfile' | 'readwrite';

/** What the differ decided for one path. */
export type ItemAction = 'create' | 'update' | 'delete' | 'mkdir' | 'symlink' | 'skip';

/** Progress flows back from every stage as events (CLI, daemon and extension all consume these). */
export type TransferEvent =
  | { type: 'item'; action: ItemAction; rel: Buffer; kind: EntryKind; size: number }
  | { type: 'progress'; filesDone: number; bytesDone: number; filesPlanned: number; bytesPlanned: number; scanComplete: boolean }
  | { type: 'fileStart'; rel: Buffer; size: number }
  | { type: 'fileDone'; rel: Buffer; size: number }
  | { type: 'fileError'; failure: Failure }
  /** `code`: set where a caller acts on the warning (never its text: a file name can say anything). */
  | { type: 'warning'; message: string; code?: ErrorCode }
  | { type: 'firstByte'; elapsedMs: number };

export interface Failure {
  /** Display form of the path (invalid UTF-8 escaped as \xNN). */
  path: string;
  code: string;
  reason: string;
}

export interface TransferSummary {
  filesTransferred: number;
  bytesTransferred: number;
  dirsCreated: number;
  symlinksCreated: number;
  entriesDeleted: number;
  /** Mirror deletions that were found but not performed (not confirmed, or scan incomplete). */
  deletionsSkipped: number;
  filesUnchanged: number;
  /**
   * Entries below a destination directory that could not be created: not copied, and not failures
   * one by one (the directory's failure names the cause once). Absent: none.
   */
  skippedInFailedDirs?: number;
  failures: Failure[];
  durationMs: number;
  /** ms from start to the first data byte written; null when nothing was written. */
  firstByteMs: number | null;
  dryRun: boolean;
  /** Remote transfers only. */
  zeroCopy?: boolean;
  tcpDataPlane?: boolean;
  bytesPerSecond?: number;
  /** Peak resident set size of the process during the run (local transfers). */
  peakRssBytes?: number;
}

export type EventSink = (event: TransferEvent) => void;
