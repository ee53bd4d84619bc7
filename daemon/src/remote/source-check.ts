/**
 * The sender's rule for every file it reads (data-sender.ts on the main thread, sendfile-worker.ts
 * in its thread): the open file must still have the size and ns mtime it was listed with, before
 * and after its bytes are read, or it is reported as changed and never sent torn.
 */
import * as fs from 'node:fs';

/** The source file no longer matches its listing (size, ns mtime) or ended early. */
export class SourceChanged extends Error {}

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
