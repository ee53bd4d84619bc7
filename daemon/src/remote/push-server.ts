/**
 * Push, daemon side: the client is the source, this daemon the destination.
 *
 *   C: header                       S: negotiation (tcp_port 0 = use gRPC data)
 *   C: manifest batches ...         S: need batches (as soon as each listing is diffed), items
 *   C: manifest_complete            S: need_complete
 *   C: data (TCP frames or file_data), then data_complete
 *                                   S: summary, end of call
 *
 * Writes stay inside ctx.resolvePath(module, path, {forWrite: true}); every temp file of an
 * interrupted push (client gone, bad frame, cancel, shutdown) is removed, never renamed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, type PushClientMessage__Output, type PushServerMessage } from '@blit/proto';
import type * as pb from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { defaultMetaOptions } from '../engine/metadata';
import { displayPath } from '../engine/paths';
import type { Entry } from '../engine/types';
import type { Job, ServerContext } from '../daemon/context';
import { errorToWire, failureToWire, itemToWire, optionsFromWire, summaryToWire } from './convert';
import { DataListener, DEFAULT_TOKEN_TTL_MS, type PinnedDataPort } from './dataplane';
import { DataReceiver } from './data-receiver';
import { Destination, HASHES_WAITING, requireDstParent } from './destination';
import { DirAnchor } from '../daemon/beneath';
import { DurableQueue } from './durable-queue';
import { FatalLatch, messageReader, readCallHeader, Throttle, writeMsg } from './call-io';

export type PushCall = grpc.ServerDuplexStream<PushClientMessage__Output, PushServerMessage>;

/** Tunables of the data plane a daemon serves (blitd --data-token-ttl-ms, --data-streams, --data-port). */
export interface DataPlaneSettings {
  tokenTtlMs: number;
  streams: number;
  /** --data-port: every transfer's streams arrive on this one listener (absent: ephemeral ports). */
  pinned?: PinnedDataPort;
}

export function defaultDataPlaneSettings(): DataPlaneSettings {
  return { tokenTtlMs: DEFAULT_TOKEN_TTL_MS, streams: Math.min(4, Math.max(2, os.availableParallelism())) };
}

/** Need indices per NeedBatch message. */
const NEED_BATCH = 4096;
/** Item events per ItemBatch message. */
const ITEM_BATCH = 512;

/**
 * rsync rules for a single-file source: it lands AS the destination path, unless that path is the
 * module root, an existing directory, or was written with a trailing '/': then inside it.
 * "An existing directory" is an lstat through the path's parent opened beneath the module root
 * (DirAnchor.rootEntry): a parent swapped for a symlink since resolvePath is PathEscape, never a
 * look at what is outside; the name itself is not followed (resolvePath returned its real path,
 * so a symlink there now is a swap too, and the file then replaces it inside the module).
 */
function singleFileTarget(abs: Buffer, moduleRoot: boolean, singleFile: boolean, intoDirectory: boolean, anchorAt: () => DirAnchor, shown: string): { rootAbs: Buffer; singleFile?: { as?: Buffer } } {
  if (!singleFile) return { rootAbs: abs };
  let isDir = moduleRoot || intoDirectory;
  if (!isDir) {
    const a = anchorAt();
    try {
      isDir = fs.lstatSync(a.rootEntry(shown), { throwIfNoEntry: false })?.isDirectory() ?? false;
    } catch (err) {
      if (err instanceof BlitError) throw err;
      isDir = false; // a missing parent: requireDstParent named it already
    } finally {
      a.close();
    }
  }
  if (isDir) return { rootAbs: abs, singleFile: {} };
  const slash = abs.lastIndexOf(0x2f);
  return { rootAbs: slash <= 0 ? Buffer.from('/') : abs.subarray(0, slash), singleFile: { as: abs.subarray(slash + 1) } };
}

export function handlePush(call: PushCall, ctx: ServerContext, settings: DataPlaneSettings = defaultDataPlaneSettings()): void {
  void new PushSession(call, ctx, settings).run();
}

class PushSession {
  private readonly latch = new FatalLatch();
  private readonly started = Date.now();
  private job: Job | undefined;
  private listener: DataListener | undefined;
  private receiver: DataReceiver | undefined;
  private dest: Destination | undefined;
  private readonly streams: Promise<void>[] = [];
  private needs: number[] = [];
  private planned = { files: 0, bytes: 0 };
  private done = { files: 0, bytes: 0 };
  private scanComplete = false;
  private ended = false;
  private readonly progress = new Throttle(250, () => this.sendProgress());
  private items: pb.ItemEvent[] = [];
  /**
   * move: item batches go out through this queue, each once the files of it the client will remove
   * the sources of (committed, or already identical: moveRels; symlinks created or already the
   * same: moveLinks) are on disk (move-remote).
   */
  private moveQueue: DurableQueue<PushServerMessage> | undefined;
  private moveRels: Buffer[] = [];
  private moveLinks: Buffer[] = [];
  private readonly itemThrottle = new Throttle(100, () => this.flushItems());

