/**
 * The one boundary between wire messages (@blit/proto) and domain types (engine/types.ts) for the
 * push/pull handlers and the remote client. Everything that arrives over the wire is validated
 * here or right after: a peer is never trusted. Packed manifest records: manifest-pack.ts.
 */
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes, type ErrorCode } from '../engine/errors';
import { unpackEntries, type PackedEntry } from './manifest-pack';
import { splitNs } from '../engine/time-split';
import type {
  CompareMode,
  Entry,
  EntryKind,
  Failure,
  ItemAction,
  TransferMode,
  TransferOptions,
  TransferSummary,
} from '../engine/types';

const NS_PER_SEC = 1_000_000_000n;

// ---------------------------------------------------------------------------------------------
// Entries

const KIND_TO_WIRE: Record<EntryKind, pb.EntryKind__Output> = {
  file: 'ENTRY_KIND_FILE',
  dir: 'ENTRY_KIND_DIR',
  symlink: 'ENTRY_KIND_SYMLINK',
};
const KIND_FROM_WIRE: Record<string, EntryKind> = {
  ENTRY_KIND_FILE: 'file',
  ENTRY_KIND_DIR: 'dir',
  ENTRY_KIND_SYMLINK: 'symlink',
};

export function entryToWire(e: Entry, checksum?: Buffer): pb.FileEntry {
  const { sec, nsec } = splitNs(e.mtimeNs);
  return {
    path: e.rel,
    kind: KIND_TO_WIRE[e.kind],
    size: e.size,
    mtimeSec: Number(sec),
    mtimeNsec: Number(nsec),
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    linkTarget: e.linkTarget ?? Buffer.alloc(0),
    ...(checksum ? { checksum } : {}),
  };
}

/** Wire entry → domain entry. Throws BadFrame for values no honest peer sends. */
export function entryFromWire(m: pb.FileEntry__Output): Entry {
  const kind = KIND_FROM_WIRE[m.kind];
  const shown = Buffer.from(m.path ?? []).toString('utf8');
  if (!kind) throw badField(shown, `unknown entry kind ${String(m.kind)}`);
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw badField(shown, `invalid size ${m.size}`);
  if (!Number.isSafeInteger(m.mtimeSec) || !(m.mtimeNsec >= 0 && m.mtimeNsec < 1e9)) {
    throw badField(shown, 'invalid modification time');
  }
  const e: Entry = {
    rel: Buffer.from(m.path),
    kind,
    size: kind === 'file' ? m.size : 0,
    mtimeNs: BigInt(m.mtimeSec) * NS_PER_SEC + BigInt(m.mtimeNsec),
    mode: m.mode & 0o7777,
    uid: m.uid,
    gid: m.gid,
  };
  if (kind === 'symlink') e.linkTarget = Buffer.from(m.linkTarget);
  return e;
}

/** Every entry of a ManifestBatch: the FileEntry list first, then the packed records. */
export function manifestEntries(m: pb.ManifestBatch__Output): PackedEntry[] {
  const out = wireEntries(m);
  if (m.packed.length > 0) for (const p of unpackEntries(packedBytes(m))) out.push(p);
  return out;
}

/** A ManifestBatch's FileEntry list, checked and converted (the packed records not touched). */
export function wireEntries(m: pb.ManifestBatch__Output): PackedEntry[] {
  return m.entries.map((we) => ({ entry: entryFromWire(we), checksum: we.checksum.length > 0 ? Buffer.from(we.checksum) : undefined }));
}

/** A ManifestBatch's packed records (manifest-pack.ts), as a Buffer over the same memory. */
export function packedBytes(m: pb.ManifestBatch__Output): Buffer {
  return Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.length);
}

function badField(path: string, what: string): BlitError {
  return new BlitError({ code: ErrorCodes.BadFrame, message: `manifest entry: ${what}`, path });
}

// ---------------------------------------------------------------------------------------------
// Options

const MODE_TO_WIRE: Record<TransferMode, pb.TransferMode__Output> = {
  copy: 'MODE_COPY',
  mirror: 'MODE_MIRROR',
  move: 'MODE_MOVE',
};
const MODE_FROM_WIRE: Record<string, TransferMode> = { MODE_COPY: 'copy', MODE_MIRROR: 'mirror', MODE_MOVE: 'move' };

