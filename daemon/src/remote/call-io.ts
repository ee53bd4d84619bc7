/**
 * Small helpers shared by the push/pull handlers and the remote client: writing to a gRPC stream
 * with backpressure, reading it one message at a time while a fatal error (a bad data stream, a
 * cancel) can interrupt the wait, and throttled progress.
 */
import { BlitError, ErrorCodes } from '../engine/errors';
import { refusalOf } from '../daemon/wire-guard';

interface WritableCall<T> {
  write(msg: T): boolean;
  once(event: 'drain', fn: () => void): unknown;
}

/** One shared 'drain' wait per call: thousands of queued writes must not each add a listener. */
const drains = new WeakMap<object, Promise<void>>();

/** Write one message; resolves when the stream can take more. */
export function writeMsg<T>(call: WritableCall<T>, msg: T): Promise<void> {
  if (call.write(msg)) return Promise.resolve();
  let p = drains.get(call);
  if (!p) {
    p = new Promise<void>((resolve) =>
      call.once('drain', () => {
        drains.delete(call);
        resolve();
      }),
    );
    drains.set(call, p);
  }
  return p;
}

/**
 * A place where any part of a session can declare the session failed. `race` makes every wait
 * of the main loop end as soon as that happens.
 *
 * Not Promise.race against one long-lived pending promise: every such race leaves a reaction on
 * that promise holding the race's settled value, so a session retained every message it ever
 * awaited (a 1 GiB pull over gRPC grew to 1.1 GB RSS). Waiters are kept in a set instead and
 * dropped as soon as they settle.
 */
export class FatalLatch {
  error: BlitError | undefined;
  private readonly waiters = new Set<(err: BlitError) => void>();

  fail(err: unknown): void {
    if (this.error) return;
    this.stopGrace();
    this.error = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: String((err as Error)?.message ?? err), cause: err });
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w(this.error);
  }

  race<T>(p: Promise<T>): Promise<T> {
    if (this.error) {
      p.catch(() => undefined);
      return Promise.reject(this.error);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      p.then(
        (v) => {
          this.waiters.delete(reject);
          resolve(v);
        },
        (e) => {
          this.waiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** Removes the listeners `watch` added (so a long-lived signal does not collect them). */
  private readonly unwatchers: (() => void)[] = [];

  /**
   * Fail with Cancelled when any of the signals aborts. Call `unwatch()` when the session ends:
   * the daemon's shutdown signal outlives every call, and a listener left on it per push/pull
   * piled up (MaxListenersExceededWarning after 11 calls, and a retained session each).
   */
  watch(signals: (AbortSignal | undefined)[], why: string): void {
    for (const s of signals) {
      if (!s) continue;
      const onAbort = (): void => this.fail(new BlitError({ code: ErrorCodes.Cancelled, message: why }));
      if (s.aborted) {
        onAbort();
        continue;
      }
      s.addEventListener('abort', onAbort, { once: true });
      this.unwatchers.push(() => s.removeEventListener('abort', onAbort));
    }
  }

  unwatch(): void {
    for (const u of this.unwatchers.splice(0)) u();
    this.stopGrace();
  }

  /** The data stream break failUnlessExplained holds back (the session's error if nothing names one). */
  pendingBreak: BlitError | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  /**
   * A data stream broke (EPIPE, ECONNRESET, closed early). Most often that is the consequence of
   * the peer's failure (a full disk: blitd fails the job and closes the streams while this side
   * still writes), and the peer's status on the control stream names the cause; which of the two
   * this process hears first is a race. So the break ends the session only if nothing else did
   * within `graceMs`: the peer's error (the main loop throws it), the call's own error, a cancel.
   * A peer that died breaks the call at once too; only a hung one costs the wait.
   */
  failUnlessExplained(err: BlitError, graceMs = PEER_STATUS_GRACE_MS): void {
    if (this.error || this.pendingBreak) return;
    this.pendingBreak = err;
    this.graceTimer = setTimeout(() => this.fail(err), graceMs);
  }

  private stopGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }
}

/**
 * How long a broken data stream waits for the peer's status (FatalLatch.failUnlessExplained).
 * blitd sends its error within milliseconds of closing the streams; 10 s leaves room for a loaded
 * machine (load 10+ here) and is paid only when no status comes at all.
 */
export const PEER_STATUS_GRACE_MS = 10_000;

/** A data path's failure that is a broken transport (may be the peer's failure seen from here), not this side's own. */
export function isStreamBreak(err: unknown): err is BlitError {
  return err instanceof BlitError && err.code === ErrorCodes.IoError;
}

/**
 * Reads a stream's messages one by one (the stream is paused between reads). A message blitd
 * refused undecoded (daemon/wire-guard.ts: too costly to decode) throws its BadFrame here.
 */
export function messageReader<T>(stream: AsyncIterable<T>): () => Promise<T | undefined> {
  const it = stream[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) return undefined;
    const refused = refusalOf(r.value);
    if (refused) throw refused;
    return r.value;
  };
}

/** Calls fn at most every `ms` (and once more at flush()). */
export class Throttle {
  private last = 0;
  constructor(private readonly ms: number, private readonly fn: () => void) {}
  tick(): void {
    const now = Date.now();
    if (now - this.last >= this.ms) {
      this.last = now;
      this.fn();
    }
  }
  flush(): void {
    this.last = Date.now();
    this.fn();
  }
}

/** Rejects with `err` when `p` has not settled within `ms` (the timer never keeps the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, err: () => BlitError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(err()), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** How long a daemon waits for the first message of a push or pull. */
export const HEADER_TIMEOUT_MS = 30_000;

/** The version of this blit / blitd installation (one package). */
export function blitVersion(): string {
  try {
    return String(require('../../../package.json').version);
  } catch {
    return 'unknown';
  }
}

/** The refusal of another protocol version: the Handshake RPC and push/pull headers say the same. */
export function protocolMismatchMessage(clientProtocol: number, clientVersion: string, daemonProtocol: number, daemonVersion: string): string {
  return (
    `protocol mismatch: client speaks protocol ${clientProtocol} (blit ${clientVersion || 'unknown'}), ` +
    `this daemon speaks protocol ${daemonProtocol} (blitd ${daemonVersion}); install matching versions`
  );
}

/**
 * The first message of a served push or pull: it must arrive within HEADER_TIMEOUT_MS, be a
 * header, and speak this daemon's protocol version (clients send the header without a Handshake
 * RPC first, so this is where another version is refused, with the Handshake's message). Shared
 * by both handlers so the refusal messages (and their codes) cannot drift apart.
 */
export async function readCallHeader<M extends { header?: { protocolVersion: number; clientVersion?: string } | null }>(
  verb: 'push' | 'pull',
  next: () => Promise<M | undefined>,
  latch: FatalLatch,
  protocolVersion: number,
): Promise<NonNullable<M['header']>> {
  const first = await latch.race(
    withTimeout(next(), HEADER_TIMEOUT_MS, () => new BlitError({ code: ErrorCodes.BadFrame, message: `no ${verb} header within ${HEADER_TIMEOUT_MS / 1000} s` })),
  );
  if (!first?.header) throw new BlitError({ code: ErrorCodes.BadFrame, message: `${verb} must start with a header` });
  const h = first.header as NonNullable<M['header']>;
  if (h.protocolVersion !== protocolVersion) {
    throw new BlitError({ code: ErrorCodes.ProtocolMismatch, message: protocolMismatchMessage(h.protocolVersion, h.clientVersion ?? '', protocolVersion, blitVersion()) });
  }
  return h;
}
