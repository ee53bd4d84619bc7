/**
 * blitd's log on stderr when a supervisor reads it through a pipe (systemd's journal, the VS Code
 * extension's spawn, `blitd 2>&1 | reader`). Once Node has set up process.stderr on a pipe, fd 2
 * is O_NONBLOCK and process.stderr writes through libuv: at once while the pipe has room, queued
 * in order while the reader lags, drained when fd 2 is writable again. The logger used
 * fs.writeSync on fd 2 instead: EAGAIN on a lagging reader, the line swallowed (1,731 of 2,000
 * arrived). A blocking write would stall every client on a stalled reader, and Node's queue alone
 * is unbounded. So: every line goes through the stream, and while more than `maxQueuedBytes` wait
 * the lines are dropped and counted until the queue has drained, then the count is written as one
 * line where the gap is. Lines are dropped whole, never cut.
 */
import type { Writable } from 'node:stream';
import { writesFlushed } from '../remote/data-sender';

/**
 * What may wait for a lagging reader: 4 MiB, some 20,000 typical lines (a du over a thousand
 * unreadable entries logs ~300 KB at once). Past it the reader is stalled rather than slow.
 */
export const MAX_QUEUED_LOG_BYTES = 4 * 1024 * 1024;

/** How long a stopping blitd waits for a stalled reader to take what is queued. */
export const LOG_FLUSH_MS = 5_000;

export interface StderrQueueOptions {
  stream: Writable;
  maxQueuedBytes: number;
  /** The line that names `n` dropped lines (formatted as the log's other lines). */
  droppedLine: (n: number) => string;
}

export class StderrQueue {
  private dropped = 0;

  constructor(private readonly opts: StderrQueueOptions) {}

  write(line: string): void {
    const s = this.opts.stream;
    // A closed stderr (EPIPE: the reader went away) is not ours to report; ignoreStdioErrors.
    if (s.destroyed) return;
    // Past the bound, and until the queue has drained: drop. writableNeedDrain is set whenever the
    // queue passed the stream's high-water mark, so 'drain' is sure to come once it empties (a
    // single line longer than the bound on an empty queue is written, never dropped forever).
    if (this.dropped > 0 || (s.writableNeedDrain && s.writableLength + line.length > this.opts.maxQueuedBytes)) {
      if (this.dropped++ === 0) s.once('drain', () => this.resume());
      return;
    }
    s.write(line);
  }

  private resume(): void {
    const n = this.dropped;
    this.dropped = 0;
    this.write(this.opts.droppedLine(n));
  }
}

/**
 * Resolves true once everything written to `stream` so far has reached the kernel (an empty
 * write's callback comes after all before it), false after `ms` (a reader stalled for good).
 */
export function flushed(stream: Writable, ms: number): Promise<boolean> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve(true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  // A stream that broke meanwhile (EPIPE: the reader went away) has nothing left to wait for.
  const out = writesFlushed(stream).then(() => true, () => true);
  return Promise.race([out, late]).finally(() => clearTimeout(timer));
}
