/**
 * The sender's rule for every file it reads (data-sender.ts on the main thread, sendfile-worker.ts
 * in its thread): the open file must still have the size and ns mtime it was listed with, before
 * and after its bytes are read, or it is reported as changed and never sent torn.
 */
import * as fs from 'node:fs';
import { ErrorCodes, fromErrno } from '../engine/errors';

/** The source file no longer matches its listing (size, ns mtime) or ended early. */
export class SourceChanged extends Error {}

const CHANGED = 'the file changed while it was being sent';

/**
 * Why a file could not be sent, the same on every sender path (main thread, sendfile worker,
 * native batch reader): SourceChanged, or the errno's code and words (ENOENT: SourceNotFound
 * "cannot read: no such file or directory (ENOENT)"), never the path it was opened by (on a
 * daemon that is /proc/self/fd/N/name or its own absolute path; the failure names the entry).
 */
export function readFailure(err: unknown): { code: string; reason: string } {
  if (err instanceof SourceChanged) return { code: ErrorCodes.SourceChanged, reason: CHANGED };
  const be = fromErrno(err, '', 'cannot read');
  return { code: be.code, reason: be.message };
}

/** Throws SourceChanged unless the open file still has the listed size and ns mtime. */
export function checkUnchanged(fd: number, size: number, mtimeNs: bigint): void {
  const st = fs.fstatSync(fd, { bigint: true });
  if (Number(st.size) !== size || st.mtimeNs !== mtimeNs) throw new SourceChanged();
}

/** Reads a whole file the caller has already checked, and checks it again after the read. */
export function readAllChecked(fd: number, size: number, mtimeNs: bigint): Buffer {
  const body = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const k = fs.readSync(fd, body, got, size - got, got);
    if (k === 0) throw new SourceChanged();
    got += k;
  }
  checkUnchanged(fd, size, mtimeNs);
  return body;
}
