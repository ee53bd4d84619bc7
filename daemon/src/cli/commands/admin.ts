/**
 * Admin verbs against a blitd: list-modules, ls, find, du, df, rm, jobs list|watch|cancel. Each
 * has --json. Every call has a deadline (nothing hangs); errors come back as BlitError with the
 * daemon's code (Unreachable, ModuleNotFound, ProtocolMismatch, PathEscape, ...).
 */
import type { Command } from 'commander';
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes } from '../../engine/errors';
import { displayPath } from '../../engine/paths';
import { parseEndpoint, parseHostPort, formatRemote, type RemoteEndpoint } from '../../remote/endpoint';
import type { DaemonAddress, DaemonConnection } from '../../remote/grpc-client';
import { askYesNo } from '../confirm';
import { EXIT_PARTIAL } from '../exit-codes';
import { formatBytes, printable } from '../output';

interface JsonFlag {
  json?: boolean;
}

/** `HOST[:PORT]`, `[IPV6][:PORT]` or `unix:/path/to/socket` (a local blitd's private socket). */
export function parseDaemonAddress(arg: string): DaemonAddress {
  if (arg.startsWith('unix:')) {
    const socket = arg.slice('unix:'.length);
    if (!socket.startsWith('/')) throw new BlitError({ code: ErrorCodes.Usage, message: `invalid daemon address '${arg}': expected unix:/ABSOLUTE/PATH` });
    return { socket };
  }
  return parseHostPort(arg);
}

function parseRemote(arg: string): RemoteEndpoint {
  const ep = parseEndpoint(arg);
  if (ep.kind !== 'remote') {
    throw new BlitError({ code: ErrorCodes.Usage, message: `'${arg}' is not a remote path (expected HOST[:PORT]:/MODULE[/PATH])` });
  }
  return ep;
}

