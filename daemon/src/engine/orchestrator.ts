/**
 * runLocalTransfer: walk → diff → dispatch to copy workers → atomic rename → metadata, streaming
 * (copies start while the walk goes on), then mirror deletions (delete-after), directory metadata
 * deepest first, and for a move the emptied source directories.
 *
 * This file composes the run; its parts share one explicit RunState (run-state.ts):
 *   tree-run.ts (walk + march), single-file.ts, entry-actions.ts (per-entry decisions),
 *   copy-dispatch.ts (batches → workers → results), mirror-deletions.ts, move-finalise.ts.
 *
 * Rules kept here:
 * - dryRun: item events are emitted and nothing on disk changes.
 * - mirror deletes only dstOnly entries the filter does not exclude, only after a complete source
 *   scan (else: none, ScanIncomplete warning) and only with deleteConfirmed (else: none, warning
 *   saying to pass --yes); both cases count deletionsSkipped.
 * - move removes a source file only after its copy was committed and verified (in the worker),
 *   or when the destination was already identical (size+mtime, or hash with --checksum); never
 *   one whose copy failed. `SRC/` keeps the (emptied) root directory, `SRC` removes it too.
 * - per-file failures go to summary.failures and the run goes on; fatal codes end it (thrown).
 * - a source dir replacing a destination non-dir, or the reverse, replaces the destination only
 *   when it is not a non-empty directory, unless this is a confirmed mirror.
 */
import * as fs from 'node:fs';
import type { EventSink, TransferOptions, TransferSummary } from './types';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { Filter } from './filter';
import { resolveEndpoints } from './endpoints';
import { planFromTuning } from './planner';
import type { WorkloadSignature } from './perf/tuning';
import type { PerfHistory, PerfOutcome } from './perf/history';
import { fsTypeOf } from './perf/fstype';
import { StallDetector } from './stall';
import { asBlitError, cancelledError, RunRecorder } from './run-support';
import { RunState } from './run-state';
import { CopyDispatcher } from './copy-dispatch';
import { EntryActions } from './entry-actions';
import { runTree } from './tree-run';
import { runSingle } from './single-file';

/** What a local run gets from its host besides the options (passed explicitly, no globals). */
export interface LocalRunContext {
  /**
   * Local performance history (perf/history.ts): warm-starts the tuning and records this run.
   * The CLI/daemon opens it at their edge: PerfHistory.open(perfHistoryOptionsFromEnv(process.env)).
   * Omitted or null: machine defaults, nothing recorded.
   */
  history?: PerfHistory | null;
}

export async function runLocalTransfer(srcArg: string, dstArg: string, options: TransferOptions, onEvent: EventSink, context: LocalRunContext = {}): Promise<TransferSummary> {
  const ends = resolveEndpoints(srcArg, dstArg, options.mode, options.mkpath === true);
  const filter = Filter.fromSpec(options.filter);
  if (ends.mkParents !== null && !options.dryRun) {
    // --mkpath, after every check above (a bad filter or --files-from creates nothing): DST's
    // missing parents (an ancestor that is a file: ENOTDIR, named)
    try {
      fs.mkdirSync(ends.mkParents, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw fromErrno(err, ends.mkParents, 'cannot create the destination parent', 'destination');
    }
  }
  const sig: WorkloadSignature = { fsType: await fsTypeOf(ends.srcAbs), dstFsType: await fsTypeOf(ends.dstAbs), mode: 'local' };
  const start = Date.now();
  const recorder = new RunRecorder(sig, context.history ?? null, start, options.debug?.workers !== undefined);
  const run = new RunState(start, ends, options, filter, onEvent, recorder, planFromTuning(recorder.tuning, options.debug));
  return execute(run);
}

/**
 * Runs the tree or single-file part under a stall detector and the caller's abort signal; the
 * workers are always closed and the run recorded in the perf history, whatever happened.
 */
async function execute(run: RunState): Promise<TransferSummary> {
  const signal = run.options.signal;
  if (signal?.aborted) throw cancelledError();
  const copies = new CopyDispatcher(run);
  const actions = new EntryActions(run, copies);
  const onAbort = (): void => run.setFatal(cancelledError());
  signal?.addEventListener('abort', onAbort);
  let lastHeartbeat = 0;
  const stall = new StallDetector({
    timeoutMs: run.options.debug?.stallTimeoutMs ?? 10_000,
    describeInFlight: () => copies.describeInFlight(),
    beforeCheck: () => {
      const hb = copies.heartbeat();
      if (hb !== lastHeartbeat) {
        lastHeartbeat = hb;
        stall.tick('copy');
      }
      // A move's sync (a worker's, or the main thread's off the event loop) can hold the kernel
      // for long on a slow disk: waiting on write-back is not a stall.
      if (copies.syncing() || run.sourceRemovals.syncing) stall.tick('sync');
    },
    onStall: (err) => copies.onStall(err),
  });
  run.stall = stall;
  stall.start();
  let outcome: PerfOutcome = 'failed';
  try {
    if (run.ends.kind === 'single') await runSingle(run, actions, copies);
    else await runTree(run, actions, copies);
    outcome = run.summary.failures.length > 0 ? 'partial' : 'ok';
  } catch (err) {
    if (err instanceof BlitError && err.code === ErrorCodes.Cancelled) outcome = 'cancelled';
    throw asBlitError(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stall.stop();
    await copies.close();
    // Ended before the directories' metadata (a failure, a cancel): the modes it tweaked go back.
    run.tweaks.restore();
    await run.recorder.record(outcome, run.summary, run.plan);
  }
  run.summary.durationMs = Date.now() - run.start;
  run.summary.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  run.progress.report(true);
  return run.summary;
}
