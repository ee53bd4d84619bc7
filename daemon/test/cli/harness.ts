/**
 * Runs the real `blit` binary (node daemon/bin/blit.js from the built tree) on real trees in temp
 * dirs. Helpers to build trees with exact metadata and to read them back byte-exact.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IS_ROOT, NO_DAC_CAPS } from '../no-dac';
import { runStoppedAt } from '../strace-stops';

/** dist/test/cli/harness.js → daemon/bin/blit.js */
export const BLIT_BIN = path.resolve(__dirname, '../../../bin/blit.js');
export { IS_ROOT } from '../no-dac';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
  /** Run without the capabilities that bypass file permissions (only as root; otherwise blit has none). */
  unprivileged?: boolean;
  timeoutMs?: number;
}

/** Environment for every run: no perf history written into the real home. */
function baseEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', ...extra };
  delete env['BLIT_FORCE_GRPC_DATA'];
  return env;
}

/** Runs blit with stdin, stdout and stderr as pipes (so: not a terminal). */
export function blit(args: string[], opts: RunOptions = {}): RunResult {
  let cmd = process.execPath;
  let argv = [BLIT_BIN, ...args];
  if (opts.unprivileged && IS_ROOT) {
    cmd = 'setpriv';
    argv = [...NO_DAC_CAPS, process.execPath, ...argv];
  }
  const r = spawnSync(cmd, argv, {
    cwd: opts.cwd ?? os.tmpdir(),
    env: baseEnv(opts.env),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    // ETIMEDOUT: a hung blit is named with its arguments and what it printed, not a bare errno.
    throw new Error(`blit ${args.join(' ')}: ${r.error.message} (limit ${opts.timeoutMs ?? 60_000} ms)\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs blit under a pseudo-terminal (util-linux `script`), so stdin, stdout and stderr are all a
 * TTY. `answer` is typed at the terminal after a short delay. Returns everything the terminal showed.
 */
export function blitOnTerminal(args: string[], opts: { answer?: string; cwd?: string; env?: Record<string, string> } = {}): RunResult {
  // `exec`: no shell stays between `script` and blit. A shell that waits in the terminal's
  // foreground group gets Ctrl-C too, and dash (Debian's /bin/sh, `script`'s shell when SHELL is
  // unset, as in CI) then exits 130 even though blit handled the signal and exited 0.
  const quoted = `exec ${[process.execPath, BLIT_BIN, ...args].map(shellQuote).join(' ')}`;
  // `script` copies its stdin to the pty and records the session in `log`. The feeder waits until
  // the prompt shows in the log (at most 20 s), then types the answer: a control character (Ctrl-C)
  // alone, as a person would; text followed by Enter. The short sleep after typing lets blit react
  // before `script` sees the end of its input. `timeout` bounds the run so nothing is left behind.
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-cli-pty-'));
  const log = path.join(logDir, 'session');
  let feeder = 'true';
  if (opts.answer !== undefined) {
    const typed = /^[\x00-\x1f]$/.test(opts.answer) ? opts.answer : `${opts.answer}\n`;
    const waitPrompt = `for i in $(seq 200); do grep -qF '[y/N]' ${shellQuote(log)} 2>/dev/null && break; sleep 0.1; done`;
    feeder = `(${waitPrompt}; printf '%s' ${shellQuote(typed)}; sleep 0.5)`;
  }
  const shell = `${feeder} | timeout -k 2 50 script -qefc ${shellQuote(quoted)} ${shellQuote(log)}`;
  try {
    const r = spawnSync('bash', ['-c', shell], {
      cwd: opts.cwd ?? os.tmpdir(),
      env: { ...baseEnv(opts.env), TERM: 'xterm', COLUMNS: '120', LINES: '40' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/**
 * Runs blit under strace, which stops the whole blit process (SIGSTOP injected into the thread)
 * right after blit opens `stopAt` for the first time, i.e. after the scan listed the file and
 * before any byte of it is read. `whileStopped` runs then (e.g. it changes the file), and blit is
 * resumed. A deterministic "the file changed while it was being copied", on a loaded machine too,
 * where a writer racing the copy may simply not run inside the copy's window. Every later open of
 * `stopAt` by another thread (strace counts per thread) is stopped and resumed the same way.
 */
export async function blitStoppedAtOpen(args: string[], stopAt: string, whileStopped: () => void, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await runStoppedAt([process.execPath, BLIT_BIN, ...args], {
    calls: 'open,openat', paths: [stopAt], env: baseEnv(opts.env), timeoutMs: opts.timeoutMs ?? 50_000, onFirstStop: whileStopped,
  });
  if (r.stops === 0) throw new Error(`blit never opened ${stopAt}\nexit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const created: string[] = [];

/** A fresh directory under os.tmpdir(), removed by cleanupTemp(). */
export function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `blit-cli-${tag}-`));
  created.push(d);
  return d;
}

export function cleanupTemp(): void {
  while (created.length > 0) {
    const d = created.pop()!;
    fs.rmSync(d, { recursive: true, force: true });
  }
}

export interface FileSpec {
  content?: string | Buffer;
  mode?: number;
  /** mtime as "SECONDS.NANOS" since the epoch (set with touch, nanosecond-exact). */
  mtime?: string;
}

/** Writes files (parents created). Keys are '/'-separated relative paths. */
export function writeTree(root: string, files: Record<string, string | Buffer | FileSpec>): void {
  for (const [rel, spec] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    const s: FileSpec = typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec } : spec;
    fs.writeFileSync(full, s.content ?? '');
    if (s.mode !== undefined) fs.chmodSync(full, s.mode);
    if (s.mtime !== undefined) setMtime(full, s.mtime);
  }
}

/** Sets mtime to the nanosecond with coreutils touch (Node's utimes goes through a double). */
export function setMtime(p: string | Buffer, secondsDotNanos: string): void {
  execFileSync('touch', ['-h', '-m', '-d', `@${secondsDotNanos}`, p.toString()]);
}

export function read(root: string, rel: string): string {
  return fs.readFileSync(path.join(root, rel), 'utf8');
}

export function exists(root: string, rel: string): boolean {
  try {
    fs.lstatSync(path.join(root, rel));
    return true;
  } catch {
    return false;
  }
}

/** Every path under root, relative, '/'-separated, sorted; directories end in '/'. Byte-exact via latin1. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (abs: Buffer, rel: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name.toString('latin1');
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = Buffer.concat([abs, Buffer.from('/'), d.name]);
      if (d.isDirectory()) {
        out.push(`${childRel}/`);
        walk(childAbs, childRel);
      } else {
        out.push(childRel);
      }
    }
  };
  walk(Buffer.from(root), '');
  return out.sort();
}

/** Names left behind by an atomic writer (temp names are dot-prefixed with a blit marker). */
export function tempLeftovers(root: string): string[] {
  return listTree(root).filter((p) => /(^|\/)\.blit|\.tmp|~$/.test(p));
}

/** One JSON object on stdout and nothing else. */
export function parseJsonStdout(r: RunResult): Record<string, unknown> {
  const text = r.stdout.trim();
  if (text === '' || text.includes('\n')) {
    throw new Error(`expected exactly one JSON line on stdout, got:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

export function describeRun(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Mounts a small tmpfs (tests run as root in CI) so a full disk is real, not simulated. */
export function mountTmpfs(dir: string, size: string): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount -t tmpfs on ${dir} failed (needs root): ${r.stderr}`);
}

export function umount(dir: string): void {
  spawnSync('umount', [dir]);
}