async function withDaemon<T>(addr: DaemonAddress, fn: (c: DaemonConnection) => Promise<T>): Promise<T> {
  // Loaded on first use: grpc-js and the proto cost ~60 ms at start-up, which every local
  // `blit copy` would otherwise pay just because these verbs are registered.
  const { connectDaemon } = await import('../../remote/grpc-client');
  const conn = await connectDaemon(addr);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

const out = (line: string): void => {
  process.stdout.write(line + '\n');
};
/** A text line (not JSON): control characters in names shown escaped (output.ts printable). */
const text = (line: string): void => out(printable(line));

// ---------------------------------------------------------------------------------------------
// Display forms

const KIND_NAME: Record<string, string> = { ENTRY_KIND_FILE: 'file', ENTRY_KIND_DIR: 'dir', ENTRY_KIND_SYMLINK: 'symlink' };

/**
 * A time from the server (ms since the epoch) in ISO form, or null past what a Date holds (year
 * 275,760): no honest blitd sends one, a hostile one must not crash the listing (toISOString throws).
 */
function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function entryJson(e: pb.FileEntry__Output): Record<string, unknown> {
  const kind = KIND_NAME[e.kind] ?? String(e.kind);
  return {
    path: displayPath(e.path),
    kind,
    size: e.size,
    mtime: isoTime(e.mtimeSec * 1000 + Math.floor(e.mtimeNsec / 1e6)),
    mode: e.mode.toString(8).padStart(4, '0'),
    uid: e.uid,
    gid: e.gid,
    ...(kind === 'symlink' ? { linkTarget: displayPath(e.linkTarget) } : {}),
  };
}

function modeString(kind: string, mode: number): string {
  const t = kind === 'ENTRY_KIND_DIR' ? 'd' : kind === 'ENTRY_KIND_SYMLINK' ? 'l' : '-';
  let s = '';
  for (let i = 8; i >= 0; i--) s += mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return t + s;
}

function lsLine(e: pb.FileEntry__Output): string {
  const when = isoTime(e.mtimeSec * 1000)?.slice(0, 16).replace('T', ' ') ?? '????-??-?? ??:??';
  const name = displayPath(e.path) + (e.kind === 'ENTRY_KIND_DIR' ? '/' : '');
  const link = e.kind === 'ENTRY_KIND_SYMLINK' ? ` -> ${displayPath(e.linkTarget)}` : '';
  return `${modeString(e.kind, e.mode)} ${String(e.size).padStart(12)} ${when} ${name}${link}`;
}

const STATE_NAME: Record<string, string> = {
  JOB_QUEUED: 'queued',
  JOB_RUNNING: 'running',
  JOB_SUCCEEDED: 'succeeded',
  JOB_FAILED: 'failed',
  JOB_CANCELLED: 'cancelled',
};

function jobJson(j: pb.JobInfo__Output): Record<string, unknown> {
  return {
    id: j.id,
    label: j.label,
    kind: j.kind,
    state: STATE_NAME[j.state] ?? String(j.state),
    progress: j.progress,
    bytesPerSecond: j.bytesPerSecond,
    etaSeconds: j.etaSeconds,
    startedAt: j.startedAtMs ? isoTime(j.startedAtMs) : null,
    finishedAt: j.finishedAtMs ? isoTime(j.finishedAtMs) : null,
    inFlight: j.inFlight.map((p) => displayPath(p)),
    ...(j.summary
      ? { summary: { ...j.summary, failures: j.summary.failures.map((f) => ({ path: displayPath(f.path), code: f.code, reason: f.reason })) } }
      : {}),
    ...(j.error ? { error: { code: j.error.code, message: j.error.message } } : {}),
  };
}

function jobLine(j: pb.JobInfo__Output): string {
  const p = j.progress;
  const prog = p ? `${p.filesDone}/${p.filesPlanned} files ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesPlanned)}` : '-';
  const rate = j.bytesPerSecond > 0 ? `${formatBytes(j.bytesPerSecond)}/s` : '-';
  const eta = j.etaSeconds >= 0 && STATE_NAME[j.state] === 'running' ? ` eta ${Math.ceil(j.etaSeconds)}s` : '';
  const err = j.error ? ` error: ${j.error.message} [${j.error.code}]` : '';
  const fails = j.summary && j.summary.failures.length ? ` (${j.summary.failures.length} failed)` : '';
  return `${j.id}  ${(STATE_NAME[j.state] ?? String(j.state)).padEnd(9)} ${j.kind.padEnd(11)} ${prog} ${rate}${eta}  ${j.label}${fails}${err}`;
}

// ---------------------------------------------------------------------------------------------
// Verbs

async function listModules(hostArg: string, flags: JsonFlag): Promise<void> {
  const res = await withDaemon(parseDaemonAddress(hostArg), (c) =>
    c.unary<pb.ListModulesResponse__Output>((o, cb) => c.client.ListModules({}, o, cb)),
  );
  if (flags.json) return out(JSON.stringify({ modules: res.modules }));
  for (const m of res.modules) out(`${printable(m.name)}\t${m.readOnly ? 'ro' : 'rw'}\t${printable(m.comment)}`); // tab-separated: fields escaped
}

async function ls(remoteArg: string, flags: JsonFlag): Promise<void> {
  const ep = parseRemote(remoteArg);
  const res = await withDaemon(ep, (c) =>
    c.unary<pb.ListResponse__Output>((o, cb) => c.client.List({ module: ep.module, path: Buffer.from(ep.path) }, o, cb)),
  );
  if (flags.json) return out(JSON.stringify({ remote: formatRemote(ep), entries: res.entries.map(entryJson) }));
  for (const e of res.entries) text(lsLine(e));
}

async function find(remoteArg: string, flags: JsonFlag & { pattern: string; limit?: string }): Promise<void> {
  const ep = parseRemote(remoteArg);
  const limit = flags.limit === undefined ? 0 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new BlitError({ code: ErrorCodes.Usage, message: `--limit ${flags.limit}: expected a non-negative integer` });
  await withDaemon(ep, async (c) => {
    const found: Record<string, unknown>[] = [];
    const left: LeftOut = { loops: [], unreadable: [], leftOutUnnamed: 0 };
    const req = { module: ep.module, path: Buffer.from(ep.path), pattern: flags.pattern, limit };
    for await (const batch of c.stream<pb.FindResponse__Output>((o) => c.client.Find(req, o), 10 * 60_000)) {
      for (const e of batch.entries) {
        if (flags.json) found.push(entryJson(e));
        else text(displayPath(e.path) + (e.kind === 'ENTRY_KIND_DIR' ? '/' : ''));
      }
      warnLeftOut(remoteArg, batch); // blitd sends the unnamed count once, after every named one
      // Not push(...): the arrays come from the server, and past ~10^5 a spread throws RangeError.
      for (const l of batch.loops) left.loops.push(l);
      for (const u of batch.unreadable) left.unreadable.push(u);
      left.leftOutUnnamed += batch.leftOutUnnamed;
    }
    if (flags.json) out(JSON.stringify({ remote: formatRemote(ep), pattern: flags.pattern, entries: found, ...leftOutJson(left) }));
  });
}

/** What a find/du walk left out (FindResponse / DiskUsageResponse `loops`, `unreadable`, `left_out_unnamed`). */
interface LeftOut {
  loops: pb.FileSystemLoop__Output[];
  unreadable: pb.Failure__Output[];
  /** Left out past the first 1,000 blitd names (0 from an older blitd). */
  leftOutUnnamed: number;
}

/**
 * One warning for each directory blitd skipped as its own ancestor (FileSystemLoop, naming both)
 * and each directory or entry it could not read (with its cause and code), each named as the user
 * typed the remote path, and exit 2 (EXIT_PARTIAL: the verb completed and names what it left out,
 * as a transfer with failed files; GNU du/find exit 1 there, which is blit's "nothing done" code).
 * What blitd only counted is one warning naming the path as typed and the count.
 */
function warnLeftOut(remoteArg: string, left: LeftOut): void {
  if (left.loops.length === 0 && left.unreadable.length === 0 && left.leftOutUnnamed === 0) return;
  const under = (rel: Buffer): string => (rel.length === 0 ? remoteArg : `${remoteArg.replace(/\/+$/, '')}/${displayPath(rel)}`);
  for (const l of left.loops) {
    process.stderr.write(`blit: warning: ${printable(under(l.path))}: file system loop detected: the same directory as ${printable(under(l.ancestor))} (skipped)\n`);
  }
  for (const u of left.unreadable) process.stderr.write(`blit: warning: ${printable(under(u.path))}: ${printable(u.reason)} [${u.code}]\n`);
  if (left.leftOutUnnamed > 0) {
    process.stderr.write(`blit: warning: ${printable(remoteArg)}: ${left.leftOutUnnamed} more entries left out (unreadable or loops), not named\n`);
  }
  process.exitCode = EXIT_PARTIAL;
}

function leftOutJson(left: LeftOut): {
  loops?: { path: string; sameAs: string }[];
  unreadable?: { path: string; code: string; reason: string }[];
  leftOutUnnamed?: number;
} {
  return {
    ...(left.loops.length ? { loops: left.loops.map((l) => ({ path: displayPath(l.path), sameAs: displayPath(l.ancestor) })) } : {}),
    ...(left.unreadable.length ? { unreadable: left.unreadable.map((u) => ({ path: displayPath(u.path), code: u.code, reason: u.reason })) } : {}),
    ...(left.leftOutUnnamed ? { leftOutUnnamed: left.leftOutUnnamed } : {}),
  };
}

async function du(remoteArg: string, flags: JsonFlag): Promise<void> {
  const ep = parseRemote(remoteArg);
  const res = await withDaemon(ep, (c) =>
    c.unary<pb.DiskUsageResponse__Output>((o, cb) => c.client.DiskUsage({ module: ep.module, path: Buffer.from(ep.path) }, o, cb), 10 * 60_000),
  );
  warnLeftOut(remoteArg, res);
  const { loops, unreadable, leftOutUnnamed, ...sums } = res;
  if (flags.json) return out(JSON.stringify({ remote: formatRemote(ep), ...sums, ...leftOutJson({ loops, unreadable, leftOutUnnamed }) }));
  text(`${formatBytes(res.bytes)} (${res.bytes} bytes, ${formatBytes(res.allocatedBytes)} on disk) in ${res.files} files, ${res.dirs} dirs, ${res.symlinks} symlinks: ${formatRemote(ep)}`);
}

async function df(remoteArg: string, flags: JsonFlag): Promise<void> {
  const ep = parseRemote(remoteArg);
  const res = await withDaemon(ep, (c) =>
    c.unary<pb.FilesystemStatsResponse__Output>((o, cb) => c.client.FilesystemStats({ module: ep.module }, o, cb)),
  );
  if (flags.json) return out(JSON.stringify({ remote: formatRemote(ep), module: ep.module, ...res }));
  const used = res.totalBytes - res.freeBytes;
  const pct = res.totalBytes > 0 ? Math.round((used * 100) / res.totalBytes) : 0;
  text(`module ${ep.module} (${res.fsType}): ${formatBytes(res.availableBytes)} available of ${formatBytes(res.totalBytes)} (${pct}% used), ${res.freeInodes} of ${res.totalInodes} inodes free`);
}

async function rm(remoteArg: string, flags: JsonFlag & { yes?: boolean; moduleRoot?: boolean }): Promise<void> {
  const ep = parseRemote(remoteArg);
  if (ep.path === '' && !flags.moduleRoot) {
    throw new BlitError({ code: ErrorCodes.Usage, message: `'${remoteArg}' is the root of module '${ep.module}'; pass --module-root to delete everything in it` });
  }
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      throw new BlitError({
        code: ErrorCodes.DeletionNotConfirmed,
        message: `not deleting ${formatRemote(ep)}: stdin is not a terminal; pass --yes to delete without asking`,
      });
    }
    const what = ep.path === '' ? `everything in module '${ep.module}'` : `${formatRemote(ep)} and everything below it`;
    if (!(await askYesNo(`Delete ${what}?`, process.stdin, process.stderr))) {
      throw new BlitError({ code: ErrorCodes.DeletionNotConfirmed, message: 'nothing deleted (not confirmed)' });
    }
  }
  const res = await withDaemon(ep, (c) =>
    c.unary<pb.PurgeResponse__Output>(
      (o, cb) => c.client.Purge({ module: ep.module, path: Buffer.from(ep.path), recursive: true, allowModuleRoot: Boolean(flags.moduleRoot) }, o, cb),
      10 * 60_000,
    ),
  );
  if (flags.json) return out(JSON.stringify({ remote: formatRemote(ep), entriesDeleted: res.entriesDeleted }));
  text(`deleted ${res.entriesDeleted} entries: ${formatRemote(ep)}`);
}

