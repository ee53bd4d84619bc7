/**
 * blitd's own performance history: one record per push or pull it serves, in the history of the
 * daemon's user ($XDG_CONFIG_HOME/blit/perf_local.jsonl, BLIT_DISABLE_PERF_HISTORY=1 honoured), so
 * `blit diagnostics perf` run as that user on the server shows them. The client records the same
 * transfer in its own history (remote/perf-record.ts); this is the server's view of it.
 *
 * The push/pull handlers know nothing about it: each served call gets a ServerContext whose
 * resolvePath remembers the module the call works in and whose jobs record when they settle.
 * Signatures are written from the client's point of view, as the client's records are: a served
 * push is mode 'push' from 'remote' into the module's filesystem, a served pull the reverse.
 */
import type { BlitError } from '../engine/errors';
import type { PerfHistory } from '../engine/perf/history';
import { fsTypeOf } from '../engine/perf/fstype';
import type { WorkloadSignature } from '../engine/perf/tuning';
import type { Failure, TransferSummary } from '../engine/types';
import { recordRemoteRun, REMOTE_FS } from '../remote/perf-record';
import type { Job, JobProgress, ServerContext } from './context';

export class ServedPerf {
  private readonly pending = new Set<Promise<void>>();

  /**
   * `openHistory`: a fresh handle per record (one read, one append; a handle kept for the
   * daemon's life would not see what other processes append). `disabled`: record nothing.
   */
  constructor(
    private readonly openHistory: () => PerfHistory,
    private readonly disabled: boolean,
  ) {}

  /** The context one served push or pull runs with (unchanged when recording is off). */
  contextFor(ctx: ServerContext, mode: 'push' | 'pull'): ServerContext {
    if (this.disabled) return ctx;
    let modulePath: string | undefined;
    return {
      ...ctx,
      resolvePath: async (module, rel, opts) => {
        const r = await ctx.resolvePath(module, rel, opts);
        // The first path a call resolves is its transfer root; later ones (move's source removal)
        // are inside the same module.
        modulePath ??= r.module.path;
        return r;
      },
      jobs: {
        create: (kind, label) => {
          const startedAt = Date.now();
          const moduleFs = modulePath === undefined ? Promise.resolve('unknown') : fsTypeOf(modulePath).catch(() => 'unknown');
          return new RecordedJob(ctx.jobs.create(kind, label), (result) => this.record(mode, moduleFs, startedAt, result));
        },
      },
    };
  }

  /** Resolves once every record started so far is written (daemon shutdown waits for it). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private record(mode: 'push' | 'pull', moduleFs: Promise<string>, startedAt: number, result: TransferSummary | BlitError): void {
    const p = (async () => {
      const local = await moduleFs;
      const sig: WorkloadSignature = mode === 'push' ? { mode, fsType: REMOTE_FS, dstFsType: local } : { mode, fsType: local, dstFsType: REMOTE_FS };
      await recordRemoteRun(this.openHistory(), sig, startedAt, result);
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

/** A job that reports its outcome once, when it settles; everything else goes to the real job. */
class RecordedJob implements Job {
  private reported = false;

  constructor(
    private readonly inner: Job,
    private readonly onSettled: (result: TransferSummary | BlitError) => void,
  ) {}

  get id(): string {
    return this.inner.id;
  }
  get kind(): Job['kind'] {
    return this.inner.kind;
  }
  get label(): string {
    return this.inner.label;
  }
  get signal(): AbortSignal {
    return this.inner.signal;
  }
  progress(p: JobProgress): void {
    this.inner.progress(p);
  }
  item(action: string, path: Buffer, kind: string, size: number): void {
    this.inner.item(action, path, kind, size);
  }
  fileFailed(f: Failure): void {
    this.inner.fileFailed(f);
  }
  setInFlight(paths: Buffer[]): void {
    this.inner.setInFlight(paths);
  }
  succeed(summary: TransferSummary): void {
    this.inner.succeed(summary);
    this.settle(summary);
  }
  fail(error: BlitError, summary?: TransferSummary): void {
    this.inner.fail(error, summary);
    this.settle(error);
  }

  private settle(result: TransferSummary | BlitError): void {
    if (this.reported) return;
    this.reported = true;
    this.onSettled(result);
  }
}
