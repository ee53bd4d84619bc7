/**
 * Pull, daemon side: this daemon is the source, the client the destination.
 *
 *   C: header                       S: negotiation (tcp_port 0 = gRPC data)
 *                                   S: manifest batches ..., manifest_complete (with scan failures)
 *   C: need batches ..., need_complete
 *                                   S: data (TCP frames or file_data), then data_complete
 *   C: done                         S: end of call
 *
 * move: the client also sends `committed` batches (files it committed, or already had identical;
 * symlinks in place; with the last, the directories in place); the daemon removes those sources
 * (see source-remover.ts), reports each failure as removal_failure, and ends the call only when
 * every removal is settled and the source directories the move emptied (of those in place at the
 * client) are removed.
 *
 * The client connects the offered TCP streams (and waits for the daemon's accept byte) before it
 * sends its first need, so at the first need the daemon knows which path the client took: the
 * streams the client says it kept (StreamsKept, on its first need or need_complete), or gRPC when
 * it kept none. A client that does not say (older than StreamsKept): the accepted streams still
 * open, or gRPC when none is. Reads stay inside ctx.resolvePath(module, path, {forWrite: false});
 * the walk never follows a symlink.
 */
import type * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, type PullClientMessage__Output, type PullServerMessage } from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { Filter } from '../engine/filter';
import { displayPath, parentRel } from '../engine/paths';
import type { Failure, TransferSummary } from '../engine/types';
import type { Job, ServerContext } from '../daemon/context';
import { errorToWire, failureToWire, optionsFromWire, skippedToWire, type Skipped } from './convert';
import { DataListener } from './dataplane';
import { failureFor, SendQueue, sendOverGrpc, type OutgoingFile, type SenderHooks } from './data-sender';
import { sendOnStreamZeroCopy } from './stream-worker';
import { DirAnchor } from '../daemon/beneath';
import { ManifestSource } from './source';
import { SourceRemover } from './source-remover';
import { FatalLatch, messageReader, readCallHeader, Throttle, writeMsg } from './call-io';
import { defaultDataPlaneSettings, type DataPlaneSettings } from './push-server';

/** Skipped entries held at most before they go out without waiting for a manifest batch. */
const SKIPPED_BATCH = 1000;

export type PullCall = grpc.ServerDuplexStream<PullClientMessage__Output, PullServerMessage>;

export function handlePull(call: PullCall, ctx: ServerContext, settings: DataPlaneSettings = defaultDataPlaneSettings()): void {
  void new PullSession(call, ctx, settings).run();
}

class PullSession {
  private readonly latch = new FatalLatch();
  private readonly started = Date.now();
  private job: Job | undefined;
  private listener: DataListener | undefined;
  /** Accepted data streams by token index, until the first need picks the ones to send on. */
  private readonly accepted = new Map<number, net.Socket>();
  /** Pins a file's directory as a sender takes it (set in run(): ManifestSource.take). */
  private take: (f: OutgoingFile) => boolean = () => true;
  private readonly queue = new SendQueue((f) => this.take(f));
  private senders: Promise<void> | undefined;
  private tcp = false;
  private zeroCopy = false;
  private ended = false;
  private readonly failures: Failure[] = [];
  /** Manifest indices whose sending failed: their sources are never removed by a move. */
  private readonly sendFailed = new Set<number>();
  private readonly done = { files: 0, bytes: 0 };
  private readonly progress = new Throttle(250, () => this.reportProgress());

  constructor(private readonly call: PullCall, private readonly ctx: ServerContext, private readonly settings: DataPlaneSettings) {}

  private source: ManifestSource | undefined;

  async run(): Promise<void> {
    this.call.on('cancelled', () => this.latch.fail(new BlitError({ code: ErrorCodes.Cancelled, message: 'the client went away' })));
    this.call.on('error', () => this.latch.fail(new BlitError({ code: ErrorCodes.Cancelled, message: 'the client connection broke' })));
    try {
      await this.serve();
    } catch (err) {
      // The error goes out before the data streams close: the client then reports it (a
      // PathEscape naming the file), not "data stream closed before its end".
      await this.failed(err);
    } finally {
      this.latch.unwatch();
      this.queue.close();
      this.listener?.close();
      for (const s of this.accepted.values()) s.destroy();
      this.source?.close();
    }
  }

  private send(msg: PullServerMessage): Promise<void> {
    if (this.ended) return Promise.resolve();
    return this.latch.race(writeMsg(this.call, msg));
  }

