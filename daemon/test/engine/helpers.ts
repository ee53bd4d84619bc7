/** Shared helpers for engine tests: real temp trees, default options, a run that records events. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLocalTransfer } from '../../src/engine/orchestrator';
import type { TransferEvent, TransferOptions, TransferSummary } from '../../src/engine/types';

const made: string[] = [];

export function tempDir(tag = 'eng'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `blit-${tag}-`));
  made.push(d);
  return d;
}

export function cleanupTemps(): void {
  while (made.length > 0) fs.rmSync(made.pop()!, { recursive: true, force: true });
}

/** Write a tree: keys are relative paths; string/Buffer = file content, null = empty dir, {link} = symlink. */
export type TreeSpec = Record<string, string | Buffer | null | { link: string }>;

export function writeTree(root: string, spec: TreeSpec): void {
  for (const [rel, v] of Object.entries(spec)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (v === null) fs.mkdirSync(p, { recursive: true });
    else if (typeof v === 'object' && !Buffer.isBuffer(v)) fs.symlinkSync(v.link, p);
    else fs.writeFileSync(p, v);
  }
}

export function opts(over: Partial<TransferOptions> = {}): TransferOptions {
  return {
    mode: 'copy',
    compare: { mode: 'default', ignoreExisting: false },
    filter: { excludes: [], includes: [], gitignore: false },
    dryRun: false,
    deleteConfirmed: false,
    ...over,
  };
}

export interface Recorded {
  summary: TransferSummary;
  events: TransferEvent[];
  items(action?: string): string[];
  warnings(): string[];
}

export async function run(src: string, dst: string, o: TransferOptions, onEvent?: (e: TransferEvent) => void): Promise<Recorded> {
  const events: TransferEvent[] = [];
  const summary = await runLocalTransfer(src, dst, o, (e) => {
    events.push(e);
    onEvent?.(e);
  });
  return {
    summary,
    events,
    items: (action) => events.flatMap((e) => (e.type === 'item' && (action === undefined || e.action === action) ? [e.rel.toString('utf8')] : [])).sort(),
    warnings: () => events.flatMap((e) => (e.type === 'warning' ? [e.message] : [])),
  };
}

/** Every path under root (relative, sorted), dirs with a trailing '/'. Buffer-safe via latin1 → shown as utf8 when valid. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        out.push(r + '/');
        walk(r);
      } else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Any leftover temp file anywhere under root? */
export function tempsUnder(root: string): string[] {
  return listTree(root).filter((p) => /(^|\/)\.blit\..*\.tmp$/.test(p));
}

export function mtimeNs(p: string): bigint {
  return fs.lstatSync(p, { bigint: true }).mtimeNs;
}

/** Set an mtime with a sub-microsecond part, so ns precision is actually tested. */
export function setOddMtime(p: string, sec: number): void {
  // node:fs takes float seconds; the ns part we then verify comes from the copy, not from here.
  fs.utimesSync(p, sec + 0.123456789, sec + 0.123456789);
}

/** chattr FLAG on paths (+i: immutable, which binds root too): needs root and a file system with the flag. */
export function chattr(flag: string, ...paths: string[]): void {
  const c = spawnSync('chattr', [flag, ...paths], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`chattr ${flag} (needs root and a file system with the immutable flag): ${c.stderr}`);
}
