/**
 * `blit diagnostics perf`: what the local performance history holds (the runs the self-tuning
 * learns from) and what the predictor learned per filesystem segment. A table on a terminal,
 * `--json` for scripts, `--clear` empties the history. Reads only the local file; nothing is sent.
 */
import type { Command } from 'commander';
import { BlitError, ErrorCodes } from '../../engine/errors';
import { PerfHistory, perfHistoryOptionsFromEnv, type PerfRecord } from '../../engine/perf/history';
import { PerfPredictor, type SegmentSummary } from '../../engine/perf/predictor';
import { formatBytes, formatDuration } from '../output';

export interface DiagnosticsPerfFlags {
  json?: boolean;
  clear?: boolean;
  limit?: number;
}

export interface DiagnosticsIo {
  stdout: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

const DEFAULT_LIMIT = 20;

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new BlitError({ code: ErrorCodes.Usage, message: `--limit: expected a positive whole number, got '${value}'` });
  }
  return n;
}

export async function runDiagnosticsPerf(flags: DiagnosticsPerfFlags, io: DiagnosticsIo): Promise<number> {
  const opts = perfHistoryOptionsFromEnv(io.env);
  const history = PerfHistory.open(opts);
  if (flags.clear) {
    await history.clear();
    io.stdout.write(flags.json
      ? JSON.stringify({ cleared: true, file: history.file }) + '\n'
      : `Performance history cleared (${history.file}).\n`);
    return 0;
  }
  const all = history.recent();
  const runs = all.slice(-(flags.limit ?? DEFAULT_LIMIT));
  const learned = PerfPredictor.fromRecords(all).segments();
  if (flags.json) {
    io.stdout.write(JSON.stringify({
      file: history.file,
      recording: !history.disabled,
      totalRuns: all.length,
      skippedLines: history.skippedLines,
      runs,
      learned,
    }) + '\n');
    return 0;
  }
  io.stdout.write(renderText(history, all.length, runs, learned));
  return 0;
}

function renderText(history: PerfHistory, total: number, runs: PerfRecord[], learned: SegmentSummary[]): string {
  const lines: string[] = [];
  lines.push(`Performance history: ${history.file}`);
  lines.push(history.disabled
    ? 'Recording is off (BLIT_DISABLE_PERF_HISTORY=1).'
    : 'Recording is on (kept on this machine only; BLIT_DISABLE_PERF_HISTORY=1 turns it off).');
  if (history.skippedLines > 0) lines.push(`${history.skippedLines} unreadable line(s) skipped.`);
  if (runs.length === 0) {
    lines.push('No runs recorded yet.');
    return lines.join('\n') + '\n';
  }
  lines.push('', `Last ${runs.length} of ${total} runs (newest last):`);
  const header = ['time', 'mode', 'filesystems', 'files', 'bytes', 'plan', 'copy', 'rate', 'workers', 'primitive', 'stalls', 'outcome'];
  const rows = runs.map((r) => [
    localTime(r.time),
    r.signature.mode,
    `${r.signature.fsType}>${r.signature.dstFsType}`,
    String(r.files),
    formatBytes(r.bytes),
    formatDuration(r.plannerMs),
    formatDuration(r.copyMs),
    r.copyMs > 0 ? `${formatBytes(Math.round((r.bytes / r.copyMs) * 1000))}/s` : '-',
    String(r.settings.workers),
    r.primitive ?? '-',
    String(r.stallEvents),
    r.outcome,
  ]);
  lines.push(...table(header, rows, new Set([3, 4, 5, 6, 7, 8, 10])));
  if (learned.length > 0) {
    lines.push('', 'Learned (EMA per segment):');
    lines.push(...table(
      ['segment', 'runs', 'per file', 'throughput'],
      learned.map((s) => [s.segment, String(s.samples), `${s.msPerFile.toFixed(3)} ms`, `${formatBytes(Math.round(s.bytesPerMs * 1000))}/s`]),
      new Set([1, 2, 3]),
    ));
  }
  return lines.join('\n') + '\n';
}

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** diagnostics perf: owned by the performance work (issue 3). */
export function registerDiagnosticsCommands(program: Command): void {
  const diagnostics = program.command('diagnostics').description('inspect what blit knows about this machine');
  diagnostics
    .command('perf')
    .description('show recent local transfer runs and what the self-tuning learned from them')
    .option('--json', 'print one JSON object on stdout')
    .option('--clear', 'empty the local performance history')
    .option('--limit <n>', `show the last N runs (default ${DEFAULT_LIMIT})`, parseLimit)
    .addHelpText('after', `
The history is ~/.config/blit/perf_local.jsonl ($XDG_CONFIG_HOME/blit/ when set), capped at the
last 500 runs / 1 MiB. It never leaves this machine. BLIT_DISABLE_PERF_HISTORY=1 stops recording.
`)
    .action(async (flags: DiagnosticsPerfFlags) => {
      const code = await runDiagnosticsPerf(flags, { stdout: process.stdout, env: process.env });
      if (code !== 0) process.exitCode = code;
    });
}
