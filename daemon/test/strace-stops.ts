/**
 * A process stopped at a chosen system call, deterministically (a sleep or a racing writer may
 * simply miss the window on a loaded machine): strace injects SIGSTOP into the thread that makes
 * the call. Used by the CLI's "file changed while copied" test (cli/harness.ts blitStoppedAtOpen)
 * and by the suspension tests (daemon/suspend.test.ts).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { needStrace } from './need-strace';

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
  const calls = opts.calls;
  const child = spawn('strace', [
    '-f', '-qq', '-o', trace, ...(opts.paths ?? []).flatMap((p) => ['-P', p]),
    '-e', `trace=${calls}`, '-e', `inject=${calls}:signal=SIGSTOP:when=1`, '--', ...argv,
  ], { cwd: opts.cwd ?? os.tmpdir(), env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
        else if (injected > stops && /^\d+ +--- stopped by SIGSTOP ---/.test(line)) stoppedAfter++;
      }
      if (injected > stops && stoppedAfter > 0) {
        const pid = Number(readOr(`/proc/${child.pid}/task/${child.pid}/children`).trim().split(/\s+/)[0]);
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
