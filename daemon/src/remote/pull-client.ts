/**
 * Pull, client side: this process is the destination. The daemon streams its manifest; this side
 * diffs it against the local tree (the same Destination the daemon uses for push), asks for what
 * it needs, writes the data atomically, and performs mirror deletions locally.
 *
 * rsync path rules, as for local transfers: `HOST:/MOD/DIR/` = its contents into DST; `HOST:/MOD/DIR`
 * lands as DST/DIR (the module root `HOST:/MOD` is its contents); a file lands AS DST, or inside
 * DST when DST is a directory or ends in '/'.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type PullClientMessage, type PullServerMessage__Output } from '@blit/proto';
import { BlitError, ErrorCodes, fromErrno, notADirectory } from '../engine/errors';
import { defaultMetaOptions } from '../engine/metadata';
import { filesFromList } from '../engine/filter';
import { displayPath } from '../engine/paths';
import { skippedWarning } from '../engine/walk';
import type { EventSink, Failure, TransferSummary } from '../engine/types';
import { openForTransfer } from './grpc-client';
import { formatRemote, type RemoteEndpoint } from './endpoint';
import { errorFromWire, failureFromWire, optionsToWire, skippedFromWire } from './convert';
import { DataReceiver } from './data-receiver';
import { Destination, HASHES_WAITING } from './destination';
import { DurableQueue } from './durable-queue';
import { connectStreams } from './client-data';
import { blitVersion, FatalLatch, messageReader, Throttle, writeMsg } from './call-io';
import type { RemoteTransferOptions } from './client';
import { BigFilesInFlight } from './in-flight';

const NEED_BATCH = 4096;
/** move: committed indices per message. */
const COMMITTED_BATCH = 1024;

