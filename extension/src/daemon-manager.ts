/**
 * Owns the local blitd the extension talks to. On first use it attaches to a running daemon for
 * this user (a Unix socket at a per-user path, verified with Handshake) or spawns the bundled one
 * with the extension host's node. A spawned daemon gets a pipe on stdin and exits when that pipe
 * closes, so it dies with VS Code even when the extension host is killed; it is also killed on
 * dispose. A daemon that dies is restarted with bounded retries and backoff. No `vscode` import:
 * tests drive it with a real blitd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonClient } from './daemon-client';

export interface DaemonManagerOptions {
  /** node (the extension host's process.execPath). */
  nodePath: string;
  /** The blitd entry script (bundle/blitd.js in the .vsix, daemon/bin/blitd.js in the repo). */
  daemonScript: string;
  socketPath: string;
  /** Empty directory exported as the local daemon's module root (it serves nothing). */
  rootDir: string;
  log: (line: string) => void;
  /** Restarts allowed within `restartWindowMs` before giving up. */
  maxRestarts?: number;
  restartWindowMs?: number;
  startTimeoutMs?: number;
  /** Extra environment for the spawned daemon. */
  env?: NodeJS.ProcessEnv;
}

/** The daemon could not be started or reached; `detail` has the daemon's last words. */
export class DaemonStartError extends Error {
  constructor(message: string, readonly detail: string) {
    super(message);
    this.name = 'DaemonStartError';
  }
}

