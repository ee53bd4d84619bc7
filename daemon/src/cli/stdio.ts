/**
 * What happens when blit cannot write its own output (stdout or stderr on a full disk, an I/O
 * error, a closed descriptor): one 'error' listener per stream for the whole run, so no write of
 * any verb (itemized lines, failures, progress, --json, help, commander's usage errors) can end in
 * an unhandled 'error' event and a stack trace.
 *
 * - EPIPE (the reader went away: `blit ls ... | head -1`) stays quiet and keeps the usual exit code,
 *   as it always has: the reader chose to stop reading.
 * - Any other error (ENOSPC, EIO, EBADF, ...) means output the user asked for is lost. The running
 *   transfer is NOT stopped: every file is still written atomically (temp + rename), and tearing a
 *   copy down half-way because a log line could not be written leaves the destination less complete
 *   without making anything safer. When the run ends, the loss is named on the other stream if that
 *   one still works (`blit: error: cannot write to stdout: ENOSPC ... [OutputLost]`; never on stdout,
 *   which may hold a --json object) and the exit code becomes EXIT_OUTPUT_LOST (74) if the run
 *   would otherwise have exited 0. 1 (fatal) and 2 (some files failed) are kept: they already say
 *   something worse about the data than "the report was lost".
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { EXIT_OK, EXIT_OUTPUT_LOST } from './exit-codes';

type StreamName = 'stdout' | 'stderr';

export class StdioGuard {
  /** Per stream, the first error that was not EPIPE: output the user asked for was lost. */
  private readonly lost = new Map<StreamName, string>();
  /** Streams whose writes failed in any way (EPIPE included): the loss is not named there. */
  private readonly failed = new Set<StreamName>();
  /** The code main() returned; errors reported after that set process.exitCode themselves. */
  private finished: number | null = null;
  private reported = false;

  constructor(private readonly streams: Record<StreamName, NodeJS.WritableStream>) {
    for (const name of ['stdout', 'stderr'] as const) {
      // `on`, not `once`: a stream may report more than one failed write.
      streams[name].on('error', (err: NodeJS.ErrnoException) => this.onError(name, err));
    }
  }

  private onError(name: StreamName, err: NodeJS.ErrnoException): void {
    this.failed.add(name);
    if (err?.code === 'EPIPE') return;
    // ERR_STREAM_DESTROYED and the like follow the first real error: keep the first cause.
    if (!this.lost.has(name)) this.lost.set(name, err?.message ?? String(err));
    if (this.finished !== null) {
      // Late: main() already returned (an error delivered after its last write).
      process.exitCode = this.exitCode(this.finished);
      this.report();
    }
  }

  /** The exit code for a run that would exit `code`, given what output was lost. */
  private exitCode(code: number): number {
    return code === EXIT_OK && this.lost.size > 0 ? EXIT_OUTPUT_LOST : code;
  }

  /**
   * Called once with the run's own exit code: lets errors of the last writes arrive (file streams
   * report them on the next tick), names the loss, and returns the final code.
   */
  async finish(code: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.finished = code;
    this.report();
    return this.exitCode(code);
  }

  private report(): void {
    const stdoutLoss = this.lost.get('stdout');
    if (this.reported || stdoutLoss === undefined || this.failed.has('stderr')) return;
    this.reported = true;
    this.streams.stderr.write(`blit: error: cannot write to stdout: ${stdoutLoss} [OutputLost]\n`);
  }
}

/**
 * A terminal that went away (pty closed: window, ssh session) must not turn the end of the run into
 * a crash. At exit Node restores the terminal mode it saw at start on fds 0-2 (ResetStdio, an
 * atexit hook) and aborts (SIGABRT, "Assertion failed ... ResetStdio") when tcsetattr fails with
 * EIO, after the copy went to its end: the exit code would be 134 instead of 74. Node skips an fd
 * that no longer is the file it saw at start, so each of 0-2 that was a terminal at start and is a
 * hung-up one now (isatty fails: EIO) is pointed at /dev/null just before exit. Nothing is lost:
 * nothing can be written to a hung-up terminal.
 */
function detachHungUpTerminals(wasTerminal: boolean[]): void {
  for (let fd = 0; fd <= 2; fd++) {
    if (!wasTerminal[fd] || tty.isatty(fd)) continue;
    try {
      fs.closeSync(fd); // throws EBADF for an fd already closed, which Node skips too
      const nul = fs.openSync('/dev/null', 'r+'); // the lowest free fd: the one just closed
      if (nul !== fd) fs.closeSync(nul); // then fd stays closed, which Node skips as well
    } catch {
      /* best effort: the run's result is already decided */
    }
  }
}

let installed: StdioGuard | null = null;

/** The guard on process.stdout/stderr, installed once per process (main() may run more than once in tests). */
export function processStdio(): StdioGuard {
  if (!installed) {
    installed = new StdioGuard({ stdout: process.stdout, stderr: process.stderr });
    const wasTerminal = [0, 1, 2].map((fd) => tty.isatty(fd));
    if (wasTerminal.some(Boolean)) process.once('exit', () => detachHungUpTerminals(wasTerminal));
  }
  return installed;
}
