/**
 * One `blit copy | mirror | move` run: options → dispatch → events → output → exit code.
 * All I/O goes through the TransferIo handed in, so nothing here reads process globals.
 */
import * as os from 'node:os';
import { BlitError, ErrorCodes } from '../engine/errors';
import { displayPath } from '../engine/paths';
import type { EventSink, Failure, TransferEvent, TransferMode, TransferOptions, TransferSummary } from '../engine/types';
import { parseEndpoint, type Endpoint } from '../remote/endpoint';
import { askYesNo } from './confirm';
import { EXIT_OK, EXIT_PARTIAL } from './exit-codes';
import { forceGrpcData, toTransferOptions, type TransferFlags } from './options';
import {
  addToTally,
  dryRunTotal,
  emptyTally,
  errorJson,
  failureLine,
  itemLine,
  printable,
  mergeSummaries,
  runTotal,
  summaryJson,
  type ItemTally,
} from './output';
import { warnIfNativeRefused } from './native-warning';
import { ProgressDisplay } from './progress';
import type { TransferRunners } from './runners';

export interface TransferIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
}

/** The engine's warning for deletions held back for lack of --yes (the CLI says it its own way). */

/** How many deletion candidates the terminal prompt lists before asking. */
const PROMPT_LIST_MAX = 10;

/** Where each kind of line goes, so a progress bar on the terminal is never torn. */
class Console {
  display: ProgressDisplay | null = null;
  /**
   * The reader of stdout went away (`blit mirror -v ... | head`): further output is dropped and the
   * transfer goes on, since stopping a copy halfway because nobody reads the list helps no one.
   */
  private stdoutGone = false;
  private readonly onStdoutError = (): void => {
    this.stdoutGone = true;
  };

  constructor(private readonly io: TransferIo, private readonly json: boolean) {
    io.stdout.once('error', this.onStdoutError);
  }

  /** Itemized lines: stdout, or stderr under --json (stdout holds only the JSON object). */
  item(line: string): void {
    if (this.json) this.err(line);
    else if (this.display && this.io.stdoutIsTTY) this.display.log(line);
    else this.out(line);
  }

  out(line: string): void {
    if (!this.stdoutGone) this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    if (this.display) this.display.log(line);
    else this.io.stderr.write(`${line}\n`);
  }

  stopDisplay(): void {
    this.display?.stop();
    this.display = null;
  }
}

interface PassState {
  tally: ItemTally;
  /** The engine said the source scan was incomplete: it deleted nothing, and asking is pointless. */
  scanIncomplete: boolean;
  /** Deletion candidates the engine reported but did not delete (not confirmed). */
  heldDeletes: string[];
  printedFailures: Set<string>;
}

function failureKey(f: Failure): string {
  return `${f.code}\0${f.path}`;
}

function eventSink(out: Console, state: PassState, options: TransferOptions, verbose: boolean): EventSink {
  const showItems = options.dryRun || verbose;
  return (event: TransferEvent) => {
    switch (event.type) {
      case 'item': {
        // The display string only when it is shown or kept (one per file of a 100k-file pull
        // was ~0.3 s of the receiving main thread).
        // Only a mirror holds deletions back; a copy or move deletes only to make way for a source
        // entry of another kind (an empty directory, a file), which is done and itemized.
        if (event.action === 'delete' && !options.deleteConfirmed && options.mode === 'mirror') {
          state.heldDeletes.push(displayPath(event.rel));
          return;
        }
        addToTally(state.tally, event.action, event.kind, event.size);
        const line = showItems ? itemLine(event.action, displayPath(event.rel), event.kind) : null;
        if (line !== null) out.item(line);
        return;
      }
      case 'progress':
        out.display?.update(event);
        return;
      case 'fileError':
        state.printedFailures.add(failureKey(event.failure));
        out.err(failureLine(event.failure));
        return;
      case 'warning':
        if (event.code === ErrorCodes.ScanIncomplete) state.scanIncomplete = true;
        // The command itself asks or explains what to do about unconfirmed deletions (below).
        if (!options.deleteConfirmed && event.code === ErrorCodes.DeletionNotConfirmed) return;
        out.err(`blit: warning: ${printable(event.message)}`);
        return;
      default:
        return;
    }
  };
}

