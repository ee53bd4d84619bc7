/**
 * Test harness for the daemon suites: starts REAL blitd processes (`--port 0`, waits for the
 * readiness line), runs the real `blit` CLI, makes temp trees. Also usable by the transfer tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BLITD = path.resolve(__dirname, '../../../bin/blitd.js');
export const BLIT = path.resolve(__dirname, '../../../bin/blit.js');

export interface Daemon {
  proc: ChildProcess;
  /** TCP port (0 when listening on a socket only). */
  port: number;
  /** `127.0.0.1:PORT` or `unix:/path`. */
  address: string;
  /** Everything the daemon wrote to stderr so far (its log, unless --log was given). */
  stderr(): string;
  /** SIGTERM and wait for exit; resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Spawns blitd with `args` (add `--port 0`), resolves once it printed its listening line. Perf
 * history is off unless `opts.env` turns it on: tests never write the user's ~/.config.
 */
export function startDaemon(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; wrap?: string[] } = {}): Promise<Daemon> {
  // `wrap`: a command that runs blitd (e.g. strace ... --): blitd is its last argument list.
  const [cmd, ...pre] = opts.wrap ?? [process.execPath];
  const proc = spawn(cmd!, [...pre, ...(opts.wrap ? [process.execPath] : []), BLITD, ...args], {
    env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', ...opts.env },
    cwd: opts.cwd ?? os.tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`blitd did not start within ${opts.timeoutMs ?? 15000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 15000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`blitd exited with ${code} before listening\nstderr: ${stderr}`));
    });
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /blitd listening on (\S+)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      const address = m[1]!;
      const port = address.startsWith('unix:') ? 0 : Number(address.slice(address.lastIndexOf(':') + 1));
      resolve({
        proc,
        port,
        address,
        stderr: () => stderr,
        stop: (signal = 'SIGTERM') => {
          if (proc.exitCode !== null || proc.signalCode !== null) return exited;
          proc.kill(signal);
          return exitedOrExplain(proc, exited, signal, () => stderr);
        },
      });
    });
  });
}

/**
 * How long stop() waits for blitd to exit after its signal. blitd's own grace for running calls is
 * 10 s (SHUTDOWN_GRACE_MS), then it exits within 1 s; a loaded machine gets ample room on top.
 */
const STOP_WAIT_MS = 60_000;

/**
 * `exited`, or, when the process is still there STOP_WAIT_MS after `signal`: a snapshot of its
 * threads (name, state, kernel wait channel, system call; its children too, e.g. blitd under a
 * wrapper), then SIGKILL and an error carrying the snapshot and blitd's log. A blitd that does not
 * stop fails its test naming where it hangs (before: the test's hook timed out with nothing).
 */
function exitedOrExplain(proc: ChildProcess, exited: Promise<number | string>, signal: NodeJS.Signals, stderr: () => string): Promise<number | string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const snapshot = processSnapshot(proc.pid!);
      proc.kill('SIGKILL');
      void exited.then((code) => {
        reject(new Error(`blitd (pid ${proc.pid}) did not exit within ${STOP_WAIT_MS} ms of ${signal} (killed: ${code})\n--- threads\n${snapshot}\n--- blitd stderr\n${stderr()}`));
      });
    }, STOP_WAIT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Polls `cond` every few ms until it holds; after `ms` fails naming `what` (the thing awaited, so
 * a timeout says which wait ran out). For waits on a state outside the test's own events (a
 * descriptor in /proc, bytes in a socket's queue, a job's state): a condition, never a sleep,
 * under any load. An error thrown by `cond` ends the wait with that error.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Bytes the kernel holds, unread, in the receive queues of the TCP sockets bound to `localPort`
 * (rx_queue in /proc/net/tcp and tcp6), only the one connected to `remotePort` when given: what
 * a peer sent that a stopped or paused reader has not taken yet.
 */
export function tcpReceiveQueue(localPort: number, remotePort?: number): number {
  const hex = (p: number): string => `:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  let queued = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // A listener's (state 0A) rx_queue counts connections not accepted yet, not bytes.
      if (f.length <= 4 || !f[1]!.endsWith(hex(localPort)) || f[3] === '0A') continue;
      if (remotePort !== undefined && !f[2]!.endsWith(hex(remotePort))) continue;
      queued += parseInt(f[4]!.split(':')[1]!, 16);
    }
  }
  return queued;
}