async function jobsList(hostArg: string, flags: JsonFlag & { all?: boolean }): Promise<void> {
  const res = await withDaemon(parseDaemonAddress(hostArg), (c) =>
    c.unary<pb.ListJobsResponse__Output>((o, cb) => c.client.ListJobs({ includeFinished: Boolean(flags.all) }, o, cb)),
  );
  if (flags.json) return out(JSON.stringify({ jobs: res.jobs.map(jobJson) }));
  if (res.jobs.length === 0) text(flags.all ? 'no jobs' : 'no running jobs (--all shows finished ones)');
  for (const j of res.jobs) text(jobLine(j));
}

async function jobsWatch(hostArg: string, id: string | undefined, flags: JsonFlag): Promise<void> {
  await withDaemon(parseDaemonAddress(hostArg), async (c) => {
    let last: pb.JobInfo__Output | null = null;
    for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: id ?? '' }, o))) {
      if (ev.job) last = ev.job;
      // blitd dropped events for this watcher (it did not read fast enough): say how many.
      const skipped = Number(ev.droppedEvents ?? 0);
      if (flags.json) {
        out(JSON.stringify({
          job: ev.job ? jobJson(ev.job) : null,
          ...(skipped > 0 ? { skipped } : {}),
          ...(ev.item ? { item: { action: ev.item.action, path: displayPath(ev.item.path), kind: KIND_NAME[ev.item.kind], size: ev.item.size } } : {}),
          ...(ev.failure ? { failure: { path: displayPath(ev.failure.path), code: ev.failure.code, reason: ev.failure.reason } } : {}),
        }));
        continue;
      }
      if (skipped > 0) text(`${ev.job?.id ?? '?'}  ${skipped} events skipped (not read in time; the job's summary counts them)`);
      if (ev.failure) {
        text(`${ev.job?.id ?? '?'}  failed: ${displayPath(ev.failure.path)}: ${ev.failure.reason} [${ev.failure.code}]`);
      } else if (ev.item) {
        text(`${ev.job?.id ?? '?'}  ${ev.item.action.replace('ITEM_', '').toLowerCase()} ${displayPath(ev.item.path)}`);
      } else if (ev.job) {
        text(jobLine(ev.job));
      }
    }
    // Watching one job: the exit code reflects how it ended.
    if (id && last && STATE_NAME[last.state] !== 'succeeded') process.exitCode = STATE_NAME[last.state] === 'failed' && last.summary ? 2 : 1;
  });
}