/** The signals that cancel a run (a second one exits with 128 + its number). */
const CANCEL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function runTransferCommand(
  mode: TransferMode,
  srcArg: string,
  dstArg: string,
  flags: TransferFlags,
  io: TransferIo,
  runners: TransferRunners,
): Promise<number> {
  const json = flags.json === true;
  const out = new Console(io, json);
  const failJson = (err: unknown): void => {
    if (!json) return;
    const e = err instanceof BlitError ? err : null;
    out.out(errorJson(mode, srcArg, dstArg, e?.code ?? ErrorCodes.Internal, e?.message ?? String(err), e?.path));
  };
  let options: TransferOptions;
  let src: Endpoint;
  let dst: Endpoint;
  try {
    // Conflicting flags and bad remotes are usage errors (64); --json still answers with its object.
    options = toTransferOptions(mode, flags);
    src = parseEndpoint(srcArg);
    dst = parseEndpoint(dstArg);
  } catch (err) {
    failJson(err);
    throw err;
  }
  const showProgress = io.stderrIsTTY && !json && flags.progress !== false;
  warnIfNativeRefused(io.stderr);
  const state: PassState = { tally: emptyTally(), scanIncomplete: false, heldDeletes: [], printedFailures: new Set() };

  // Ctrl-C cancels the transfer cleanly (workers stop, temp files removed); a second one exits.
  // SIGTERM and SIGHUP (the terminal or ssh session went away) cancel the same way, as rsync does:
  // exit 1 [Cancelled], no temp file left, no partial file under a real name. Before, Node's
  // default ended blit at once and left its `.blit.` temps (and a push's temps on blitd until the
  // connection drop was noticed). A second signal exits at once (128 + its number).
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(128 + os.constants.signals[signal]);
    out.err(signal === 'SIGINT' ? 'blit: cancelling (Ctrl-C again to quit at once)' : `blit: ${signal}: cancelling`);
    abort.abort();
  };
  for (const signal of CANCEL_SIGNALS) process.on(signal, onSignal);

  const runPass = async (passOptions: TransferOptions, withProgress: boolean): Promise<TransferSummary> => {
    if (withProgress) out.display = new ProgressDisplay(io.stderr);
    try {
      const onEvent = eventSink(out, state, passOptions, flags.verbose === true);
      if (src.kind === 'local' && dst.kind === 'local') {
        return await runners.local(src.path, dst.path, passOptions, onEvent);
      }
      return await runners.remote(src, dst, { ...passOptions, forceGrpcData: forceGrpcData(flags, io.env) }, onEvent);
    } finally {
      out.stopDisplay();
    }
  };

  try {
    let summary = await runPass({ ...options, signal: abort.signal }, showProgress);
    const held = summary.deletionsSkipped;
    if (mode === 'mirror' && !options.dryRun && !options.deleteConfirmed && held > 0 && !state.scanIncomplete) {
      const what = `${held} ${held === 1 ? 'entry' : 'entries'} in ${printable(dstArg)}`;
      if (io.stdinIsTTY && io.stderrIsTTY) {
        for (const p of state.heldDeletes.slice(0, PROMPT_LIST_MAX)) io.stderr.write(`  delete  ${printable(p)}\n`);
        if (state.heldDeletes.length > PROMPT_LIST_MAX) io.stderr.write(`  ... and ${state.heldDeletes.length - PROMPT_LIST_MAX} more\n`);
        const yes = await askYesNo(`Delete ${what}?`, io.stdin, io.stderr, abort.signal);
        if (yes) {
          // Second pass: everything is already copied, so it only deletes.
          const second = await runPass({ ...options, deleteConfirmed: true, signal: abort.signal }, false);
          summary = mergeSummaries(summary, second);
        } else {
          io.stderr.write(`blit: nothing deleted: ${what} kept\n`);
        }
      } else {
        io.stderr.write(`blit: ${what} not deleted (they are not in ${printable(srcArg)}): pass --yes to delete\n`);
      }
    }

    // Failures the engine returned without a fileError event are named here too.
    for (const f of summary.failures) {
      if (!state.printedFailures.has(failureKey(f))) io.stderr.write(`${failureLine(f)}\n`);
    }
    if (json) out.out(summaryJson(mode, srcArg, dstArg, summary));
    else if (options.dryRun) out.out(dryRunTotal(state.tally, flags.yes !== true && mode === 'mirror'));
    else out.out(runTotal(mode, summary));
    return summary.failures.length > 0 ? EXIT_PARTIAL : EXIT_OK;
  } catch (err) {
    failJson(err);
    throw err;
  } finally {
    for (const signal of CANCEL_SIGNALS) process.off(signal, onSignal);
    // The stdout error listener stays: a write queued before an EPIPE may report it after we return.
  }
}
