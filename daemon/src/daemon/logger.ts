/**
 * The daemon's Logger: one line per record, plain (`2026-11-20T22:10:00.000Z INFO msg k=v`) or
 * JSON lines, to stderr or appended to a file (`blitd --log FILE`, shown by the VS Code
 * extension). Lines to a file are written synchronously, so nothing is lost when the process
 * exits right after. Lines to stderr go through process.stderr (stderr-queue.ts): on a terminal or
 * a file that is synchronous too; on a pipe a lagging reader's lines wait in a bounded queue, and
 * whoever exits flushes it first (`flushed`, bounded in time).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from './context';
import { flushed, MAX_QUEUED_LOG_BYTES, StderrQueue } from './stderr-queue';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Append to this file; undefined = stderr. */
  file?: string;
}

export interface ClosableLogger extends Logger {
  /** Resolves once every line logged so far is written (true), or after `ms` (false). */
  flushed(ms: number): Promise<boolean>;
  close(): void;
}

function fieldText(v: unknown): string {
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('utf8'));
  if (typeof v === 'string') return /^[\w./:@-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

export function createLogger(opts: LoggerOptions): ClosableLogger {
  /** The --log file; undefined: stderr (also once the file is closed). */
  let fileFd: number | undefined;
  if (opts.file) {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    fileFd = fs.openSync(opts.file, 'a', 0o600);
  }
  const min = RANK[opts.level];
  const format = (level: LogLevel, msg: string, fields?: Record<string, unknown>): string => {
    const time = new Date().toISOString();
    let line: string;
    if (opts.format === 'json') {
      const rec: Record<string, unknown> = { time, level, msg };
      for (const [k, v] of Object.entries(fields ?? {})) {
        rec[k] = Buffer.isBuffer(v) ? v.toString('utf8') : v instanceof Error ? v.message : v;
      }
      line = JSON.stringify(rec);
    } else {
      const extra = Object.entries(fields ?? {}).map(([k, v]) => ` ${k}=${fieldText(v)}`).join('');
      line = `${time} ${level.toUpperCase()} ${msg}${extra}`;
    }
    return line + '\n';
  };
  const queue = new StderrQueue({
    stream: process.stderr,
    maxQueuedBytes: MAX_QUEUED_LOG_BYTES,
    droppedLine: (n) => format('warn', `${n} log lines dropped (stderr reader too slow)`, { dropped: n }),
  });
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < min) return;
    const line = format(level, msg, fields);
    if (fileFd === undefined) return queue.write(line);
    try {
      fs.writeSync(fileFd, line);
    } catch {
      // A full disk must not take the daemon down with it.
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    flushed: (ms) => (fileFd === undefined ? flushed(process.stderr, ms) : Promise.resolve(true)),
    close: () => {
      if (fileFd !== undefined) fs.closeSync(fileFd);
      fileFd = undefined;
    },
  };
}

let stdioGuarded = false;

/**
 * blitd's own stdout (the readiness line) and stderr (start-up errors, the log without --log) on a
 * full disk, a closed pipe or a bad descriptor: the write is lost, the daemon is not. Without a
 * listener such a stream's 'error' event is thrown (a crash with a stack trace, or, once serving,
 * an 'unhandled error' record per line). Once per process.
 */
export function ignoreStdioErrors(): void {
  if (stdioGuarded) return;
  stdioGuarded = true;
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}

/** A logger that drops everything (unit tests of pieces that need one). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
