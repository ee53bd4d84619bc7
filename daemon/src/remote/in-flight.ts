/**
 * The files a remote push or pull names while they are in flight (fileStart, then fileDone once
 * sent or committed), by the local engine's rule (engine/copy-dispatch.ts): files of
 * BIG_FILE_BYTES or more only. A small file costs one size comparison here, no event and no object.
 * A failed file's flight ends without fileDone, as locally: its fileError names it.
 */
import { BIG_FILE_BYTES } from '../engine/planner';
import type { EventSink } from '../engine/types';

interface Named {
  index: number;
  entry: { rel: Buffer; size: number };
}

export class BigFilesInFlight {
  /** Manifest indices of the big files started: a file a sender put back and took again is named once. */
  private readonly open = new Set<number>();

  constructor(private readonly onEvent: EventSink) {}

  start(f: Named): void {
    if (f.entry.size < BIG_FILE_BYTES || this.open.has(f.index)) return;
    this.open.add(f.index);
    this.onEvent({ type: 'fileStart', rel: f.entry.rel, size: f.entry.size });
  }

  done(f: Named): void {
    if (f.entry.size < BIG_FILE_BYTES || !this.open.delete(f.index)) return;
    this.onEvent({ type: 'fileDone', rel: f.entry.rel, size: f.entry.size });
  }

  failed(f: Named): void {
    if (f.entry.size >= BIG_FILE_BYTES) this.open.delete(f.index);
  }
}
