/**
 * blit_open_beneath (native/csrc/blit_beneath.c) bound on its own: openat2 with RESOLVE bits, the
 * containment primitive blitd opens module paths with (daemon/src/daemon/beneath.ts).
 */
import * as fs from 'node:fs';
import type * as FfiRs from 'ffi-rs';
import { bindRaw } from './linux';
import { NativeError } from './errors';
import { LIBRARY, loadNativeBatch, nativeBatchLoadError } from './batch';

/** openat2 `resolve` bits (linux/openat2.h). */
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
/** openat's "relative to the working directory" dirfd. */
export const AT_FDCWD = -100;

/**
 * blit_open_beneath (blit_beneath.c): openat2(dirfd, path, O_PATH|O_DIRECTORY|O_CLOEXEC, resolve).
 * Returns the fd or -errno (-ENOSYS: kernel before 5.6; -EPERM: a seccomp filter). Bound on its
 * own, so a library built before it existed still serves the batch calls.
 */
export type OpenBeneath = (dirfd: number, path: Buffer, resolve: number) => number;

let openBeneathCached: OpenBeneath | null | undefined;

/** The openat2 entry point, or undefined with the reason (no library, symbol missing). */
export function loadOpenBeneath(): { open?: OpenBeneath; error?: Error } {
  if (openBeneathCached) return { open: openBeneathCached };
  if (!loadNativeBatch()) return { error: nativeBatchLoadError() ?? new Error('native library not loaded') };
  try {
    const ffi = require('ffi-rs') as typeof FfiRs;
    const { I32, U8Array } = ffi.DataType;
    const call = bindRaw(ffi, 'blit_open_beneath', I32, [I32, U8Array, I32], false, LIBRARY) as (args: unknown[]) => number;
    const ZERO = Buffer.alloc(1);
    const open: OpenBeneath = (dirfd, p, resolve) => call([dirfd, Buffer.concat([p, ZERO]), resolve]);
    // Probe once: ENOSYS (old kernel) or EPERM (seccomp) means no openat2 for this process.
    const fd = open(AT_FDCWD, Buffer.from('/'), 0);
    if (fd < 0) throw new NativeError(-fd, 'openat2', '/');
    fs.closeSync(fd);
    openBeneathCached = open;
    return { open };
  } catch (err) {
    openBeneathCached = null;
    return { error: err instanceof Error ? err : new Error(String(err)) };
  }
}
