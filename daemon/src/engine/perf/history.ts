/**
 * Local performance history: one JSON line per finished transfer, in
 * `$XDG_CONFIG_HOME/blit/perf_local.jsonl` (default `~/.config/blit/perf_local.jsonl`).
 * Nothing here ever leaves the machine. The predictor reads it to warm-start the next run.
 *
 * Rules:
 *  - The file is capped: when an append takes it past `maxRecords` plus a quarter (slack) or past
 *    `maxBytes`, it is rewritten atomically (temp file + rename) with only the newest `maxRecords`
 *    records in at most 3/4 of `maxBytes`. The slack makes a full history rewrite once per
 *    maxRecords/4 runs instead of after every run (a rewrite re-reads and re-parses the whole file:
 *    4-13 ms at 500 records, at the end of every remote run on both sides, DEVLOG h48).
 *  - A corrupt or foreign line is skipped (counted in `skippedLines`), never fatal.
 *  - History must never fail a transfer: `append` never throws, it resolves to false on error.
 *  - `disabled` (the caller reads BLIT_DISABLE_PERF_HISTORY=1 once and passes it in) turns
 *    recording off; reading what is already there still works (diagnostics shows it).
 *
 * Engine use (orchestrator, once per run):
 *   const history = PerfHistory.open(perfHistoryOptionsFromEnv(process.env));   // at the CLI edge
 *   const tuning = initialTuning(signature, history);                            // tuning.ts
 *   ... run ...
 *   await history.append(makePerfRecord({...}));
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CopyPrimitive } from '../types';
import type { Tuning, WorkloadSignature } from './tuning';

export const PERF_HISTORY_FILE = 'perf_local.jsonl';
export const DEFAULT_MAX_RECORDS = 500;
export const DEFAULT_MAX_BYTES = 1 << 20;
const RECORD_VERSION = 1;

export type PerfOutcome = 'ok' | 'partial' | 'failed' | 'cancelled';

/** One finished run. */
export interface PerfRecord {
  v: number;
  /** ISO 8601 time the run finished. */
  time: string;
  signature: WorkloadSignature;
  /** Enumeration + planning time (ms) before the first copy task was handed out. */
  plannerMs: number;
  /** Time spent copying (ms), first task to last task done. */
  copyMs: number;
  files: number;
  bytes: number;
  /** The settings in effect at the end of the run (after adaptation). */
  settings: Tuning;
  /** The primitive that moved most bytes; null when nothing was copied. */
  primitive: CopyPrimitive | null;
  /** How many times the stall detector fired (or a worker was found stuck). */
  stallEvents: number;
  outcome: PerfOutcome;
  firstByteMs?: number | null;
}

export interface PerfHistoryOptions {
  /** Directory holding perf_local.jsonl. Default: defaultPerfHistoryDir(process.env). */
  dir?: string;
  /** Recording off (BLIT_DISABLE_PERF_HISTORY=1). */
  disabled?: boolean;
  maxRecords?: number;
  maxBytes?: number;
}

/** `$XDG_CONFIG_HOME/blit`, or `~/.config/blit` when XDG_CONFIG_HOME is unset or not absolute. */
export function defaultPerfHistoryDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'blit');
}

/** Read the environment once, at the edge (CLI / daemon main), and pass the result to open(). */
export function perfHistoryOptionsFromEnv(env: NodeJS.ProcessEnv): PerfHistoryOptions {
  return { dir: defaultPerfHistoryDir(env), disabled: env.BLIT_DISABLE_PERF_HISTORY === '1' };
}

export class PerfHistory {
  readonly file: string;
  readonly disabled: boolean;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  /** Records past maxRecords an append may leave before the file is rewritten (see the rules). */
  private readonly slack: number;
  private cache: PerfRecord[] | null = null;
  private skipped = 0;

  private constructor(opts: PerfHistoryOptions) {
    this.file = path.join(opts.dir ?? defaultPerfHistoryDir(process.env), PERF_HISTORY_FILE);
    this.disabled = opts.disabled ?? false;
    this.maxRecords = Math.max(1, opts.maxRecords ?? DEFAULT_MAX_RECORDS);
    this.maxBytes = Math.max(1024, opts.maxBytes ?? DEFAULT_MAX_BYTES);
    this.slack = Math.max(1, Math.floor(this.maxRecords / 4));
  }