const COMPARE_TO_WIRE: Record<CompareMode, pb.CompareMode__Output> = {
  default: 'COMPARE_DEFAULT',
  checksum: 'COMPARE_CHECKSUM',
  'size-only': 'COMPARE_SIZE_ONLY',
  'ignore-times': 'COMPARE_IGNORE_TIMES',
};
const COMPARE_FROM_WIRE: Record<string, CompareMode> = {
  COMPARE_DEFAULT: 'default',
  COMPARE_CHECKSUM: 'checksum',
  COMPARE_SIZE_ONLY: 'size-only',
  COMPARE_IGNORE_TIMES: 'ignore-times',
};

/** What the filter needs beyond the domain FilterSpec, read by the client from local files. */
export interface WireFilterExtras {
  /** Relative paths from --files-from (the client read the file). */
  filesFrom?: Buffer[];
  /** .gitignore files of the source tree (dir relative to the transfer root). */
  gitignoreFiles: { dir: Buffer; content: Buffer }[];
}

export function optionsToWire(o: TransferOptions, forceGrpcData: boolean, extras: WireFilterExtras): pb.TransferOptions {
  return {
    mode: MODE_TO_WIRE[o.mode],
    compare: COMPARE_TO_WIRE[o.compare.mode],
    ignoreExisting: o.compare.ignoreExisting,
    filter: {
      excludes: o.filter.excludes,
      includes: o.filter.includes,
      filesFrom: extras.filesFrom ?? [],
      hasFilesFrom: extras.filesFrom !== undefined,
      gitignore: o.filter.gitignore,
      gitignoreFiles: extras.gitignoreFiles,
    },
    dryRun: o.dryRun,
    deleteConfirmed: o.deleteConfirmed,
    forceGrpcData,
    mkpath: o.mkpath === true,
  };
}

export interface WireOptions {
  options: TransferOptions;
  forceGrpcData: boolean;
  /** Present when the client sent --files-from paths (an empty list still means "only these"). */
  filesFrom: Buffer[] | undefined;
  gitignoreFiles: { dir: Buffer; content: Buffer }[];
}

