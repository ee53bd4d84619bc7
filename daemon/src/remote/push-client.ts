/**
 * Push, client side: this process is the source. It walks the local tree (filters applied here),
 * streams the manifest, sends the files the daemon asks for on the TCP data plane (or over the
 * gRPC call when the data port cannot be reached or gRPC data is forced), and returns the daemon's
 * summary merged with what only the source knows (scan failures, read failures, zero-copy).
 */
import * as fs from 'node:fs';
import { PROTOCOL_VERSION, type PushClientMessage, type PushServerMessage__Output } from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';
import { Filter, filesFromList } from '../engine/filter';
import { displayPath, namesContents } from '../engine/paths';
import { FailedDirs } from '../engine/new-dirs';
import { removeEmptiedDirs, stillAsScannedAt } from '../engine/move-finalise';
import { skippedWarning } from '../engine/walk';
import type { EventSink, Failure, TransferSummary } from '../engine/types';
import { openForTransfer } from './grpc-client';
import type { RemoteEndpoint } from './endpoint';
import { errorFromWire, failureFromWire, failureToWire, itemFromWire, optionsToWire, summaryFromWire } from './convert';
import { ManifestSource } from './source';
import { SendQueue } from './data-sender';
import { blitVersion, FatalLatch, isStreamBreak, messageReader, writeMsg } from './call-io';
import { startDataSenders, type DataPathResult } from './client-data';
import type { RemoteTransferOptions } from './client';
import { remoteTargetPath } from './paths-semantics';
import { BigFilesInFlight } from './in-flight';

export async function runPush(srcArg: string, dst: RemoteEndpoint, options: RemoteTransferOptions, onEvent: EventSink): Promise<TransferSummary> {
  const started = Date.now();
  const srcAbs = Buffer.from(srcArg);
  const filter = Filter.fromSpec(options.filter);
  const ownFailures: Failure[] = [];
  const source = new ManifestSource({
    abs: absolute(srcAbs),
    shown: srcArg,
    filter,
    checksum: options.compare.mode === 'checksum',
    ...(options.signal ? { signal: options.signal } : {}),
    onError: (f) => {
      ownFailures.push(f);
      onEvent({ type: 'fileError', failure: f });
    },
    // As the local engine (tree-run.ts): a FIFO, socket or device is named, not silently left out.
    onSkipped: (rel, why) => onEvent(skippedWarning(rel, why)),
  });
  const destPath = remoteTargetPath(srcArg, dst.path, source.isDir);
  // No Handshake round trip: the header below carries the protocol version (grpc-client.ts).
  const conn = openForTransfer({ host: dst.host, port: dst.port });
  const call = conn.client.Push();
  const latch = new FatalLatch();
  latch.watch([options.signal], 'transfer cancelled');
  let heard = false;
  call.on('error', (err) => latch.fail(conn.callError(err, heard)));
  conn.connectFailed.catch((err) => latch.fail(err));
  const send = (msg: PushClientMessage): Promise<void> => latch.race(writeMsg(call, msg));
  // A big file is in flight from when a sender takes it (TCP stream, its sendfile worker, or the
  // gRPC path) until all of it was handed to the transport.
  const flight = new BigFilesInFlight(onEvent);
  const queue = new SendQueue((f) => {
    flight.start(f);
    return true;
  });
  const sendFailures = new Map<string, Failure>();
  let firstByteMs: number | null = null;
  let dataPath: Promise<DataPathResult> | undefined;
  const moveRemovals: Promise<void>[] = [];
  const move = options.mode === 'move' && !options.dryRun;
  /** move: this blitd syncs a symlink before its item (an older one does not: its symlinks stay). */
  let removeLinks = false;

  try {
    await send({
      header: {
        protocolVersion: PROTOCOL_VERSION,
        clientVersion: blitVersion(),
        module: dst.module,
        path: Buffer.from(destPath),
        singleFile: !source.isDir,
        intoDirectory: dst.trailingSlash,
        namedSource: destPath !== dst.path,
        options: optionsToWire(options, options.forceGrpcData, { filesFrom: filesFromList(options.filter), gitignoreFiles: [] }),
      },
    });

    // Manifest, concurrently with reading the daemon's answers.
    const manifest = (async () => {
      for await (const batch of source.batches()) await send({ manifest: { packed: batch } });
      await send({
        manifestComplete: { complete: source.complete, totalEntries: source.count, scanFailures: source.failures.map(failureToWire) },
      });
    })();
    manifest.catch((err) => latch.fail(err));

    const next = messageReader<PushServerMessage__Output>(call);
    let summary: TransferSummary | undefined;
    while (!summary) {
      const m = await latch.race(next());
      if (!m) throw latch.pendingBreak ?? new BlitError({ code: ErrorCodes.DaemonError, message: `${conn.target}: the daemon ended the push without a summary` });
      heard = true;
      if (m.negotiation) {
        if (dataPath) throw new BlitError({ code: ErrorCodes.DaemonError, message: 'negotiation sent twice' });
        removeLinks = m.negotiation.moveSymlinksDurable === true;
        dataPath = startDataSenders({
          host: dst.host,
          negotiation: m.negotiation,
          forceGrpcData: options.forceGrpcData,
          queue,
          signal: options.signal,
          onEvent,
          grpcSend: (d) => send({ fileData: d }),
          hooks: {
            sent: (f) => flight.done(f),
            failed: (f, failure) => {
              flight.failed(f);
              sendFailures.set(failure.path, failure);
              onEvent({ type: 'fileError', failure });
            },
            bytes: () => {
              if (firstByteMs === null) {
                firstByteMs = Date.now() - started;
                onEvent({ type: 'firstByte', elapsedMs: firstByteMs });
              }
            },
          },
        });
        dataPath.then(
          () => send({ dataComplete: true }),
          // A stream blitd closed: its status (NoSpace naming the file) says why, not our EPIPE.
          (err) => (isStreamBreak(err) ? latch.failUnlessExplained(err) : latch.fail(err)),
        ).catch((err) => latch.fail(err));
      } else if (m.need) {
        for (const i of m.need.indices) queue.push(source.fileFor(i));
      } else if (m.needComplete) {
        queue.close();
      } else if (m.item || m.items) {
        for (const wi of m.item ? [m.item] : m.items!.items) {
          const it = itemFromWire(wi);
          onEvent({ type: 'item', ...it });
          // Never in a dry run: the daemon itemizes what it would write, nothing is in place.
          if (move && (it.kind === 'file' || (it.kind === 'symlink' && removeLinks)) && it.action !== 'delete') moveRemovals.push(removeSource(source, it.rel, onEvent, ownFailures));
        }
      } else if (m.progress) {
        onEvent({ type: 'progress', ...m.progress });
      } else if (m.fileFailure) {
        const f = failureFromWire(m.fileFailure);
        // "sender: ..." is the daemon repeating a FILE_ERROR this process wrote (data-receiver.ts
        // senderError); its own report (hooks.failed) may come after it: said once, by the source.
        if (!sendFailures.has(f.path) && !f.reason.startsWith('sender: ')) onEvent({ type: 'fileError', failure: f });
      } else if (m.summary) {
        summary = summaryFromWire(m.summary);
      } else if (m.error) {
        throw errorFromWire(m.error, conn.target);
      }
    }
    await manifest;
    const dp = dataPath ? await dataPath : { tcp: false, zeroCopy: false };
    await Promise.all(moveRemovals);
    // As the local move (tree-run.ts): the source directories now empty go, deepest first, the
    // root of `SRC/` kept; one still holding something (excluded, failed, changed) stays, and so
    // does one the daemon failed to create (and all below it): empty, it would be lost.
    if (move && source.isDir) {
      const failed = FailedDirs.ofFailurePaths(summary.failures.map((f) => f.path));
      const dirs = source.dirRels().filter((rel) => !failed.covers(rel));
      await removeEmptiedDirs(dirs, namesContents(srcArg), (rel) => source.rmdir(rel));
    }
    call.end();
    // The daemon reports failures it saw; the source adds its own (and the exact reason when the
    // daemon only knows that a file stopped short).
    const failures = [...ownFailures, ...summary.failures.filter((f) => !sendFailures.has(f.path)), ...sendFailures.values()];
    return { ...summary, failures, durationMs: Date.now() - started, firstByteMs, tcpDataPlane: dp.tcp, zeroCopy: dp.zeroCopy };
  } catch (err) {
    queue.close();
    call.cancel();
    throw heard ? (latch.error ?? err) : await conn.explain(latch.error ?? err);
  } finally {
    latch.unwatch();
    conn.close();
  }
}

