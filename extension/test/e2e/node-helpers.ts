/**
 * Helpers of the workbench suites that need no vscode: the extension-host suite (through
 * helpers.ts) and ui-vsix.test.js, a plain node script, load them from dist/test/e2e (both run
 * after scripts/test-e2e.sh's `tsc -b`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = process.env.BLIT_REPO ?? path.resolve(__dirname, '..', '..', '..', '..');

export interface RemoteDaemon {
  proc: ChildProcess;
  port: number;
  root: string;
  stop(): Promise<void>;
}

/** A real remote blitd on 127.0.0.1 (free port) exporting `root` as module `default`. */
export async function startRemoteBlitd(root: string): Promise<RemoteDaemon> {
  fs.mkdirSync(root, { recursive: true });
  const proc = spawn(process.execPath, [path.join(REPO, 'daemon', 'bin', 'blitd.js'), '--port', '0', '--bind', '127.0.0.1', '--root', root], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', BLIT_DISABLE_PERF_HISTORY: '1' },
  });
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (c) => reject(new Error(`remote blitd exited (${c}) before listening:\n${out}`)));
    setTimeout(() => reject(new Error(`remote blitd did not start:\n${out}`)), 15000).unref();
  });
  return {
    proc,
    port,
    root,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Every regular file under `dir` (relative paths), skipping the given top-level names. */
export function listFiles(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.includes(e.name)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it holds; fails naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string, everyMs = 100): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Every thread of `pid` stopped (state T): kill(SIGSTOP) returns before the stop takes effect, so a
 * test that acts on a stopped process waits for this (daemon/test/daemon/harness.ts allStopped).
 */
export function allStopped(pid: number): boolean {
  return fs.readdirSync(`/proc/${pid}/task`).every((t) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] === 'T';
  });
}

/** SIGSTOPs `pid` and waits until the stop has taken effect on every thread. */
export async function stopped(pid: number, ms = 30_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await until(() => allStopped(pid), ms, `process ${pid} to stop (every thread in state T)`, 5);
}

/** The blit temp files (`.blit.<name>.<unique>.tmp`) a live process holds open, read from /proc/PID/fd. */
export function tempDescriptors(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  if (!fs.existsSync(dir)) throw new Error(`process ${pid} exited`);
  return fs.readdirSync(dir).flatMap((fd) => {
    try {
      const target = fs.readlinkSync(path.join(dir, fd));
      return target.includes('/.blit.') ? [target] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
}
