/**
 * StartTransfer: the daemon runs a transfer itself as a job (how the VS Code extension drives
 * every sync). local→local goes through the engine's runLocalTransfer; local↔remote through
 * runRemoteTransfer, this daemon acting as a client of the remote blitd. Engine events are mapped
 * into the job, which the jobs API exposes.
 */
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { displayPath } from '../engine/paths';
import type { LocalRunContext } from '../engine/orchestrator';
import type { PerfHistory } from '../engine/perf/history';
import type { EventSink, TransferOptions, TransferSummary } from '../engine/types';
import { optionsFromWire } from '../remote/convert';
import { parseEndpoint, type Endpoint } from '../remote/endpoint';
import { runRemoteTransfer } from '../remote/client';
import type { Job, JobKind, Logger } from './context';
import { asBlitError } from './grpc-errors';
import type { Jobs } from './jobs';

export type LocalRunner = (src: string, dst: string, options: TransferOptions, onEvent: EventSink, context: LocalRunContext) => Promise<TransferSummary>;

export interface TransferJobDeps {
  jobs: Jobs;
  log: Logger;
  /** The engine's runLocalTransfer (injected: tests and embedders can substitute it). */
  runLocal: LocalRunner;
  /** Daemon-wide --force-grpc-data. */
  forceGrpcData: boolean;
  /** blitd's perf history, a fresh handle per job (every job started here is recorded). */
  openHistory: () => PerfHistory;
}

function endpointOf(field: string, arg: string): Endpoint {
  if (!arg) throw new BlitError({ code: ErrorCodes.Usage, message: `StartTransfer: ${field} is empty` });
  const ep = parseEndpoint(arg);
  if (ep.kind === 'local' && !path.isAbsolute(ep.path)) {
    throw new BlitError({ code: ErrorCodes.Usage, message: `StartTransfer: ${field} '${arg}' must be an absolute path (the daemon's working directory is not the caller's)` });
  }
  return ep;
}

/** Engine events → job: progress, items, failures and the set of files in flight. */
export function jobEventSink(job: Job, log: Logger): EventSink {
  const inFlight = new Map<string, Buffer>();
  const publish = (): void => job.setInFlight([...inFlight.values()]);
  return (ev) => {
    switch (ev.type) {
      case 'progress':
        job.progress(ev);
        break;
      case 'item':
        job.item(ev.action, ev.rel, ev.kind, ev.size);
        break;
      case 'fileStart':
        inFlight.set(ev.rel.toString('hex'), ev.rel);
        publish();
        break;
      case 'fileDone':
        inFlight.delete(ev.rel.toString('hex'));
        publish();
        break;
      case 'fileError': {
        // Most failures are small files never in flight: only a change is published (each
        // publish builds a snapshot for the watchers; a run can fail file after file).
        let gone = false;
        for (const [k, rel] of inFlight) if (displayPath(rel) === ev.failure.path) gone = inFlight.delete(k);
        if (gone) publish();
        job.fileFailed(ev.failure);
        break;
      }
      case 'warning':
        log.warn('transfer warning', { job: job.id, warning: ev.message });
        break;
      case 'firstByte':
        log.debug('first byte', { job: job.id, ms: ev.elapsedMs });
        break;
    }
  };
}

/** Validates the request, creates the job, starts it in the background and returns its id. */
export function startTransfer(deps: TransferJobDeps, req: pb.StartTransferRequest__Output): string {
  const src = endpointOf('source', req.source);
  const dst = endpointOf('destination', req.destination);
  if (src.kind === 'remote' && dst.kind === 'remote') {
    throw new BlitError({ code: ErrorCodes.Usage, message: 'StartTransfer: remote to remote is not supported (one side must be local)' });
  }
  const wire = optionsFromWire(req.options ?? defaultWireOptions());
  const kind: JobKind = src.kind === 'local' && dst.kind === 'local' ? 'local' : dst.kind === 'remote' ? 'push' : 'pull';
  const job = deps.jobs.create(kind, req.label || `${req.source} → ${req.destination}`);
  // files_from stays a list of byte-exact paths all the way to the filter (any name can be listed).
  const filter = wire.filesFrom ? { ...wire.options.filter, filesFromPaths: wire.filesFrom } : wire.options.filter;
  const options: TransferOptions = { ...wire.options, filter, signal: job.signal };
  const onEvent = jobEventSink(job, deps.log);
  deps.log.info('job started', { job: job.id, kind, source: req.source, destination: req.destination, mode: options.mode });
  const run =
    src.kind === 'local' && dst.kind === 'local'
      ? deps.runLocal(src.path, dst.path, options, onEvent, { history: deps.openHistory() })
      : runRemoteTransfer(src, dst, { ...options, forceGrpcData: wire.forceGrpcData || deps.forceGrpcData }, onEvent, deps.openHistory());
  run.then(
    (summary) => {
      job.succeed(summary);
      deps.log.info('job finished', { job: job.id, files: summary.filesTransferred, bytes: summary.bytesTransferred, failures: summary.failures.length });
    },
    (err) => {
      const e = asBlitError(err);
      job.fail(e);
      deps.log.warn('job failed', { job: job.id, code: e.code, error: e.message });
    },
  );
  return job.id;
}

function defaultWireOptions(): pb.TransferOptions__Output {
  return {
    mode: 'MODE_COPY',
    compare: 'COMPARE_DEFAULT',
    ignoreExisting: false,
    filter: null,
    dryRun: false,
    deleteConfirmed: false,
    forceGrpcData: false,
    mkpath: false,
  };
}