export async function runPull(src: RemoteEndpoint, dstArg: string, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary> {
  const started = Date.now();
  const filesFrom = filesFromList(options.filter);
  const remoteFailures: Failure[] = [];
  const needs: number[] = [];
  const planned = { files: 0, bytes: 0 };
  const doneCount = { files: 0, bytes: 0 };
  let firstByteMs: number | null = null;
  let scanComplete = false;
  const progress = new Throttle(200, () =>
    onEvent({ type: 'progress', filesDone: doneCount.files, bytesDone: doneCount.bytes, filesPlanned: planned.files, bytesPlanned: planned.bytes, scanComplete }),
  );

  // gRPC-path file failures name the file by its display path: the map from it to the manifest
  // index is built at the first failure (a string + Map entry per needed file cost ~0.3 s of a
  // 100k-file pull's main thread, for a lookup that almost never happens).
  const neededIndex: number[] = [];
  const neededRel: Buffer[] = [];
  let byDisplay: Map<string, number> | undefined;
  const indexOfDisplay = (p: string): number | undefined => {
    if (!byDisplay) {
      byDisplay = new Map();
      for (let i = 0; i < neededIndex.length; i++) byDisplay.set(displayPath(neededRel[i]!), neededIndex[i]!);
      neededIndex.length = 0;
      neededRel.length = 0;
    }
    return byDisplay.get(p);
  };
  // move: manifest indices of files this side committed (or already had identical), and of
  // symlinks in place, for the daemon to remove; sent in batches, the rest just before `done`,
  // with the directories in place (the daemon removes those it emptied, and no other).
  const move = options.mode === 'move' && !options.dryRun;
  // With their paths below the destination root: made durable before the daemon is told (move-remote).
  const committed: Array<{ index: number; rel: Buffer; kind: 'file' | 'link' | 'dir' }> = [];
  let committedQueue: DurableQueue<PullClientMessage> | undefined;
  /** The daemon deletes these sources as soon as it reads them: their copies go to disk first. */
  const sendCommitted = (): void => {
    const batch = committed.splice(0, COMMITTED_BATCH);
    const of = (kind: 'file' | 'link' | 'dir'): Array<{ index: number; rel: Buffer }> => batch.filter((c) => c.kind === kind);
    const [files, links, dirs] = [of('file'), of('link'), of('dir')];
    // Symlinks and directories in their own fields: an older blitd ignores them (keeps the
    // symlinks; removes every emptied directory, as it did) instead of ending with BadFrame.
    const msg = { committed: { indices: files.map((c) => c.index), symlinks: links.map((c) => c.index), dirs: dirs.map((c) => c.index) } };
    // A directory is a name in its parent, synced as a symlink's is.
    committedQueue?.push(msg, files.map((c) => c.rel), [...links, ...dirs].map((c) => c.rel));
  };
  const noteCommitted = (index: number, rel: Buffer, kind: 'file' | 'link' | 'dir' = 'file'): void => {
    if (!move) return;
    committed.push({ index, rel, kind });
    if (committed.length >= COMMITTED_BATCH) sendCommitted();
  };
  let dest: Destination | undefined;
  /** Built when the daemon said what the source is (rsync rules need to know). */
  const openDestination = (sourceIsDir: boolean): Destination => {
    const where = pullTarget(src, dstArg, sourceIsDir, options.mkpath === true);
    return new Destination({
      rootAbs: Buffer.from(where.rootAbs),
      options,
      filesFrom,
      meta: defaultMetaOptions(),
      reportSkips: options.mode === 'move',
      ...(where.singleFile ? { singleFile: where.singleFile } : {}),
      hooks: {
        item: (action, rel, kind, size) => onEvent({ type: 'item', action, rel, kind, size }),
        need: (index, entry) => {
          rx.expect({ index, entry });
          if (byDisplay) byDisplay.set(displayPath(entry.rel), index);
          else {
            neededIndex.push(index);
            neededRel.push(entry.rel);
          }
          needs.push(index);
          planned.files++;
          planned.bytes += entry.size;
        },
        failure: (f) => onEvent({ type: 'fileError', failure: f }),
        // A full destination ends the pull (the local engine's rule): the catch below aborts every temp.
        fatal: (err) => latch.fail(err),
        // A move reports skips, so the Destination names the file (rel).
        unchanged: (index, rel) => noteCommitted(index, rel!),
        linked: (index, rel) => noteCommitted(index, rel, 'link'),
      },
    });
  };
  // A big file is in flight from its first data (TCP or gRPC: a file over the small-file size
  // opens a sink; small files never come here) until it is committed.
  const flight = new BigFilesInFlight(onEvent);
  const rx = new DataReceiver({
    openSink: (f) => {
      flight.start(f);
      return dest!.openSink(f);
    },
    writeSmall: (f, chunks, done) => dest!.writeSmall(f, chunks, done),
    // Small files of dense need-lists received and written on the data streams' worker threads
    // (as blitd's push receiver does): see ReceiverHooks.streamSmall for the measurements.
    streamSmall: () => dest!.streamSmall(),
    committed: (f) => {
      flight.done(f);
      dest!.fileCommitted(f);
      noteCommitted(f.index, f.entry.rel);
      doneCount.files++;
      progress.tick();
    },
    failed: (f, failure) => {
      flight.failed(f);
      dest!.fileFailed(f, failure);
    },
    bytes: (n) => {
      if (firstByteMs === null) {
        firstByteMs = Date.now() - started;
        onEvent({ type: 'firstByte', elapsedMs: firstByteMs });
      }
      doneCount.bytes += n;
      progress.tick();
    },
    // Data over gRPC (forced, or a dry run: no data) has no stream to hand over: no worker booted
    // ahead for a big file. An automatic fallback (port unreachable) is learnt later; at most 2 wait.
  }, options.forceGrpcData || options.dryRun ? { streamWorkers: false } : {});

  // No Handshake round trip: the header below carries the protocol version (grpc-client.ts).
  const conn = openForTransfer({ host: src.host, port: src.port });
  const call = conn.client.Pull();
  const latch = new FatalLatch();
  latch.watch([options.signal], 'transfer cancelled');
  let heard = false;
  call.on('error', (err) => latch.fail(conn.callError(err, heard)));
  conn.connectFailed.catch((err) => latch.fail(err));
  const send = (msg: PullClientMessage): Promise<void> => latch.race(writeMsg(call, msg));
  const streams: Promise<void>[] = [];
  let decided = false;
  /**
   * The token indices of the streams this side reads, told to the daemon on the first need or
   * need_complete (then undefined): it sends on those only, not on one this side gave up on that
   * it accepted anyway (proto StreamsKept).
   */
  let keptToTell: number[] | undefined;
  const tellKept = (): { streamsKept?: { indices: number[] } } => {
    if (!keptToTell) return {};
    const indices = keptToTell;
    keptToTell = undefined;
    return { streamsKept: { indices } };
  };
  const flushNeeds = async (): Promise<void> => {
    if (!decided) return;
    while (needs.length > 0) await send({ need: { indices: needs.splice(0, NEED_BATCH), ...tellKept() } });
  };

  try {
    await send({
      header: {
        protocolVersion: PROTOCOL_VERSION,
        clientVersion: blitVersion(),
        module: src.module,
        path: Buffer.from(src.path),
        options: optionsToWire(options, options.forceGrpcData, { filesFrom, gitignoreFiles: [] }),
        // As the local move: `SRC/` keeps its emptied root, `SRC` does not.
        removeEmptiedRoot: move && !src.trailingSlash,
      },
    });
    const next = messageReader<PullServerMessage__Output>(call);
    let index = 0;
    let manifestComplete = false;
    for (;;) {
      const m = await latch.race(next());
      if (!m) throw new BlitError({ code: ErrorCodes.DaemonError, message: `${conn.target}: the daemon ended the pull early` });
      heard = true;
      if (m.source) {
        if (dest) throw new BlitError({ code: ErrorCodes.DaemonError, message: 'source described twice' });
        dest = openDestination(m.source.isDir);
        // A failed sync ends the pull, the sources not yet reported (and the rest) kept.
        if (move) committedQueue = new DurableQueue(dest.rootAbs, send, (err) => latch.fail(err));
      } else if (m.negotiation) {
        if (!dest) throw new BlitError({ code: ErrorCodes.DaemonError, message: `${conn.target}: the daemon did not describe the source (older blitd?)` });
        // The daemon accepted the request: only now is the local destination created.
        dest.prepareRoot();
        // Streams are connected (and accepted) before the first need: that is how the daemon
        // knows which data path this client took.
        const kept = options.forceGrpcData ? [] : await latch.race(connectStreams(src.host, m.negotiation, onEvent));
        kept.forEach((k, i) => streams.push(rx.receiveStream(k.socket, i, Buffer.alloc(0)).catch((err) => latch.fail(err))));
        keptToTell = kept.map((k) => k.index);
        decided = true;
        await flushNeeds();
      } else if (m.manifest) {
        // No flush here: a directory's listing may continue in the next batch; add() diffs a
        // listing as soon as an entry of another directory arrives.
        if (!dest) throw new BlitError({ code: ErrorCodes.DaemonError, message: 'manifest before the source description' });
        index = dest.addBatch(m.manifest, index);
        await latch.race(dest.hashesBelow(HASHES_WAITING));
        await flushNeeds();
        progress.tick();
      } else if (m.skipped) {
        // As the local engine (tree-run.ts) and a push: a FIFO, socket or device is named.
        for (const s of skippedFromWire(m.skipped)) onEvent(skippedWarning(s.rel, s.why));
      } else if (m.manifestComplete) {
        if (!decided || !dest) throw new BlitError({ code: ErrorCodes.DaemonError, message: 'manifest completed before the data plane negotiation' });
        manifestComplete = m.manifestComplete.complete && m.manifestComplete.totalEntries === index;
        scanComplete = true;
        for (const wf of m.manifestComplete.scanFailures) {
          const f = failureFromWire(wf);
          remoteFailures.push(f);
          onEvent({ type: 'fileError', failure: f });
        }
        dest.flush();
        await latch.race(dest.hashesBelow(0));
        await flushNeeds();
        await send({ needComplete: { totalFiles: planned.files, totalBytes: planned.bytes, ...tellKept() } });
      } else if (m.fileData) {
        const d = m.fileData;
        await latch.race(rx.grpcData({ index: d.index, offset: d.offset, data: d.data, last: d.last }));
      } else if (m.fileFailure) {
        const f = failureFromWire(m.fileFailure);
        const i = indexOfDisplay(f.path);
        if (i !== undefined) rx.grpcFileError(i, f.code, f.reason);
        else {
          remoteFailures.push(f);
          onEvent({ type: 'fileError', failure: f });
        }
      } else if (m.removalFailure) {
        // move: the daemon removes each committed batch as it arrives, so with more than one
        // batch a removal failure can come before data_complete (it was dropped here).
        const f = failureFromWire(m.removalFailure);
        remoteFailures.push(f);
        onEvent({ type: 'fileError', failure: f });
      } else if (m.dataComplete) {
        break;
      } else if (m.error) {
        throw errorFromWire(m.error, conn.target);
      }
    }
    await latch.race(Promise.all(streams));
    await latch.race(rx.finish());
    if (!dest) throw new BlitError({ code: ErrorCodes.DaemonError, message: 'the daemon never described the source' });
    dest.finalize(manifestComplete);
    if (move) {
      // Known only now: every mkdir settled and the directories' metadata set (finalize).
      for (const d of dest.dirsInPlace()) noteCommitted(d.index, d.rel, 'dir');
      while (committed.length > 0) sendCommitted();
      await latch.race(committedQueue!.drained());
    }
    await send({ done: true });
    call.end();
    // move: the daemon removes the sources before it ends the call, and names each it could not.
    if (move) await readRemovalFailures(next, latch, remoteFailures, onEvent, conn.target);
    progress.flush();
    const summary = dest.summary(started, { tcpDataPlane: rx.tcpUsed, zeroCopy: rx.senderZeroCopy, firstByteMs });
    return { ...summary, failures: [...remoteFailures, ...summary.failures] };
  } catch (err) {
    call.cancel();
    await rx.abortAll(latch.error ?? (err as BlitError));
    throw heard ? (latch.error ?? err) : await conn.explain(latch.error ?? err);
  } finally {
    latch.unwatch();
    conn.close();
    await dest?.close();
  }
}

/** Where a pulled source lands locally (rsync rules; see the top of this file). */
export function pullTarget(src: RemoteEndpoint, dstArg: string, sourceIsDir: boolean, mkpath = false): { rootAbs: string; singleFile?: { as?: Buffer } } {
  const dstGiven = path.resolve(dstArg);
  // --mkpath: a missing parent is no error; the Destination creates the root with its parents
  const mustHaveParent = (p: string): string => (mkpath ? parentIsDirectoryIfAny(p) : requireParent(p));
  let dstSt: fs.Stats | undefined;
  try {
    dstSt = fs.statSync(dstGiven);
  } catch (err) {
    const c = (err as NodeJS.ErrnoException).code;
    if (c !== 'ENOENT' && c !== 'ENOTDIR') throw fromErrno(err, dstArg, 'destination');
  }
  const name = src.path.split('/').pop() ?? '';
  if (sourceIsDir) {
    // Named as DST, as the local engine does (the Destination would name the absolute path).
    if (dstSt && !dstSt.isDirectory()) throw notADirectory('destination exists', dstArg);
    if (src.trailingSlash || name === '') return { rootAbs: mustHaveParent(dstGiven) };
    if (!dstSt) mustHaveParent(dstGiven);
    return { rootAbs: path.join(dstGiven, name) };
  }
  if (src.trailingSlash) throw notADirectory('source ends in /', formatRemote(src));
  // `FILE EXISTING_FILE/` (path.resolve dropped the slash, so dstSt is the file's): refused here,
  // named as typed, where the Destination would fail later naming the absolute path.
  if (dstSt && !dstSt.isDirectory() && dstArg.endsWith('/')) throw notADirectory('destination exists', dstArg);
  if (dstSt?.isDirectory() || dstArg.endsWith('/')) {
    // Lands inside DST; a missing `DST/` is created (its parent must exist), as locally and rsync.
    if (!dstSt) mustHaveParent(dstGiven);
    return { rootAbs: dstGiven, singleFile: {} };
  }
  return { rootAbs: path.dirname(mustHaveParent(dstGiven)), singleFile: { as: Buffer.from(path.basename(dstGiven)) } };
}

/** --mkpath: the parent may be missing (created with the root), but one that exists must be a directory. */
function parentIsDirectoryIfAny(p: string): string {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(path.dirname(p));
  } catch {
    return p; // missing, or below a file: creating the root names the cause (ENOTDIR)
  }
  if (!st.isDirectory()) throw notADirectory('destination parent', path.dirname(p));
  return p;
}

/** As the local engine: the directory a destination is created in must already exist. */
function requireParent(p: string): string {
  const parent = path.dirname(p);
  let st: fs.Stats;
  try {
    st = fs.statSync(parent);
  } catch {
    throw new BlitError({ code: ErrorCodes.InvalidPath, message: 'destination parent directory does not exist', path: parent });
  }
  if (!st.isDirectory()) throw notADirectory('destination parent', parent);
  return p;
}

/** move, after `done`: collect the daemon's removal failures until it ends the call. */
async function readRemovalFailures(
  next: () => Promise<PullServerMessage__Output | undefined>,
  latch: FatalLatch,
  failures: Failure[],
  onEvent: EventSink,
  target: string,
): Promise<void> {
  for (;;) {
    const m = await latch.race(next());
    if (!m) return;
    if (m.removalFailure) {
      const f = failureFromWire(m.removalFailure);
      failures.push(f);
      onEvent({ type: 'fileError', failure: f });
    } else if (m.error) {
      throw errorFromWire(m.error, target);
    }
  }
}