  constructor(private readonly call: PushCall, private readonly ctx: ServerContext, private readonly settings: DataPlaneSettings) {}

  async run(): Promise<void> {
    this.call.on('cancelled', () => this.latch.fail(new BlitError({ code: ErrorCodes.Cancelled, message: 'the client went away' })));
    this.call.on('error', () => this.latch.fail(new BlitError({ code: ErrorCodes.Cancelled, message: 'the client connection broke' })));
    try {
      await this.serve();
    } catch (err) {
      await this.failed(err);
    } finally {
      this.latch.unwatch();
      this.listener?.close();
      await this.dest?.close();
    }
  }

  private send(msg: PushServerMessage): Promise<void> {
    if (this.ended) return Promise.resolve();
    return this.latch.race(writeMsg(this.call, msg));
  }

  private async serve(): Promise<void> {
    const next = messageReader(this.call);
    const h = await readCallHeader('push', next, this.latch, PROTOCOL_VERSION);
    const wire = optionsFromWire(h.options);
    const options = wire.options;
    const resolved = await this.ctx.resolvePath(h.module, Buffer.from(h.path), { forWrite: true });
    const where = `${h.module}/${displayPath(Buffer.from(h.path))}`;
    const job = this.ctx.jobs.create('served-push', `push to ${where}`);
    this.job = job;
    this.latch.watch([job.signal], 'cancelled on the daemon');
    this.latch.watch([this.ctx.shutdown], 'the daemon is shutting down');
    this.ctx.log.info('push started', { job: job.id, module: h.module, path: displayPath(Buffer.from(h.path)), mode: options.mode, dryRun: options.dryRun });

    // rsync without --mkpath: DST (and a named source directory inside it) may be created, the
    // directory DST is created in must exist; the local engine and pull apply the same rule. With
    // it, Destination.prepareRoot creates every missing component (DirAnchor.ensureRoot: each
    // mkdir beneath the module root, no symlink followed; resolvePath refused one leading out);
    // a DST that is a file is refused in the same words either way.
    requireDstParent(resolved.abs, Buffer.from(h.path), h.namedSource ? 2 : 1, h.module, options.mkpath === true);
    const target = singleFileTarget(resolved.abs, h.path.length === 0, h.singleFile, h.intoDirectory, () => new DirAnchor(resolved.module.path, resolved.abs, this.ctx.log), where);
    const dest = new Destination({
      rootAbs: target.rootAbs,
      ...(target.singleFile ? { singleFile: target.singleFile } : {}),
      options,
      filesFrom: wire.filesFrom,
      meta: defaultMetaOptions(),
      reportSkips: options.mode === 'move',
      shownRoot: where,
      anchor: new DirAnchor(resolved.module.path, target.rootAbs, this.ctx.log),
      hooks: {
        item: (action, rel, kind, size) => {
          job.item(action, rel, kind, size);
          this.items.push(itemToWire(action, rel, kind, size));
          if (this.moveQueue && kind === 'file' && action !== 'delete') this.moveRels.push(rel);
          if (this.moveQueue && kind === 'symlink' && action !== 'delete') this.moveLinks.push(rel);
          if (this.items.length >= ITEM_BATCH) this.flushItems();
          else this.itemThrottle.tick();
        },
        need: (index, entry) => this.need(index, entry),
        failure: (f) => {
          job.fileFailed(f);
          void this.send({ fileFailure: failureToWire(f) }).catch(() => undefined);
        },
        // A full module ends the push (the local engine's rule): failed() aborts every temp.
        fatal: (err) => this.latch.fail(err),
      },
    });
    this.dest = dest;
    if (options.mode === 'move' && !options.dryRun) {
      // A failed sync ends the push: no item of that batch (or a later one) goes out.
      this.moveQueue = new DurableQueue(target.rootAbs, (msg) => this.send(msg), (err) => this.latch.fail(err));
    }
    dest.prepareRoot();
    const tcp = !options.dryRun && !wire.forceGrpcData && !this.ctx.forceGrpcData;
    const receiver = new DataReceiver({
      openSink: (f) => dest.openSink(f),
      writeSmall: (f, chunks, done) => dest.writeSmall(f, chunks, done),
      // Small files received and written on the data streams' worker threads (the pull client
      // does the same: see ReceiverHooks.streamSmall for the measurements).
      streamSmall: () => dest.streamSmall(),
      committed: (f) => {
        dest.fileCommitted(f);
        this.done.files++;
        this.progress.tick();
      },
      failed: (f, failure) => dest.fileFailed(f, failure),
      bytes: (n) => {
        this.done.bytes += n;
        this.progress.tick();
      },
      // Data over gRPC has no stream to hand over: no worker booted ahead for a big file.
    }, tcp ? {} : { streamWorkers: false });
    this.receiver = receiver;

    if (tcp) {
      this.listener = await DataListener.open({
        host: this.ctx.bindHost,
        streams: this.settings.streams,
        tokenTtlMs: this.settings.tokenTtlMs,
        ...(this.settings.pinned ? { pinned: this.settings.pinned } : {}),
        log: this.ctx.log,
        onStream: (socket, i, rest) => {
          this.streams.push(receiver.receiveStream(socket, i, rest).catch((err) => this.latch.fail(err)));
        },
      });
    }
    const l = this.listener;
    await this.send({
      negotiation: {
        ...(l
          ? { tcpPort: l.port, token: l.tokens, streams: this.settings.streams, tokenTtlMs: l.tokenTtlMs }
          : { tcpPort: 0, token: Buffer.alloc(0), streams: 0, tokenTtlMs: 0 }),
        // A move's symlink items wait for the sync as its files' do (moveLinks): the client
        // removes a source symlink only from a blitd that says so.
        moveSymlinksDurable: true,
      },
    });

    let index = 0;
    let manifestComplete = false;
    let manifestDone = false;
    for (;;) {
      const m = await this.latch.race(next());
      if (!m) throw new BlitError({ code: ErrorCodes.Cancelled, message: 'the client ended the push before sending all data' });
      if (m.manifest) {
        if (manifestDone) throw new BlitError({ code: ErrorCodes.BadFrame, message: 'manifest batch after manifest_complete' });
        // No flush here: a directory's listing may continue in the next batch; add() diffs a
        // listing as soon as an entry of another directory arrives.
        index = dest.addBatch(m.manifest, index);
        await this.latch.race(dest.hashesBelow(HASHES_WAITING));
        await this.flushNeeds();
      } else if (m.manifestComplete) {
        if (manifestDone) throw new BlitError({ code: ErrorCodes.BadFrame, message: 'manifest_complete sent twice' });
        manifestDone = true;
        manifestComplete = m.manifestComplete.complete && m.manifestComplete.totalEntries === index;
        this.scanComplete = true;
        dest.flush();
        await this.latch.race(dest.hashesBelow(0));
        await this.flushNeeds();
        await this.send({ needComplete: { totalFiles: this.planned.files, totalBytes: this.planned.bytes } });
      } else if (m.fileData) {
        const d = m.fileData;
        await this.latch.race(receiver.grpcData({ index: d.index, offset: d.offset, data: d.data, last: d.last }));
      } else if (m.dataComplete) {
        if (!manifestDone) throw new BlitError({ code: ErrorCodes.BadFrame, message: 'data_complete before manifest_complete' });
        break;
      } else {
        throw new BlitError({ code: ErrorCodes.BadFrame, message: `unexpected push message '${m.msg ?? 'empty'}'` });
      }
    }

    await this.latch.race(Promise.all(this.streams));
    await this.latch.race(receiver.finish());
    this.listener?.close();
    dest.finalize(manifestComplete);
    const summary = dest.summary(this.started, { tcpDataPlane: receiver.tcpUsed, zeroCopy: receiver.senderZeroCopy });
    this.progress.flush();
    this.flushItems();
    if (this.moveQueue) await this.latch.race(this.moveQueue.drained());
    await this.send({ summary: summaryToWire(summary) });
    job.succeed(summary);
    this.ctx.log.info('push finished', { job: job.id, files: summary.filesTransferred, bytes: summary.bytesTransferred, failures: summary.failures.length, tcp: summary.tcpDataPlane });
    this.ended = true;
    this.call.end();
  }