async function jobsCancel(hostArg: string, id: string, flags: JsonFlag): Promise<void> {
  const res = await withDaemon(parseDaemonAddress(hostArg), (c) =>
    c.unary<pb.CancelJobResponse__Output>((o, cb) => c.client.CancelJob({ jobId: id }, o, cb)),
  );
  if (flags.json) out(JSON.stringify({ id, cancelled: res.cancelled, message: res.message }));
  else text(res.message);
  if (!res.cancelled) process.exitCode = 1;
}

/**
 * With --json, a failure is also printed as `{"ok":false,"error":{code,message,path?}}` on stdout (as the transfer verbs do) so scripts
 * that parse stdout see it; the error then goes on to the usual stderr line and exit code.
 */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const flags = args.find((a): a is JsonFlag => typeof a === 'object' && a !== null && 'json' in a);
      if (flags?.json && err instanceof BlitError) out(JSON.stringify({ ok: false, error: err.toJSON() }));
      throw err;
    }
  };
}

const ADDRESS_HELP = `
Addresses:
  HOST[:PORT] (default port 9031), [IPV6][:PORT], or unix:/PATH for a local blitd's socket.
  Remote paths are HOST[:PORT]:/MODULE[/PATH].
`;

export function registerAdminCommands(program: Command): void {
  program
    .command('list-modules')
    .description('list the modules a blitd exports')
    .argument('<host>', 'HOST[:PORT]')
    .option('--json', 'print JSON on stdout')
    .addHelpText('after', ADDRESS_HELP)
    .action(action(listModules));
  program
    .command('ls')
    .description('list one remote directory')
    .argument('<remote>', 'HOST[:PORT]:/MODULE[/PATH]')
    .option('--json', 'print JSON on stdout')
    .action(action(ls));
  program
    .command('find')
    .description('find remote paths matching a glob (matched against the relative path, or the name when the glob has no "/")')
    .argument('<remote>', 'HOST[:PORT]:/MODULE[/PATH]')
    .requiredOption('--pattern <glob>', 'glob, e.g. "*.log" or "src/**/*.ts"')
    .option('--limit <n>', 'stop after N matches')
    .option('--json', 'print JSON on stdout')
    .action(action(find));
  program
    .command('du')
    .description('disk usage of a remote path (apparent and allocated size, counts)')
    .argument('<remote>', 'HOST[:PORT]:/MODULE[/PATH]')
    .option('--json', 'print JSON on stdout')
    .action(action(du));
  program
    .command('df')
    .description('free space of the filesystem holding a remote module')
    .argument('<remote>', 'HOST[:PORT]:/MODULE')
    .option('--json', 'print JSON on stdout')
    .action(action(df));
  program
    .command('rm')
    .description('delete a remote path and everything below it (asks first; --yes to skip)')
    .argument('<remote>', 'HOST[:PORT]:/MODULE/PATH')
    .option('-y, --yes', 'delete without asking (required when stdin is not a terminal)')
    .option('--module-root', 'allow HOST:/MODULE itself: delete everything in the module')
    .option('--json', 'print JSON on stdout')
    .action(action(rm));
  const jobs = program.command('jobs').description('transfers a blitd is running or has run').addHelpText('after', ADDRESS_HELP);
  jobs
    .command('list')
    .description('running jobs (with --all: finished ones too): state, progress, rate, ETA')
    .argument('<host>', 'HOST[:PORT] or unix:/PATH')
    .option('-a, --all', 'include finished jobs')
    .option('--json', 'print JSON on stdout')
    .action(action(jobsList));
  jobs
    .command('watch')
    .description('follow jobs as they run; with an ID, exits when that job ends (0 = succeeded)')
    .argument('<host>', 'HOST[:PORT] or unix:/PATH')
    .argument('[id]', 'one job (ends when it finishes); all jobs when omitted')
    .option('--json', 'one JSON object per event (NDJSON)')
    .action(action(jobsWatch));
  jobs
    .command('cancel')
    .description('cancel a running job (its files finish or are cleaned up; nothing partial is left)')
    .argument('<host>', 'HOST[:PORT] or unix:/PATH')
    .argument('<id>', 'job id (from jobs list)')
    .option('--json', 'print JSON on stdout')
    .action(action(jobsCancel));
}
