/**
 * Root hooks for the whole mocha run (.mocharc.json "require"): after the last test, no socket,
 * server or child process that a test left behind may still keep the process alive. If one does, the run fails naming each handle (kind, addresses, pid) and the test in which it was first
 * seen, then unrefs those handles so mocha ends now. Without this a leak shows only as mocha
 * staying alive after "N passing" (a paused test receiver held an accepted socket for a minute
 * once), which CI's `timeout` in scripts/test.sh turns into a failure without a name.
 *
 * Not a flake: what closes by itself (a killed child's exit, a destroyed socket's close) gets
 * GRACE_MS to go, polled; only what is still open after that fails, and that would have held mocha
 * at least as long. Handles that are unref()ed never count (they hold nothing), nor do
 * stdin/stdout/stderr. Timers are not checked: a forgotten one ends by itself, and mocha's own
 * timer for this hook could not be told apart from a test's (Node counts them, unnamed).
 */
import type { Context } from 'mocha';

const GRACE_MS = 30_000;
const POLL_MS = 100;
// Kept before any test runs: a test that fakes timers must not stop this hook's own waits.
const realSetTimeout = setTimeout;
const now = Date.now;

type Handle = { constructor?: { name?: string }; unref?: () => void } & Record<string, unknown>;
const proc = process as unknown as { _getActiveHandles(): Handle[] };

/** Where each handle was first seen: "after <test>" (made by it) or "before <test>" (by a hook). */
const origin = new WeakMap<object, string>();

function note(when: string, ctx: Context): void {
  const t = ctx.currentTest;
  const where = `${when} "${t?.fullTitle() ?? '?'}" (${t?.file ?? '?'})`;
  for (const h of proc._getActiveHandles()) if (!origin.has(h)) origin.set(h, where);
}

function openHandles(): Handle[] {
  const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
  return proc._getActiveHandles().filter((h) => !stdio.has(h));
}

function describeHandle(h: Handle): string {
  const kind = h.constructor?.name ?? typeof h;
  try {
    const o = h as unknown as {
      address?: () => unknown;
      remoteAddress?: string;
      remotePort?: number;
      readableLength?: number;
      writableLength?: number;
      pid?: number;
      spawnargs?: string[];
    };
    if (kind === 'Socket' || kind === 'Server') {
      const local = typeof o.address === 'function' ? JSON.stringify(o.address()) : '?';
      const remote = o.remoteAddress !== undefined ? ` to ${o.remoteAddress}:${o.remotePort}` : '';
      const queued = kind === 'Socket' ? ` (${o.readableLength ?? 0} bytes unread, ${o.writableLength ?? 0} unsent)` : '';
      return `${kind} ${local}${remote}${queued}`;
    }
    if (kind === 'ChildProcess') return `ChildProcess pid ${o.pid}: ${(o.spawnargs ?? []).join(' ')}`;
  } catch {
    // A half-closed handle may throw from address(): its kind is enough.
  }
  return kind;
}

export const mochaHooks = {
  beforeEach(this: Context): void {
    note('before', this);
  },
  afterEach(this: Context): void {
    note('after', this);
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(GRACE_MS + 30_000);
    const until = now() + GRACE_MS;
    for (;;) {
      const handles = openHandles();
      if (handles.length === 0) return;
      if (now() >= until) {
        const lines = handles.map((h) => `  ${describeHandle(h)}, first seen ${origin.get(h) ?? 'before the first test'}`);
        for (const h of handles) h.unref?.(); // fail now, not after whatever holds them is over
        throw new Error(`still open ${GRACE_MS / 1000} s after the last test (they keep mocha from exiting; close them in the test's after/afterEach):\n${lines.join('\n')}`);
      }
      await new Promise((r) => realSetTimeout(r, POLL_MS));
    }
  },
};
