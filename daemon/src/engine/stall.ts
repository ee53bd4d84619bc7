/**
 * Stall detector: every stage reports progress (`tick(stage)`); if no stage has made progress for
 * `timeoutMs` (default 10 s), `onStall` is called once with a BlitError Stalled naming the stage
 * that was last active and what was in flight. The clock and timer are injected so tests drive
 * it with a fake clock instead of sleeping.
 *
 * Idle time counts only while this process runs: a check that comes much later than its interval
 * means the process was stopped (Ctrl-Z, SIGSTOP, a debugger), the machine slept, or the event loop
 * was blocked in one long call; that gap is not the copy's lack of progress. Without this the
 * first check after a `fg` fired Stalled at once, before any worker could move (TODO, susp).
 */
import { BlitError, ErrorCodes } from './errors';

export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const h = setInterval(fn, ms);
    h.unref();
    return h;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface StallOptions {
  timeoutMs: number;
  clock?: Clock;
  /** Called before each check: lets the owner poll progress counters (e.g. worker heartbeats). */
  beforeCheck?: () => void;
  /** Describes what is stuck right now (e.g. files in flight), for the error message. */
  describeInFlight: () => string;
  onStall: (err: BlitError) => void;
}

export class StallDetector {
  private last: number;
  private lastStage = 'start';
  private handle: unknown;
  /** The check interval (ms). */
  private readonly every: number;
  private lastCheck: number;
  private fired = false;
  private readonly clock: Clock;

  constructor(private readonly opts: StallOptions) {
    this.clock = opts.clock ?? realClock;
    this.every = Math.max(10, Math.min(1000, Math.floor(opts.timeoutMs / 4)));
    this.last = this.lastCheck = this.clock.now();
  }

  start(): void {
    this.lastCheck = this.clock.now();
    this.handle = this.clock.setInterval(() => this.check(), this.every);
  }

  /** Something moved forward in `stage` ('walk', 'plan', 'copy', 'delete', ...). */
  tick(stage: string): void {
    this.last = this.clock.now();
    this.lastStage = stage;
  }

  /** Called by the timer; public so tests can call it after advancing the fake clock. */
  check(): void {
    if (this.fired) return;
    const now = this.clock.now();
    const sinceCheck = now - this.lastCheck;
    this.lastCheck = now;
    // More than two intervals since the last check: the process was not running for the excess.
    if (sinceCheck > 2 * this.every) this.last = Math.min(now, this.last + (sinceCheck - this.every));
    this.opts.beforeCheck?.();
    const idle = this.clock.now() - this.last;
    if (idle < this.opts.timeoutMs) return;
    this.fired = true;
    this.stop();
    const inFlight = this.opts.describeInFlight();
    this.opts.onStall(
      new BlitError({
        code: ErrorCodes.Stalled,
        message: `no progress for ${Math.round(idle / 1000)} s (last active stage: ${this.lastStage}${inFlight ? `; in flight: ${inFlight}` : ''})`,
      }),
    );
  }

  stop(): void {
    if (this.handle !== undefined) this.clock.clearInterval(this.handle);
    this.handle = undefined;
  }
}
