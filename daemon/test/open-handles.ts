/**
 * Root hooks for the whole mocha run (.mocharc.json "require"): a socket, server or child process
 * that a spec file leaves open fails the run, named (kind, addresses, bytes queued, pid and argv)
 * with the test it was first seen in. Without this a leak shows only as mocha staying alive after
 * "N passing" when that spec runs last (a paused test receiver once held an accepted socket for a
 * minute), which CI's `timeout` in scripts/test.sh turns into a failure without a name. Two checks:
 * - at every test's start and end: a handle first seen in an earlier spec file and still open
 *   OUTLIVE_MS after the run moved on from that file (its after hooks done) is noted, and reported
 *   after the last test even if it closed meanwhile;
 * - after the last test: handles still open GRACE_MS later; they are unref()ed so mocha ends now.
 *
 * Not a flake: only handles that outlive their spec by 30 s fail, which a closed, stopped or
 * killed one does not (its close or exit takes milliseconds, seconds under heavy load); unref()ed
 * handles never count (they hold nothing), nor do stdin/stdout/stderr. Timers are not checked: a
 * forgotten one ends by itself, and mocha's own timer for this hook could not be told apart from
 * a test's (Node counts ref'd timers, unnamed).
 */
import type { Context } from 'mocha';

const GRACE_MS = 30_000;
const OUTLIVE_MS = 30_000;
const POLL_MS = 100;
// Kept before any test runs: a test that fakes timers must not stop this hook's own waits.
const realSetTimeout = setTimeout;
const now = Date.now;

type Handle = { constructor?: { name?: string }; unref?: () => void } & Record<string, unknown>;
const proc = process as unknown as { _getActiveHandles(): Handle[] };

/** Where each handle was first seen: "after <test>" (made by it) or "before <test>" (by a hook). */
const origin = new WeakMap<object, { where: string; file: string }>();
/** When the run moved on from each spec file (its after hooks done). */
const fileDone = new Map<string, number>();
let currentFile: string | undefined;
/** Handles seen still open OUTLIVE_MS after their spec file was done, described when seen. */
const outlived = new Map<object, string>();

function note(when: string, ctx: Context): void {
  const t = ctx.currentTest;
  const file = t?.file ?? '?';
  if (file !== currentFile) {
    if (currentFile !== undefined) fileDone.set(currentFile, now());
    currentFile = file;
  }
  const where = `${when} "${t?.fullTitle() ?? '?'}" (${file})`;
  for (const h of openHandles()) {
    const o = origin.get(h);
    if (!o) {
      origin.set(h, { where, file });
      continue;
    }
    const done = fileDone.get(o.file);
    if (o.file !== file && done !== undefined && now() - done > OUTLIVE_MS && !outlived.has(h)) {
      outlived.set(h, `  ${describeHandle(h)}, first seen ${o.where}, still open ${Math.round((now() - done) / 1000)} s after that spec file was done`);
    }
  }
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
      if (handles.length > 0 && now() < until) {
        await new Promise((r) => realSetTimeout(r, POLL_MS));
        continue;
      }
      const problems: string[] = [];
      if (handles.length > 0) {
        const lines = handles.map((h) => `  ${describeHandle(h)}, first seen ${origin.get(h)?.where ?? 'before the first test'}`);
        for (const h of handles) h.unref?.(); // fail now, not after whatever holds them is over
        problems.push(`still open ${GRACE_MS / 1000} s after the last test (they keep mocha from exiting):\n${lines.join('\n')}`);
      }
      // Closed by now, but they held on long after their spec (a hang when that spec runs last).
      const late = [...outlived].filter(([h]) => !handles.includes(h as Handle)).map(([, line]) => line);
      if (late.length > 0) problems.push(`left open by a spec file, closed only later:\n${late.join('\n')}`);
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\nClose them in the test's after/afterEach.`);
      return;
    }
  },
};