/** Absolute source path. `SRC/` becomes `SRC/.` so a symlink to a directory is followed there. */
function absolute(p: Buffer): Buffer {
  const abs = p[0] === 0x2f ? p : Buffer.concat([Buffer.from(process.cwd()), Buffer.from('/'), p]);
  const trailing = abs.length > 1 && abs[abs.length - 1] === 0x2f;
  const stripped = stripSlash(abs);
  return trailing && stripped.length > 1 ? Buffer.concat([stripped, Buffer.from('/.')]) : stripped;
}

function stripSlash(p: Buffer): Buffer {
  let end = p.length;
  while (end > 1 && p[end - 1] === 0x2f) end--;
  return p.subarray(0, end);
}

/**
 * move: the daemon committed (or already had) this file or symlink; remove the source if it is
 * unchanged (a file: size and ns mtime as sent; a symlink: the same target).
 */
async function removeSource(source: ManifestSource, rel: Buffer, onEvent: EventSink, failures: Failure[]): Promise<void> {
  // A single file may land under another name (rsync `FILE DST`): it is the only entry.
  const e = source.isDir ? source.entryByRel(rel) : source.entryAt(0);
  if (!e || (e.kind !== 'file' && e.kind !== 'symlink')) return;
  const abs = Buffer.concat([source.rootAbs, Buffer.from('/'), e.rel]);
  try {
    if (!(await stillAsScannedAt(e, abs))) {
      throw new BlitError({ code: ErrorCodes.SourceChanged, message: 'changed after it was sent; kept', path: displayPath(e.rel) });
    }
    await fs.promises.unlink(abs);
  } catch (err) {
    const be = err instanceof BlitError ? err : new BlitError({ code: ErrorCodes.IoError, message: `cannot remove source: ${(err as Error).message}`, path: displayPath(e.rel) });
    const f = { path: displayPath(e.rel), code: be.code, reason: be.message };
    failures.push(f);
    onEvent({ type: 'fileError', failure: f });
  }
}