  /** Item events go out in batches: at ITEM_BATCH, at most ~every 100 ms, and before the summary. */
  private flushItems(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    if (this.moveQueue) {
      // move: the client removes a source when it reads its item; its copy must be on disk first.
      this.moveQueue.push({ items: { items } }, this.moveRels, this.moveLinks);
      this.moveRels = [];
      this.moveLinks = [];
      return;
    }
    void this.send({ items: { items } }).catch(() => undefined);
  }

  private need(index: number, entry: Entry): void {
    this.receiver!.expect({ index, entry });
    this.needs.push(index);
    this.planned.files++;
    this.planned.bytes += entry.size;
  }

  private async flushNeeds(): Promise<void> {
    while (this.needs.length > 0) {
      const batch = this.needs.splice(0, NEED_BATCH);
      await this.send({ need: { indices: batch } });
    }
    this.progress.tick();
  }

  private sendProgress(): void {
    const p = { filesDone: this.done.files, bytesDone: this.done.bytes, filesPlanned: this.planned.files, bytesPlanned: this.planned.bytes, scanComplete: this.scanComplete };
    this.job?.progress(p);
    void this.send({ progress: p }).catch(() => undefined);
  }

  private async failed(err: unknown): Promise<void> {
    const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.Internal, message: String((err as Error)?.message ?? err), cause: err });
    this.latch.fail(be);
    this.listener?.close();
    await this.receiver?.abortAll(be);
    this.ctx.log.warn('push failed', { job: this.job?.id, code: be.code, error: be.message });
    this.job?.fail(be);
    if (this.ended) return;
    this.ended = true;
    try {
      // Best effort: the client may already be gone.
      this.call.write({ error: errorToWire(be) });
      this.call.end();
    } catch {
      // call already closed
    }
  }
}