/**
 * Whether every thread of `pid` is stopped (state T in /proc): kill(SIGSTOP) returns before the
 * target stops, so a test that needs it stopped waits for this.
 */
export function allStopped(pid: number): boolean {
  return fs.readdirSync(`/proc/${pid}/task`).every((t) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  });
}

/**
 * SIGSTOP to `pid`, resolved once every thread of it is stopped (allStopped): what the test does
 * next happens with the process stopped, never in the window while the signal is still on its way.
 */
export async function stopped(pid: number, ms = 60_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await waitFor(() => allStopped(pid), ms, `process ${pid} to stop (every thread in state T)`);
}

/** One line per thread of `pid` and its descendants: tid, name, state, wchan, syscall, kernel stack. */
export function processSnapshot(pid: number): string {
  const read = (f: string): string => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch (err) {
      return `(${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
  };
  const lines: string[] = [];
  const visit = (p: number): void => {
    lines.push(`process ${p}: ${read(`/proc/${p}/cmdline`).replaceAll('\0', ' ')}`);
    let tids: string[] = [];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      const t = `/proc/${p}/task/${tid}`;
      const state = /^State:\s*(.*)$/m.exec(read(`${t}/status`))?.[1] ?? '?';
      const stack = read(`${t}/stack`).split('\n').map((l) => l.replace(/^\[<[0-9a-f]+>\] /, '')).slice(0, 6).join(' < ');
      lines.push(`  ${tid} ${read(`${t}/comm`)} [${state}] wchan=${read(`${t}/wchan`)} syscall=${read(`${t}/syscall`).split(' ')[0]} stack: ${stack}`);
    }
    for (const tid of tids) for (const c of read(`/proc/${p}/task/${tid}/children`).split(/\s+/).filter((x) => /^\d+$/.test(x))) visit(Number(c));
  };
  visit(pid);
  return lines.join('\n');
}

/** Runs the blit CLI to completion (stdin is not a terminal; perf history off unless opts.env says). */
export function runBlit(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return runNode(BLIT, args, opts);
}

/**
 * blit started in the background (perf history off): its pid (for RSS and signals), a kill, and
 * its end with what it printed.
 */
export function startBlit(args: string[], env: NodeJS.ProcessEnv = {}): { pid: number; kill(sig: NodeJS.Signals): void; done: Promise<RunResult> } {
  const child = spawn(process.execPath, [BLIT, ...args], { env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    pid: child.pid!,
    kill: (sig) => child.kill(sig),
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
  };
}

/** Runs blitd to completion (for start-up failures). */
export function runBlitd(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return runNode(BLITD, args, opts);
}

function runNode(script: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', ...opts.env },
      cwd: opts.cwd ?? os.tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // blit may exit before it reads stdin (most runs never read it): the write then fails with
    // EPIPE on the pipe, which says nothing about the run; the exit code and output do.
    proc.stdin.on('error', () => {});
    proc.stdin.end(opts.input ?? '');
  });
}

/** A fresh temp directory (realpath) and a cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes files: { 'a/b.txt': 'content' } (directories created as needed). */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** Every path below root (relative, sorted), not following symlinks. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = fs.lstatSync(path.join(dir, name));
      if (st.isDirectory()) walk(path.join(dir, name), r);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Names, contents and modes below `dir`: what a test promises stays untouched. */
export function fingerprint(dir: string): string {
  return listTree(dir)
    .map((p) => {
      const abs = path.join(dir, p);
      const st = fs.lstatSync(abs);
      return `${p} ${st.mode.toString(8)} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(abs, 'utf8') : ''}`;
    })
    .join('\n');
}

/** A config file in `dir` with the given TOML text; returns its path. */
export function writeConfig(dir: string, toml: string, name = 'blitd.toml'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, toml);
  return p;
}
