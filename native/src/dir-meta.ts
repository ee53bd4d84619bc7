/**
 * Directory metadata in one foreign call per batch (native/csrc/blit_beneath.c): the local engine's
 * and blitd's directory passes (chown, chmod, utimensat), by path or beneath a module fd.
 */
import { NativeError } from './errors';
import { OPT_PRESERVE_OWNER, optionalEntry, pad8 } from './batch';

/** One directory for blit_dir_meta_batch: its path and the metadata it gets. */
export interface DirMetaItem {
  path: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
}

/**
 * blit_dir_meta_batch (blit_beneath.c): per directory chown (when preserveOwner), chmod, utimensat
 * (atime now, mtime to the ns), the calls of the engine's applyDirMeta, in one foreign call.
 * Returns the directories that failed, each with a NativeError naming the syscall and the path
 * (a failed step ends that directory; the others still run).
 */
export type DirMetaBatch = (items: readonly DirMetaItem[], preserveOwner: boolean) => Array<{ at: number; error: NativeError }>;

const DIR_META_HEADER = 32;
const DIR_META_STEPS = ['', 'chown', 'chmod', 'utimensat', 'path', 'openat2'] as const;

/**
 * The records of blit_dir_meta_batch / blit_dir_meta_beneath (u32 rec_len, path_len, mode, uid,
 * gid, reserved; i64 mtime_ns; path, padding to 8) and their answers (i32 errno, step each), in
 * buffers kept per binding.
 */
function dirMetaRecords(): { encode: (items: readonly DirMetaItem[]) => { input: Buffer; len: number; output: Buffer }; failures: (output: Buffer, items: readonly DirMetaItem[]) => Array<{ at: number; error: NativeError }> } {
  let input = Buffer.alloc(64 * 1024);
  let output = Buffer.alloc(8 * 1024);
  return {
    encode(items) {
      const n = items.length;
      let bytes = 0;
      for (const d of items) bytes += pad8(DIR_META_HEADER + d.path.length);
      if (input.length < bytes) input = Buffer.alloc(Math.max(bytes, input.length * 2));
      if (output.length < n * 8) output = Buffer.alloc(n * 8);
      let off = 0;
      for (const d of items) {
        const len = pad8(DIR_META_HEADER + d.path.length);
        input.writeUInt32LE(len, off);
        input.writeUInt32LE(d.path.length, off + 4);
        input.writeUInt32LE(d.mode >>> 0, off + 8);
        input.writeUInt32LE(d.uid >>> 0, off + 12);
        input.writeUInt32LE(d.gid >>> 0, off + 16);
        input.writeUInt32LE(0, off + 20);
        input.writeBigInt64LE(d.mtimeNs, off + 24);
        d.path.copy(input, off + DIR_META_HEADER);
        off += len;
      }
      return { input, len: off, output };
    },
    failures(out, items) {
      const n = items.length;
      const failures: Array<{ at: number; error: NativeError }> = [];
      const i32 = new Int32Array(out.buffer, out.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const errno = i32[2 * i]!;
        if (errno !== 0) failures.push({ at: i, error: new NativeError(errno, DIR_META_STEPS[i32[2 * i + 1]!] ?? '', items[i]!.path) });
      }
      return failures;
    },
  };
}

/** The directory-metadata batch, or undefined (no library, BLIT_NATIVE_BATCH=0, symbol missing). */
export const loadDirMetaBatch: () => DirMetaBatch | undefined = optionalEntry(
  (bind, { I32, U8Array }): DirMetaBatch => {
    const call = bind('blit_dir_meta_batch', [U8Array, I32, I32, U8Array, I32]);
    const rec = dirMetaRecords();
    return (items, preserveOwner) => {
      if (items.length === 0) return [];
      const { input, len, output } = rec.encode(items);
      const r = call([input.subarray(0, len), len, items.length, output, preserveOwner ? OPT_PRESERVE_OWNER : 0]);
      if (r < 0) throw new Error('dirMetaBatch: the native side rejected the batch (malformed record)');
      return rec.failures(output, items);
    };
  },
);

/**
 * blit_dir_meta_beneath (blit_beneath.c): DirMetaBatch with each item's `path` relative to
 * `rootFd` (empty: that directory itself), opened there in C with openat2(O_PATH|O_DIRECTORY,
 * `resolve`) before its chown/chmod/utimensat. A failed open is a NativeError of
 * syscall 'openat2' (EXDEV/ELOOP: the RESOLVE bits refused the path) naming the item's path.
 */
export type DirMetaBeneath = (rootFd: number, items: readonly DirMetaItem[], preserveOwner: boolean, resolve: number) => Array<{ at: number; error: NativeError }>;

/** The blit_dir_meta_beneath entry point, or undefined (no library, BLIT_NATIVE_BATCH=0, an older build). */
export const loadDirMetaBeneath: () => DirMetaBeneath | undefined = optionalEntry(
  (bind, { I32, U8Array }): DirMetaBeneath => {
    const call = bind('blit_dir_meta_beneath', [I32, U8Array, I32, I32, U8Array, I32, I32]);
    const rec = dirMetaRecords();
    return (rootFd, items, preserveOwner, resolve) => {
      if (items.length === 0) return [];
      const { input, len, output } = rec.encode(items);
      const r = call([rootFd, input.subarray(0, len), len, items.length, output, preserveOwner ? OPT_PRESERVE_OWNER : 0, resolve]);
      if (r < 0) throw new Error('dirMetaBeneath: the native side rejected the batch (malformed record)');
      return rec.failures(output, items);
    };
  },
);
