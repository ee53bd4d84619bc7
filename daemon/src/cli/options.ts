/**
 * The flags of `blit copy | mirror | move` and their translation into engine TransferOptions.
 * Pure: no I/O, so the mapping and the conflict rules are unit-tested directly.
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import type { CompareMode, CopyPrimitive, TransferMode, TransferOptions } from '../engine/types';

/** What commander hands us for one transfer command (camelCased flag names). */
export interface TransferFlags {
  checksum?: boolean;
  sizeOnly?: boolean;
  ignoreTimes?: boolean;
  ignoreExisting?: boolean;
  mkpath?: boolean;
  exclude?: string[];
  include?: string[];
  filesFrom?: string;
  gitignore?: boolean;
  dryRun?: boolean;
  json?: boolean;
  yes?: boolean;
  /** `--no-progress` sets this to false; default true. */
  progress?: boolean;
  forceGrpcData?: boolean;
  verbose?: boolean;
  debugWorkers?: number;
  debugPrimitive?: string;
}

export const COPY_PRIMITIVES: readonly CopyPrimitive[] = ['reflink', 'copy_file_range', 'sendfile', 'readwrite'];

/**
 * Pairs of flags that contradict each other. The comparison modes are one choice; ignore-existing
 * (never touch an existing file) contradicts ignore-times (rewrite every existing file).
 */
const CONFLICTS: ReadonlyArray<[keyof TransferFlags, keyof TransferFlags]> = [
  ['checksum', 'sizeOnly'],
  ['checksum', 'ignoreTimes'],
  ['sizeOnly', 'ignoreTimes'],
  ['ignoreExisting', 'ignoreTimes'],
];

/** `sizeOnly` → `--size-only`. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function usageError(message: string): BlitError {
  return new BlitError({ code: ErrorCodes.Usage, message });
}

/** Throws a Usage BlitError naming both flags of the first contradicting pair. */
export function checkConflicts(flags: TransferFlags): void {
  for (const [a, b] of CONFLICTS) {
    if (flags[a] && flags[b]) {
      throw usageError(`${flagName(a)} cannot be used together with ${flagName(b)}`);
    }
  }
}

function compareMode(flags: TransferFlags): CompareMode {
  if (flags.checksum) return 'checksum';
  if (flags.sizeOnly) return 'size-only';
  if (flags.ignoreTimes) return 'ignore-times';
  return 'default';
}

/** Parser for `--debug-workers N` (commander argParser): a positive integer. */
export function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > 1024) {
    throw usageError(`--debug-workers must be a whole number from 1 to 1024, got '${value}'`);
  }
  return n;
}

/** Parser for `--debug-primitive NAME`. */
export function parsePrimitive(value: string): CopyPrimitive {
  if (!(COPY_PRIMITIVES as readonly string[]).includes(value)) {
    throw usageError(`--debug-primitive must be one of ${COPY_PRIMITIVES.join(', ')}, got '${value}'`);
  }
  return value as CopyPrimitive;
}

/**
 * Flags → engine options. `deleteConfirmed` starts as `--yes`; the command may raise it after a
 * terminal confirmation. A dry run never deletes, so it itemizes deletions as if confirmed: the
 * list shows what `--yes` would remove.
 */
export function toTransferOptions(mode: TransferMode, flags: TransferFlags): TransferOptions {
  checkConflicts(flags);
  const dryRun = flags.dryRun === true;
  const options: TransferOptions = {
    mode,
    compare: { mode: compareMode(flags), ignoreExisting: flags.ignoreExisting === true },
    filter: {
      excludes: [...(flags.exclude ?? [])],
      includes: [...(flags.include ?? [])],
      gitignore: flags.gitignore === true,
      ...(flags.filesFrom !== undefined ? { filesFrom: flags.filesFrom } : {}),
    },
    dryRun,
    deleteConfirmed: flags.yes === true || dryRun,
    ...(flags.mkpath === true ? { mkpath: true } : {}),
  };
  if (flags.debugWorkers !== undefined || flags.debugPrimitive !== undefined) {
    options.debug = {
      ...(flags.debugWorkers !== undefined ? { workers: flags.debugWorkers } : {}),
      ...(flags.debugPrimitive !== undefined ? { primitive: parsePrimitive(flags.debugPrimitive) } : {}),
    };
  }
  return options;
}

/** `--force-grpc-data` or BLIT_FORCE_GRPC_DATA=1 in the environment (passed in, not read here). */
export function forceGrpcData(flags: TransferFlags, env: NodeJS.ProcessEnv): boolean {
  return flags.forceGrpcData === true || env['BLIT_FORCE_GRPC_DATA'] === '1';
}
