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
 * fromErrno words it with this message). The fd is the caller's to close; `size` is from the
 * fstat that checked its kind.
 */
export function openRegularNoFollow(p: string | Buffer): OpenRegular {
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  let size = -1;
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile()) size = st.size;
  } finally {
    if (size < 0) fs.closeSync(fd);
  }
  if (size < 0) throw new Error('not a regular file');
  return { fd, size };
}

export interface OpenRegular {
  fd: number;
  size: number;
}
