/**
 * Terminal progress display (files, bytes, rate, ETA) drawn by cli-progress on stderr. The command
 * creates one only when stderr is a TTY and neither --json nor --no-progress was given; piped
 * output never sees it, and never loads cli-progress either (required when a display is made).
 */
import type { MultiBar, SingleBar } from 'cli-progress';
import { formatBytes } from './output';

export interface ProgressSnapshot {
  filesDone: number;
  bytesDone: number;
  filesPlanned: number;
  bytesPlanned: number;
  scanComplete: boolean;
}

/** Rate and ETA from elapsed time; ETA only once the scan is complete (before that the total grows). */
export function progressLine(p: ProgressSnapshot, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = p.bytesDone / seconds;
  const files = `${p.filesDone}/${p.filesPlanned}${p.scanComplete ? '' : '+'} files`;
  const bytes = `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesPlanned)}${p.scanComplete ? '' : '+'}`;
  let eta = 'ETA --';
  if (p.scanComplete && rate > 0) {
    const left = Math.max(p.bytesPlanned - p.bytesDone, 0) / rate;
    eta = `ETA ${left < 60 ? `${Math.ceil(left)}s` : `${Math.floor(left / 60)}m${String(Math.ceil(left % 60)).padStart(2, '0')}s`}`;
  }
  return `${files}  ${bytes}  ${formatBytes(rate)}/s  ${eta}`;
}

export class ProgressDisplay {
  private readonly bars: MultiBar;
  private readonly bar: SingleBar;
  private readonly started = Date.now();
  private last: ProgressSnapshot = { filesDone: 0, bytesDone: 0, filesPlanned: 0, bytesPlanned: 0, scanComplete: false };

  constructor(stream: NodeJS.WriteStream) {
    const { MultiBar } = require('cli-progress') as typeof import('cli-progress');
    this.bars = new MultiBar({
      stream,
      // Ctrl-C is handled by the command (it cancels the transfer); the bar must not swallow it.
      gracefulExit: false,
      hideCursor: true,
      // The last frame stays on screen as the record of the run (like rsync --progress).
      clearOnComplete: false,
      barsize: 24,
      fps: 8,
      linewrap: true,
      format: (options, params) => {
        const width = options.barsize ?? 24;
        const done = Math.round(params.progress * width);
        const bar = '#'.repeat(done) + '-'.repeat(Math.max(width - done, 0));
        return `[${bar}] ${progressLine(this.last, Date.now() - this.started)}`;
      },
    });
    this.bar = this.bars.create(1, 0);
  }

  update(p: ProgressSnapshot): void {
    this.last = p;
    this.bar.setTotal(Math.max(p.bytesPlanned, 1));
    this.bar.update(p.bytesDone);
  }

  /** Print a whole line above the bar (itemized lines, failures) without tearing the display. */
  log(line: string): void {
    this.bars.log(line.endsWith('\n') ? line : `${line}\n`);
  }

  stop(): void {
    // cli-progress drops lines still queued by log() on stop(); one last redraw flushes them.
    if (this.bars.isActive) this.bars.update();
    this.bars.stop();
  }
}
