/**
 * The one way blit opens a file whose kind it does not control to read it on an event loop's
 * thread: a .gitignore (walk, pull destination, the extension's save filter), a file to hash for
 * --checksum beneath a module. Only node:fs: the extension bundles it.
 */
import * as fs from 'node:fs';

/**
 * Opens `p` read-only if it is a regular file: never through a symlink (O_NOFOLLOW: ELOOP, kept
 * as the errno so callers can name it), never blocking on a FIFO or a device (O_NONBLOCK: open
 * returns at once), then anything but a regular file refused (`not a regular file`, no errno:
 * fromErrno words it with this message). The fd is the caller's to close.
 */
export function openRegularNoFollow(p: string | Buffer): number {
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  let regular = false;
  try {
    regular = fs.fstatSync(fd).isFile();
  } finally {
    if (!regular) fs.closeSync(fd);
  }
  if (!regular) throw new Error('not a regular file');
  return fd;
}
