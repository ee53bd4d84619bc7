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
import { EXIT_OK, EXIT_OUTPUT_LOST } from './exit-codes';

type StreamName = 'stdout' | 'stderr';

interface Loss {
  stream: StreamName;
  code: string;
  message: string;
}

export class StdioGuard {
  private readonly lost = new Map<StreamName, Loss>();
  private readonly pipeClosed = new Set<StreamName>();
  /** The code main() returned; errors reported after that set process.exitCode themselves. */
  private finished: number | null = null;
  private reported = false;

  constructor(private readonly streams: Record<StreamName, NodeJS.WritableStream>) {
    for (const name of ['stdout', 'stderr'] as const) {
      // `on`, not `once`: a stream may report more than one failed write.
      streams[name].on('error', (err: NodeJS.ErrnoException) => this.onError(name, err));
    }
  }

  /** True once writing to this stream failed in any way (EPIPE included): further writes are dropped by callers that ask. */
  broken(name: StreamName): boolean {
    return this.lost.has(name) || this.pipeClosed.has(name);
  }

  /** Output the user asked for was lost (EPIPE excluded). */
  outputLost(): boolean {
    return this.lost.size > 0;
  }

  private onError(name: StreamName, err: NodeJS.ErrnoException): void {
    const code = err?.code ?? 'EIO';
    if (code === 'EPIPE') {
      this.pipeClosed.add(name);
      return;
    }
    // ERR_STREAM_DESTROYED and the like follow the first real error: keep the first cause.
    if (!this.lost.has(name)) this.lost.set(name, { stream: name, code, message: err?.message ?? String(err) });
    if (this.finished !== null) {
      // Late: main() already returned (an error delivered after its last write).
      process.exitCode = this.exitCode(this.finished);
      this.report();
    }
  }

  /** The exit code for a run that would exit `code`, given what output was lost. */
  exitCode(code: number): number {
    return code === EXIT_OK && this.outputLost() ? EXIT_OUTPUT_LOST : code;
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
    if (this.reported) return;
    const stdoutLoss = this.lost.get('stdout');
    if (!stdoutLoss || this.broken('stderr')) return;
    this.reported = true;
    this.streams.stderr.write(`blit: error: cannot write to stdout: ${stdoutLoss.message} [OutputLost]\n`);
  }
}

let installed: StdioGuard | null = null;

/** The guard on process.stdout/stderr, installed once per process (main() may run more than once in tests). */
export function processStdio(): StdioGuard {
  installed ??= new StdioGuard({ stdout: process.stdout, stderr: process.stderr });
  return installed;
}