export function optionsFromWire(m: pb.TransferOptions__Output | null | undefined): WireOptions {
  if (!m) throw new BlitError({ code: ErrorCodes.BadFrame, message: 'request without transfer options' });
  const mode = MODE_FROM_WIRE[m.mode];
  const compare = COMPARE_FROM_WIRE[m.compare];
  if (!mode) throw new BlitError({ code: ErrorCodes.BadFrame, message: `unknown transfer mode ${String(m.mode)}` });
  if (!compare) throw new BlitError({ code: ErrorCodes.BadFrame, message: `unknown compare mode ${String(m.compare)}` });
  const f = m.filter;
  const filesFrom = f && (f.hasFilesFrom || f.filesFrom.length > 0) ? f.filesFrom.map((p) => Buffer.from(p)) : undefined;
  return {
    options: {
      mode,
      compare: { mode: compare, ignoreExisting: m.ignoreExisting },
      filter: { excludes: f?.excludes ?? [], includes: f?.includes ?? [], gitignore: f?.gitignore ?? false },
      dryRun: m.dryRun,
      deleteConfirmed: m.deleteConfirmed,
      ...(m.mkpath ? { mkpath: true } : {}),
    },
    forceGrpcData: m.forceGrpcData,
    filesFrom,
    gitignoreFiles: (f?.gitignoreFiles ?? []).map((g) => ({ dir: Buffer.from(g.dir), content: Buffer.from(g.content) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Events, failures, errors, summaries

const ACTION_TO_WIRE: Record<ItemAction, pb.ItemAction__Output> = {
  create: 'ITEM_CREATE',
  update: 'ITEM_UPDATE',
  delete: 'ITEM_DELETE',
  mkdir: 'ITEM_MKDIR',
  symlink: 'ITEM_SYMLINK',
  skip: 'ITEM_SKIP',
};
const ACTION_FROM_WIRE: Record<string, ItemAction> = Object.fromEntries(
  Object.entries(ACTION_TO_WIRE).map(([k, v]) => [v, k as ItemAction]),
);

export function itemToWire(action: ItemAction, rel: Buffer, kind: EntryKind, size: number): pb.ItemEvent {
  return { action: ACTION_TO_WIRE[action], path: rel, kind: KIND_TO_WIRE[kind], size };
}

export function itemFromWire(m: pb.ItemEvent__Output): { action: ItemAction; rel: Buffer; kind: EntryKind; size: number } {
  return {
    action: ACTION_FROM_WIRE[m.action] ?? 'skip',
    rel: Buffer.from(m.path),
    kind: KIND_FROM_WIRE[m.kind] ?? 'file',
    size: m.size,
  };
}

/** A source entry the manifest leaves out (the walk's onSkipped: a FIFO, socket, device) and why. */
export interface Skipped {
  rel: Buffer;
  why: string;
}

export function skippedToWire(list: readonly Skipped[]): pb.SkippedBatch {
  return { entries: list.map((s) => ({ path: s.rel, reason: s.why })) };
}

/** Only ever shown (escaped by the CLI's printable), never used as a path: nothing to refuse. */
export function skippedFromWire(m: pb.SkippedBatch__Output): Skipped[] {
  return m.entries.map((e) => ({ rel: Buffer.from(e.path), why: e.reason }));
}

/** Failures carry the display form of the path in the domain; on the wire it is bytes. */
export function failureToWire(f: Failure): pb.Failure {
  return { path: Buffer.from(f.path, 'utf8'), code: f.code, reason: f.reason };
}

export function failureFromWire(m: pb.Failure__Output): Failure {
  return { path: Buffer.from(m.path).toString('utf8'), code: m.code, reason: m.reason };
}

export function errorToWire(err: unknown): pb.RemoteError {
  if (err instanceof BlitError) return { code: err.code, message: err.message, path: Buffer.from(err.path ?? '', 'utf8') };
  const msg = err instanceof Error ? err.message : String(err);
  return { code: ErrorCodes.Internal, message: msg, path: Buffer.alloc(0) };
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));

export function errorFromWire(m: pb.RemoteError__Output, remote: string): BlitError {
  const code = (KNOWN_CODES.has(m.code) ? m.code : ErrorCodes.DaemonError) as ErrorCode;
  // The daemon's message already names the path when there is one.
  return new BlitError({ code, message: `${remote}: ${m.message}` });
}

export function summaryToWire(s: TransferSummary): pb.PushSummary {
  return {
    filesTransferred: s.filesTransferred,
    bytesTransferred: s.bytesTransferred,
    entriesDeleted: s.entriesDeleted,
    deletionsSkipped: s.deletionsSkipped,
    filesUnchanged: s.filesUnchanged,
    failures: s.failures.map(failureToWire),
    durationMs: s.durationMs,
    bytesPerSecond: s.bytesPerSecond ?? 0,
    zeroCopy: s.zeroCopy ?? false,
    tcpDataPlane: s.tcpDataPlane ?? false,
    dryRun: s.dryRun,
    dirsCreated: s.dirsCreated,
    symlinksCreated: s.symlinksCreated,
    skippedInFailedDirs: s.skippedInFailedDirs ?? 0,
  };
}

export function summaryFromWire(m: pb.PushSummary__Output): TransferSummary {
  return {
    filesTransferred: m.filesTransferred,
    bytesTransferred: m.bytesTransferred,
    dirsCreated: m.dirsCreated,
    symlinksCreated: m.symlinksCreated,
    entriesDeleted: m.entriesDeleted,
    deletionsSkipped: m.deletionsSkipped,
    filesUnchanged: m.filesUnchanged,
    ...(m.skippedInFailedDirs > 0 ? { skippedInFailedDirs: m.skippedInFailedDirs } : {}),
    failures: m.failures.map(failureFromWire),
    durationMs: m.durationMs,
    firstByteMs: null,
    dryRun: m.dryRun,
    zeroCopy: m.zeroCopy,
    tcpDataPlane: m.tcpDataPlane,
    bytesPerSecond: m.bytesPerSecond,
  };
}