/** Per-user socket path: $XDG_RUNTIME_DIR/blit/blitd.sock, else ~/.cache/blit/blitd.sock. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'blit') : path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'blit');
  return path.join(base, 'blitd.sock');
}

/** Creates the socket's directory private to this user (0700), fixing the mode if it existed. */
export function preparePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if (st.uid !== process.getuid?.()) throw new DaemonStartError(`socket directory ${dir} belongs to another user (uid ${st.uid})`, '');
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DaemonManager {
  private client: DaemonClient | undefined;
  private child: ChildProcess | undefined;
  private starting: Promise<DaemonClient> | undefined;
  private disposed = false;
  private restarts: number[] = [];
  private lastOutput: string[] = [];
  /** Whether the current daemon was spawned by us (false = attached to one already running). */
  owned = false;
  readonly onRestart = new Set<(client: DaemonClient) => void>();
  /** Called when a daemon we spawned exits unexpectedly (its running jobs are gone with it). */
  readonly onExit = new Set<(reason: string) => void>();

  constructor(private readonly opts: DaemonManagerOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get address(): string {
    return `unix:${this.opts.socketPath}`;
  }

  /** The connected client, attaching or spawning on first use. */
  async ensure(): Promise<DaemonClient> {
    if (this.disposed) throw new DaemonStartError('the Blit extension is shutting down', '');
    if (this.client) return this.client;
    if (!this.starting) {
      this.starting = this.connectOrSpawn().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  /** Attaches to a daemon that is already running (never spawns one); null when there is none. */
  async attachIfRunning(): Promise<DaemonClient | null> {
    if (this.client || this.disposed) return this.client ?? null;
    if (this.starting) return this.starting;
    const c = await this.tryAttach().catch(() => null);
    if (c && !this.client) {
      this.opts.log(`attached to running blitd at ${this.opts.socketPath}`);
      this.owned = false;
      this.client = c;
    } else if (c) {
      c.close();
    }
    return this.client ?? null;
  }

  private async tryAttach(): Promise<DaemonClient | null> {
    if (!fs.existsSync(this.opts.socketPath)) return null;
    const c = new DaemonClient(this.address);
    try {
      const hs = await c.handshake(2000);
      if (!hs.accepted) {
        c.close();
        throw new DaemonStartError(`the running blitd at ${this.opts.socketPath} refused this extension: ${hs.message}`, hs.message);
      }
      return c;
    } catch (e) {
      c.close();
      if (e instanceof DaemonStartError) throw e;
      return null;
    }
  }

  private async connectOrSpawn(): Promise<DaemonClient> {
    preparePrivateDir(path.dirname(this.opts.socketPath));
    const attached = await this.tryAttach();
    if (attached) {
      this.opts.log(`attached to running blitd at ${this.opts.socketPath}`);
      this.owned = false;
      this.client = attached;
      return attached;
    }
    // Nobody answers on the socket: a stale file from a crashed daemon. Remove it (only a socket).
    try {
      if (fs.lstatSync(this.opts.socketPath).isSocket()) fs.unlinkSync(this.opts.socketPath);
    } catch {
      /* absent */
    }
    return this.spawnDaemon();
  }

  private async spawnDaemon(): Promise<DaemonClient> {
    fs.mkdirSync(this.opts.rootDir, { recursive: true, mode: 0o700 });
    const args = [this.opts.daemonScript, '--socket', this.opts.socketPath, '--root', this.opts.rootDir];
    this.opts.log(`starting ${this.opts.nodePath} ${args.join(' ')}`);
    this.lastOutput = [];
    const child = spawn(this.opts.nodePath, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      // BLIT_EXIT_ON_STDIN_EOF: the entry (scripts/blitd-entry.js) shuts blitd down when our pipe closes
      env: { ...process.env, ...this.opts.env, ELECTRON_RUN_AS_NODE: '1', BLIT_EXIT_ON_STDIN_EOF: '1' },
    });
    this.child = child;
    this.owned = true;
    const remember = (s: string) => {
      for (const line of s.split('\n')) {
        if (!line.trim()) continue;
        this.opts.log(line);
        this.lastOutput.push(line);
        if (this.lastOutput.length > 20) this.lastOutput.shift();
      }
    };
    child.stdout!.setEncoding('utf8').on('data', remember);
    child.stderr!.setEncoding('utf8').on('data', remember);
    child.stdin!.on('error', () => {}); // EPIPE when it already exited
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('error', (e) => {
      remember(`spawn failed: ${e.message}`);
      exited = { code: -1, signal: null };
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      this.opts.log(`blitd (pid ${child.pid}) exited: ${signal ?? `code ${code}`}`);
      if (this.child === child) {
        const wasReady = this.client !== undefined;
        this.onDaemonExit();
        if (wasReady && !this.disposed) this.onExit.forEach((f) => f(`the Blit daemon stopped (${signal ?? `exit code ${code}`})`));
      }
    });

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 15000);
    const c = new DaemonClient(this.address);
    while (Date.now() < deadline) {
      if (exited) break;
      if (fs.existsSync(this.opts.socketPath)) {
        try {
          const hs = await c.handshake(1000);
          if (!hs.accepted) throw new DaemonStartError(`the bundled blitd refused this extension: ${hs.message}`, this.lastOutput.join('\n'));
          try {
            fs.chmodSync(this.opts.socketPath, 0o600);
          } catch {
            /* the daemon may already have made it private */
          }
          this.client = c;
          this.opts.log(`blitd ready (pid ${child.pid}) on ${this.opts.socketPath}`);
          return c;
        } catch (e) {
          if (e instanceof DaemonStartError) {
            c.close();
            child.kill('SIGTERM');
            throw e;
          }
        }
      }
      await sleep(100);
    }
    c.close();
    if (!exited) child.kill('SIGKILL');
    const why = exited ? `it exited (${exited.signal ?? `code ${exited.code}`})` : `it did not answer within ${this.opts.startTimeoutMs ?? 15000} ms`;
    throw new DaemonStartError(`The Blit daemon did not start: ${why}.`, this.lastOutput.join('\n'));
  }

  private onDaemonExit(): void {
    this.child = undefined;
    this.client?.close();
    this.client = undefined;
    if (this.disposed) return;
    const now = Date.now();
    const windowMs = this.opts.restartWindowMs ?? 60000;
    this.restarts = this.restarts.filter((t) => now - t < windowMs);
    const max = this.opts.maxRestarts ?? 3;
    if (this.restarts.length >= max) {
      this.opts.log(`blitd died ${max} times within ${windowMs / 1000}s: not restarting (next command tries again)`);
      this.restarts = [];
      return;
    }
    this.restarts.push(now);
    const backoff = 250 * 2 ** (this.restarts.length - 1);
    this.opts.log(`restarting blitd in ${backoff} ms`);
    setTimeout(() => {
      if (this.disposed || this.client || this.starting) return;
      this.ensure().then(
        (c) => this.onRestart.forEach((f) => f(c)),
        (e: Error) => this.opts.log(`restart failed: ${e.message}`),
      );
    }, backoff).unref();
  }

  /**
   * Called when a call or the job stream to `client` failed. A daemon we attached to belongs to
   * another VS Code window and exits when that window closes: nothing else would tell us. Resolves
   * true while it still answers a Handshake; otherwise the client is dropped, onExit fires (its
   * running jobs are gone with it) and the next ensure() attaches to or spawns a daemon again.
   * A daemon we spawned is followed through its exit event instead.
   */
  async checkAlive(client: DaemonClient): Promise<boolean> {
    if (client !== this.client || this.disposed) return false;
    if (this.owned && this.child) return true;
    try {
      if ((await client.handshake(2000)).accepted) return true;
    } catch {
      /* gone (or hung): drop it below */
    }
    if (client !== this.client) return false;
    this.client = undefined;
    client.close();
    const reason = `the Blit daemon at ${this.opts.socketPath} stopped answering (it was started by another VS Code window, which may have closed)`;
    this.opts.log(`${reason}; the next command starts one again`);
    if (!this.disposed) this.onExit.forEach((f) => f(reason));
    return false;
  }

  /** Stops a daemon we spawned (closing its stdin, then SIGTERM, SIGKILL after a grace period). */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.client?.close();
    this.client = undefined;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin?.end();
      child.kill('SIGTERM');
    });
  }
}
