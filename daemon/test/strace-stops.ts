/**
 * A process stopped at a chosen system call, deterministically (a sleep or a racing writer may
 * simply miss the window on a loaded machine): strace injects SIGSTOP into the thread that makes
 * the call. runStoppedAt runs a process to completion (the CLI's "file changed while copied" test,
 * cli/harness.ts blitStoppedAtOpen, and the suspension tests); stopAtWrap, waitStopped, tracedPid
 * and releaseTraced are the pieces for a blitd started under strace (startDaemon's `wrap`).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor, type Daemon } from './daemon/harness';
import { needStrace } from './need-strace';

/** The trace line of a thread really stopped by an injected SIGSTOP (safe to SIGCONT from then on). */
const STOPPED = /^\d+ +--- stopped by SIGSTOP ---/m;

/**
 * strace's argv before the command: each thread's `when`-th call of `calls` (strace's `trace=`
 * set, e.g. 'sendfile' or 'unlink,unlinkat') stops it; only calls on `paths` (strace -P) when given.
 */
export function stopAtWrap(trace: string, calls: string, when = 1, paths: string[] = []): string[] {
  return [
    'strace', '-f', '-qq', '-o', trace, ...paths.flatMap((p) => ['-P', p]),
    '-e', `trace=${calls}`, '-e', `inject=${calls}:signal=SIGSTOP:when=${when}`, '--',
  ];
}

/** The process strace runs (its first child; 0 when there is none): the one to signal. */
export function tracedPid(tracer: number): number {
  return Number(readOr(`/proc/${tracer}/task/${tracer}/children`).trim().split(/\s+/)[0]);
}

/** Waits until `trace` shows a thread stopped by an injected SIGSTOP; a timeout shows the trace (and `more`). */
export async function waitStopped(trace: string, ms: number, what: string, more: () => string = () => ''): Promise<void> {
  try {
    await waitFor(() => STOPPED.test(readOr(trace)), ms, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- trace\n${readOr(trace)}\n${more()}`);
  }
}

/**
 * Ends a blitd started under strace (stopAtWrap or any strace wrap), for a test's finally: blitd
 * itself, strace's child, gets SIGCONT (it may be stopped at an injected call) and SIGTERM; strace
 * does not end on SIGTERM while its tracee runs, it would only detach from it and leave the trace
 * cut short. strace exits once blitd has; a thread stopped at its own first call on the way out is
 * resumed too (a SIGCONT sent before a stop is lost, so it is sent until the exit).
 */
export async function releaseTraced(daemon: Daemon): Promise<void> {
  const pid = tracedPid(daemon.proc.pid!);
  const exited = (): boolean => daemon.proc.exitCode !== null || daemon.proc.signalCode !== null;
  try {
    if (pid > 0 && !exited()) {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGTERM');
      const resumedUntilExit = (): boolean => {
        if (exited()) return true;
        signalIfThere(pid, 'SIGCONT');
        return false;
      };
      await waitFor(resumedUntilExit, 60_000, `blitd (pid ${pid}) under strace to exit after SIGTERM`);
    }
  } finally {
    await daemon.stop();
  }
}

function signalIfThere(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already: strace is about to exit.
  }
}

export interface StoppedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Injected stops handled (0: the process never made the call). */
  stops: number;
}

export interface StopOptions {
  /** strace's `trace=` set, e.g. 'open,openat' or 'pwrite64'. */
  calls: string;
  /** Only calls on these paths (strace -P matches the path as written in the call); all when empty. */
  paths?: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The run is killed and the call rejects after this long. */
  timeoutMs: number;
  /** Runs while the process is stopped the first time (as long as it likes); it is resumed after. */
  onFirstStop: (pid: number) => void | Promise<void>;
}

/**
 * Runs `argv` under strace, which stops the process the first time each of its threads makes one
 * of `opts.calls`. The first stop waits for `onFirstStop`; every later one (another thread making
 * the call) is resumed at once.
 */
export async function runStoppedAt(argv: string[], opts: StopOptions): Promise<StoppedRun> {
  needStrace();
  const traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-strace-'));
  const trace = path.join(traceDir, 'trace');
  const [strace, ...wrap] = stopAtWrap(trace, opts.calls, 1, opts.paths);
  const child = spawn(strace!, [...wrap, ...argv], { cwd: opts.cwd ?? os.tmpdir(), env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + opts.timeoutMs;
  let stops = 0;
  try {
    // Each injected stop shows in the trace as "PID --- SIGSTOP {... SI_KERNEL ...}" and, once the
    // thread is really stopped, "PID --- stopped by SIGSTOP ---". Only then is it safe to resume:
    // a SIGCONT sent before the stop would be lost and leave the process stopped.
    while (!ended) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${argv.join(' ')} did not finish within ${opts.timeoutMs} ms under strace (stops handled: ${stops})\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n--- trace\n${readOr(trace)}`);
      }
      let injected = 0;
      let stoppedAfter = 0;
      for (const line of readOr(trace).split('\n')) {
        if (/^\d+ +--- SIGSTOP \{.*SI_KERNEL/.test(line)) injected++;
        else if (injected > stops && STOPPED.test(line)) stoppedAfter++;
      }
      if (injected > stops && stoppedAfter > 0) {
        const pid = tracedPid(child.pid!);
        if (!(pid > 0)) throw new Error(`no process under strace (pid ${child.pid})`);
        if (stops === 0) await opts.onFirstStop(pid);
        stops++;
        process.kill(pid, 'SIGCONT');
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { code: await exited, stdout, stderr, stops };
  } finally {
    if (!ended) child.kill('SIGKILL');
    fs.rmSync(traceDir, { recursive: true, force: true });
  }
}

/** The file's text, or '' when it cannot be read (a trace not yet written, a process gone). */
export function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