  private async serve(): Promise<void> {
    const next = messageReader(this.call);
    const h = await readCallHeader('pull', next, this.latch, PROTOCOL_VERSION);
    const wire = optionsFromWire(h.options);
    const options = wire.options;
    const rel = Buffer.from(h.path);
    // move deletes sources: resolved for writing, so a read-only module refuses it up front.
    const move = options.mode === 'move' && !options.dryRun;
    const resolved = await this.ctx.resolvePath(h.module, rel, { forWrite: move });
    const job = this.ctx.jobs.create('served-pull', `pull from ${h.module}/${displayPath(rel)}`);
    this.job = job;
    this.latch.watch([job.signal], 'cancelled on the daemon');
    this.latch.watch([this.ctx.shutdown], 'the daemon is shutting down');
    this.ctx.log.info('pull started', { job: job.id, module: h.module, path: displayPath(rel), dryRun: options.dryRun });

    // FIFOs, sockets and devices the walk leaves out: named to the client before the next manifest
    // batch (or manifest_complete), which warns as a local copy does (they were left out silently).
    const skipped: Skipped[] = [];
    const sendSkipped = async (): Promise<void> => {
      if (skipped.length > 0) await this.send({ skipped: skippedToWire(skipped.splice(0)) });
    };
    const f = options.filter;
    const filter = new Filter({ excludes: f.excludes, includes: f.includes, gitignore: f.gitignore }, wire.filesFrom);
    const source = new ManifestSource({
      abs: resolved.abs,
      filter,
      checksum: options.compare.mode === 'checksum',
      signal: job.signal,
      shown: `${h.module}/${displayPath(rel)}`,
      onError: (fl) => job.fileFailed(fl),
      onSkipped: (r, why) => {
        // A directory of nothing but FIFOs yields no batch: do not hold them all until its end.
        if (skipped.push({ rel: r, why }) >= SKIPPED_BATCH) void sendSkipped().catch(() => undefined);
      },
      anchorAt: (rootAbs) => new DirAnchor(resolved.module.path, rootAbs, this.ctx.log),
    });
    this.source = source;

    if (!options.dryRun && !wire.forceGrpcData && !this.ctx.forceGrpcData) {
      this.listener = await DataListener.open({
        host: this.ctx.bindHost,
        streams: this.settings.streams,
        tokenTtlMs: this.settings.tokenTtlMs,
        ...(this.settings.pinned ? { pinned: this.settings.pinned } : {}),
        log: this.ctx.log,
        onStream: (socket, index) => {
          if (this.senders) {
            socket.destroy(); // too late: the data path was already chosen
            return;
          }
          this.accepted.set(index, socket);
          // A client that gave up waiting for the accept byte closes the socket: forget it, so
          // the data path chosen at the first need matches the streams the client kept (an
          // older client's only word on it; a close that arrives with the first need is missed:
          // StreamsKept).
          socket.once('close', () => {
            if (!this.senders && this.accepted.get(index) === socket) this.accepted.delete(index);
          });
          // Read (so a close is noticed); the client sends nothing after its hello.
          socket.on('data', () => {
            if (!this.senders) socket.destroy();
          });
          socket.resume();
        },
      });
    }
    const l = this.listener;
    await this.send({ source: { isDir: source.isDir } });
    await this.send({
      negotiation: l
        ? { tcpPort: l.port, token: l.tokens, streams: this.settings.streams, tokenTtlMs: l.tokenTtlMs }
        : { tcpPort: 0, token: Buffer.alloc(0), streams: 0, tokenTtlMs: 0 },
    });

    const manifest = (async () => {
      for await (const batch of source.batches()) {
        await sendSkipped();
        await this.send({ manifest: { packed: batch } });
      }
      await sendSkipped();
      await this.send({
        manifestComplete: { complete: source.complete, totalEntries: source.count, scanFailures: source.failures.map(failureToWire) },
      });
    })();
    manifest.catch((err) => this.latch.fail(err));

    const hooks: SenderHooks = {
      sent: (f) => {
        source.release(f);
        this.done.files++;
        this.progress.tick();
      },
      failed: (f, failure, framed) => {
        source.release(f);
        this.sendFailed.add(f.index);
        this.failures.push(failure);
        job.fileFailed(failure);
        // On TCP a file with frames on its stream hears why from its FILE_ERROR (a control
        // message could overtake the stream's frames); one never framed (not found, changed
        // before it was read, unreadable) hears it here, or it was "never sent" at the client.
        if (!this.tcp || !framed) void this.send({ fileFailure: failureToWire(failure) }).catch(() => undefined);
      },
      bytes: (n) => {
        this.done.bytes += n;
        this.progress.tick();
      },
    };

    // A directory swapped for a symlink (PathEscape) or gone since the walk fails that file, as
    // an unreadable file does; on TCP the client hears it on the control stream (no frame was sent).
    this.take = (f) => {
      try {
        source.take(f);
        return true;
      } catch (err) {
        hooks.failed(f, failureFor(f, err), false);
        return false;
      }
    };

    const remover = move ? new SourceRemover(this.ctx, h.module, source.isDir ? rel : parentRel(rel), source, this.sendFailed, (f) => {
      this.failures.push(f);
      job.fileFailed(f);
      return this.send({ removalFailure: failureToWire(f) });
    }) : undefined;
    for (;;) {
      const m = await this.latch.race(next());
      if (!m) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'the client ended the pull early' });
      if (m.committed) {
        if (!remover) throw new BlitError({ code: ErrorCodes.BadFrame, message: 'committed files reported, but this pull is not a move' });
        remover.add(m.committed.indices, m.committed.symlinks, m.committed.dirs);
        continue;
      }
      if (m.need || m.needComplete) this.startSenders(hooks, job.signal, (m.need ?? m.needComplete)!.streamsKept?.indices);
      if (m.need) {
        for (const i of m.need.indices) this.queue.push(source.fileFor(i));
      } else if (m.needComplete) {
        this.queue.close();
        const senders = this.senders!;
        void senders.then(
          () => this.send({ dataComplete: true }),
          (err) => this.latch.fail(err),
        ).catch(() => undefined);
      } else if (m.done) {
        break;
      } else {
        throw new BlitError({ code: ErrorCodes.BadFrame, message: `unexpected pull message '${m.msg ?? 'empty'}'` });
      }
    }
    await this.latch.race(manifest);
    if (this.senders) await this.latch.race(this.senders);
    if (remover) {
      await this.latch.race(remover.finish());
      // The client ended with `done` (a failed or cancelled pull never gets here).
      await this.latch.race(remover.removeEmptiedDirs(h.removeEmptiedRoot === true));
    }
    const summary = this.summary(options.dryRun);
    this.reportProgress();
    job.succeed(summary);
    this.ctx.log.info('pull finished', { job: job.id, files: summary.filesTransferred, bytes: summary.bytesTransferred, tcp: this.tcp });
    this.ended = true;
    this.call.end();
  }

  /**
   * At the first need: TCP on the streams the client kept (`kept`: token indices; undefined from
   * an older client: every accepted stream still open), gRPC when there are none. An accepted
   * stream the client did not keep is closed: a sender on it would fail the pull (EPIPE) after
   * writing files the client never reads.
   */
  private startSenders(hooks: SenderHooks, signal: AbortSignal, kept: number[] | undefined): void {
    if (this.senders) return;
    const use: net.Socket[] = [];
    for (const [i, s] of this.accepted) {
      if (kept === undefined || kept.includes(i)) use.push(s);
      else s.destroy();
    }
    if (use.length > 0) {
      this.tcp = true;
      this.senders = Promise.all(use.map((s) => sendOnStreamZeroCopy(s, this.queue, hooks, signal))).then((z) => {
        this.zeroCopy = z.some((x) => x);
      });
    } else {
      this.listener?.close();
      this.senders = sendOverGrpc(this.queue, (d) => this.send({ fileData: d }), hooks, signal);
    }
    this.senders.catch((err) => this.latch.fail(err));
  }

  private summary(dryRun: boolean): TransferSummary {
    const durationMs = Date.now() - this.started;
    return {
      filesTransferred: this.done.files,
      bytesTransferred: this.done.bytes,
      dirsCreated: 0,
      symlinksCreated: 0,
      entriesDeleted: 0,
      deletionsSkipped: 0,
      filesUnchanged: 0,
      failures: this.failures,
      durationMs,
      firstByteMs: null,
      dryRun,
      tcpDataPlane: this.tcp,
      zeroCopy: this.zeroCopy,
      bytesPerSecond: durationMs > 0 ? (this.done.bytes * 1000) / durationMs : 0,
    };
  }

  private reportProgress(): void {
    this.job?.progress({ filesDone: this.done.files, bytesDone: this.done.bytes, filesPlanned: this.queue.totalFiles, bytesPlanned: this.queue.totalBytes, scanComplete: true });
  }

  private async failed(err: unknown): Promise<void> {
    const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: String((err as Error)?.message ?? err), cause: err });
    this.latch.fail(be);
    this.ctx.log.warn('pull failed', { job: this.job?.id, code: be.code, error: be.message });
    this.job?.fail(be);
    if (this.ended) return;
    this.ended = true;
    try {
      this.call.write({ error: errorToWire(be) });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000); // a client that stopped reading cannot hold us
        this.call.once('finish', () => {
          clearTimeout(t);
          resolve();
        });
        this.call.end();
      });
    } catch {
      // call already closed
    }
  }
}
