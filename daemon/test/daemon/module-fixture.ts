/**
 * The set-up shared by the remote tests that serve one module from a real blitd: a fresh temp
 * directory per test with `module/` in it, blitd started on that module when the test asks
 * (`--port 0 --root module`, its own env: a swap hook, BLIT_NATIVE_BATCH...), the real `blit`
 * CLI run against it, and after the test blitd stopped, the directory removed and the daemon's
 * log checked for unhandled errors. A push-then-pull round trip compared byte for byte.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { withoutDacCaps } from '../no-dac';
import { runBlit, startDaemon, tempDir, writeTree, type Daemon, type RunResult } from './harness';
import { assertSameTree } from './transfer-helpers';

/** The CLI's environment in the remote tests: no perf history, data over the raw TCP plane. */
export const CLI_ENV: NodeJS.ProcessEnv = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

export interface ModuleFixtureOptions {
  /** More patterns the daemon's log must not show (always: unhandled error, uncaught). */
  logMustNotMatch?: RegExp[];
  /** Runs after blitd stopped, before the directory is removed (undo chattr +i...). */
  beforeCleanup?: (dir: string) => void;
}

export interface ModuleFixture {
  /** This test's temp directory (realpath): put sources, pulled copies and outside trees here. */
  readonly dir: string;
  /** `<dir>/module`, created empty, served as module `default`. */
  readonly moduleDir: string;
  /** The blitd `start` started in this test. */
  readonly daemon: Daemon;
  /**
   * Starts blitd on the module, its environment CLI_ENV and `env` (one blitd per test);
   * `unprivileged`: without the capabilities that bypass file permissions (no-dac.ts), so a mode
   * 000 directory is unreadable to it even as root. `args`: more blitd flags (`--log FILE`: its
   * stderr pipe drops log lines when this process reads it too slowly, a file does not).
   */
  start(env?: NodeJS.ProcessEnv, opts?: { unprivileged?: boolean; args?: string[] }): Promise<Daemon>;
  /** `127.0.0.1:PORT:/default/<p>` on the started blitd. */
  remote(p: string): string;
  /** Runs `blit` with CLI_ENV, or with `env` instead. */
  blit(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /**
   * Pushes `src/` to `<module>/<name>` and pulls that back to `<dir>/<name>-back`, each run exit
   * 0 and each copy the same tree as `src` (names, kinds, modes, ns mtimes, bytes). Returns the
   * pulled copy.
   */
  pushPull(src: string, name: string, env?: NodeJS.ProcessEnv): Promise<string>;
}

/** Registers the beforeEach/afterEach hooks of the describe it is called in; see the file header. */
export function moduleFixture(prefix: string, opts: ModuleFixtureOptions = {}): ModuleFixture {
  let tmp: { dir: string; cleanup: () => void } | undefined;
  let daemon: Daemon | undefined;
  const must = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`module fixture: ${what}`);
    return v;
  };

  beforeEach(() => {
    tmp = tempDir(prefix);
    fs.mkdirSync(path.join(tmp.dir, 'module'));
  });

  afterEach(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    daemon = undefined;
    if (tmp) {
      opts.beforeCleanup?.(tmp.dir);
      tmp.cleanup();
      tmp = undefined;
    }
    for (const re of [/unhandled error|uncaught/i, ...(opts.logMustNotMatch ?? [])]) assert.doesNotMatch(log, re);
  });

  const fx: ModuleFixture = {
    get dir() {
      return must(tmp, 'used outside a test').dir;
    },
    get moduleDir() {
      return path.join(fx.dir, 'module');
    },
    get daemon() {
      return must(daemon, 'blitd not started in this test');
    },
    async start(env = {}, opts = {}) {
      assert.equal(daemon, undefined, 'one blitd per test');
      const wrap = opts.unprivileged ? withoutDacCaps() : [];
      daemon = await startDaemon(['--port', '0', '--root', fx.moduleDir, ...(opts.args ?? [])], { env: { ...CLI_ENV, ...env }, ...(wrap.length ? { wrap } : {}) });
      return daemon;
    },
    remote: (p) => `127.0.0.1:${fx.daemon.port}:/default/${p}`,
    blit: (args, env = CLI_ENV) => runBlit(args, { env }),
    async pushPull(src, name, env = CLI_ENV) {
      let r = await fx.blit(['copy', `${src}/`, fx.remote(name)], env);
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(src, path.join(fx.moduleDir, name));
      const back = path.join(fx.dir, `${name}-back`);
      r = await fx.blit(['copy', fx.remote(`${name}/`), back], env);
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(src, back);
      return back;
    },
  };
  return fx;
}

/** Fails (not a skip) where openat2 is missing: use-time containment is then not given. */
export function assertOpenBeneath(): void {
  const ob = native.loadOpenBeneath();
  if (!ob.open) assert.fail(`openat2 is not available here (${ob.error?.message}): the race window is open`);
}

/** A moduleFixture for the swap tests: `outside` next to the module and the swap hooks' env. */
export interface SwapFixture extends ModuleFixture {
  /** `<dir>/outside`: the directory outside the module that a swapped-in symlink leads to. */
  readonly outside: string;
  /** blitd env: right before directory `dir` (module-relative) is opened, swap it for a symlink to `outside`. */
  beforeOpen(dir: string): NodeJS.ProcessEnv;
  /** blitd env: right before a listing reads `list`, swap `dir` (`list` or above) for a symlink to `outside`. */
  beforeList(list: string, dir: string): NodeJS.ProcessEnv;
}

/**
 * The use-time containment tests' set-up (containment-race, containment-listing): a
 * moduleFixture, openat2 required (assertOpenBeneath), and before each test `outside` written
 * with `outsideTree`.
 */
export function swapFixture(prefix: string, outsideTree: Record<string, string>): SwapFixture {
  const fx = moduleFixture(prefix);
  const outside = (): string => path.join(fx.dir, 'outside');
  before(assertOpenBeneath);
  beforeEach(() => writeTree(outside(), outsideTree));
  return Object.defineProperties(fx as SwapFixture, {
    outside: { get: outside },
    beforeOpen: { value: (dir: string) => ({ BLIT_TEST_SWAP_BEFORE_OPEN: JSON.stringify({ dir, to: outside() }) }) },
    beforeList: { value: (list: string, dir: string) => ({ BLIT_TEST_SWAP_BEFORE_LIST: JSON.stringify({ list, dir, to: outside() }) }) },
  });
}