  /** Cheap: nothing is read until the first recent()/append(). */
  static open(opts: PerfHistoryOptions = {}): PerfHistory {
    return new PerfHistory(opts);
  }

  /** Lines skipped because they were corrupt or not a record (last load). */
  get skippedLines(): number {
    this.load();
    return this.skipped;
  }

  /** The newest `n` records, oldest first (all when n is omitted). */
  recent(n?: number): PerfRecord[] {
    const all = this.load();
    if (n === undefined) return all.slice();
    return n <= 0 ? [] : all.slice(-n);
  }

  /**
   * Append one record; rewrites the file atomically when it grows past the cap. Never throws.
   * One open for the append (its size from the same descriptor); the record count comes from the
   * records this object already read (a run reads them for its warm start), so a run reads the
   * file once and appends once. Only a rewrite reads it again, fresh: another process may have
   * appended since.
   */
  async append(record: PerfRecord): Promise<boolean> {
    if (this.disabled) return false;
    try {
      const stamped = { ...record, v: RECORD_VERSION };
      await fs.promises.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const fh = await fs.promises.open(this.file, 'a', 0o600);
      let size: number;
      try {
        await fh.appendFile(JSON.stringify(stamped) + '\n');
        size = (await fh.stat()).size;
      } finally {
        await fh.close();
      }
      const known = this.cache ? [...this.cache, stamped] : this.load();
      this.cache = known;
      if (known.length > this.maxRecords + this.slack || size > this.maxBytes || this.skipped > 0) {
        this.cache = null;
        await this.rewrite(this.load());
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Empty the history (the file is removed). */
  async clear(): Promise<void> {
    await fs.promises.rm(this.file, { force: true });
    this.cache = [];
    this.skipped = 0;
  }

  private async rewrite(all: PerfRecord[]): Promise<void> {
    let keep = all.slice(-this.maxRecords);
    let text = keep.map((r) => JSON.stringify(r) + '\n').join('');
    // Keep the newest records that fit in 3/4 of maxBytes (drop from the front), so the next
    // appends do not take it over maxBytes again at once.
    const fit = Math.floor((this.maxBytes * 3) / 4);
    while (keep.length > 0 && Buffer.byteLength(text) > fit) {
      keep = keep.slice(Math.ceil(keep.length / 10));
      text = keep.map((r) => JSON.stringify(r) + '\n').join('');
    }
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.promises.writeFile(tmp, text, { mode: 0o600 });
      await fs.promises.rename(tmp, this.file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    this.cache = keep;
    this.skipped = 0;
  }

  private load(): PerfRecord[] {
    if (this.cache) return this.cache;
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      text = '';
    }
    const records: PerfRecord[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const rec = parseRecord(line);
      if (rec) records.push(rec);
      else skipped++;
    }
    this.cache = records;
    this.skipped = skipped;
    return records;
  }
}

/** Parse one line; null when it is not valid JSON or not a record of a known version. */
export function parseRecord(line: string): PerfRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const r = v as Partial<PerfRecord>;
  const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (r.v !== RECORD_VERSION || typeof r.time !== 'string') return null;
  if (!r.signature || typeof r.signature.fsType !== 'string' || typeof r.signature.dstFsType !== 'string') return null;
  if (!['local', 'push', 'pull'].includes(r.signature.mode as string)) return null;
  if (!num(r.plannerMs) || !num(r.copyMs) || !num(r.files) || !num(r.bytes) || !num(r.stallEvents)) return null;
  const s = r.settings;
  if (!s || !num(s.workers) || !num(s.smallFileMaxBytes) || !num(s.smallBatchSize) || !num(s.bufferBytes)
    || !num(s.hugeFileSplitBytes) || !Array.isArray(s.primitiveOrder)) return null;
  if (!['ok', 'partial', 'failed', 'cancelled'].includes(r.outcome as string)) return null;
  return r as PerfRecord;
}

/** Build a record with the current time and version filled in. */
export function makePerfRecord(fields: Omit<PerfRecord, 'v' | 'time'> & { time?: Date }): PerfRecord {
  const { time, ...rest } = fields;
  return { v: RECORD_VERSION, time: (time ?? new Date()).toISOString(), ...rest };
}
