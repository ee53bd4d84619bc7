import { OPT_PRESERVE_OWNER, optionalEntry } from './batch';

/**
 * blit_recv_small (blit_recv.c): a receiving worker's read buffer scanned and its complete,
 * expected small files written in one call. Arguments are views passed by pointer (no copy):
 * `buf` (the bytes to scan, all of it), `rowOf` (Int32 per manifest index: its row or -1), `rows`
 * (RECV_ROW bytes each: i64 size, i64 mtimeNs, u32 mode, uid, gid, claim slot, dir id, name
 * offset, name length, pad; the first `nrows` are used), `names` (the first `namesLen` bytes),
 * `dirFds` (Int32 per dir id: fd, -1 not open, -1000 - errno failed), `claims` (the claim cells
 * of slots claimBase.., shared with other threads). The answer is in `out` (RECV_OUT; as many
 * files as fit after its header). The C side trusts these lengths: each comes from its view or
 * is checked against it here (RangeError), so a wrong count cannot reach past a view.
 */
export const RECV_ROW = 48;
export const RECV_OUT = { HEADER: 32, FILE: 16, CONSUMED: 0, REASON: 1, FILES: 2, AUX: 3 } as const;
export const RecvStop = { Partial: 1, Other: 2, Dir: 3, Chunk: 4, Full: 5 } as const;
export type RecvSmall = (
  buf: Uint8Array,
  rowOf: Int32Array,
  rows: Uint8Array,
  nrows: number,
  names: Uint8Array,
  namesLen: number,
  dirFds: Int32Array,
  claims: Int32Array,
  claimBase: number,
  out: Uint8Array,
  opts: { preserveOwner: boolean; umask: number; temp: { prefix: number; counter: number } },
) => void;

/** The blit_recv_small entry point, or undefined (no library, BLIT_NATIVE_BATCH=0, an older build). */
export const loadRecvSmall: () => RecvSmall | undefined = optionalEntry((bind, { I32, U8Array }): RecvSmall => {
  const call = bind('blit_recv_small', [U8Array, I32, U8Array, I32, U8Array, I32, U8Array, I32, U8Array, I32, U8Array, I32, I32, U8Array, I32, I32, I32, I32, I32]);
  const u8 = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return (buf, rowOf, rows, nrows, names, namesLen, dirFds, claims, claimBase, out, o) => {
    if (nrows * RECV_ROW > rows.byteLength) throw new RangeError(`recvSmall: ${nrows} rows, the rows view holds ${Math.floor(rows.byteLength / RECV_ROW)}`);
    if (namesLen > names.byteLength) throw new RangeError(`recvSmall: names length ${namesLen}, the names view holds ${names.byteLength} bytes`);
    if (out.byteLength < RECV_OUT.HEADER + RECV_OUT.FILE) throw new RangeError(`recvSmall: out holds ${out.byteLength} bytes, less than one file's answer`);
    const outCap = Math.floor((out.byteLength - RECV_OUT.HEADER) / RECV_OUT.FILE);
    call([u8(buf), buf.byteLength, u8(rowOf), rowOf.length, u8(rows), nrows, u8(names), namesLen, u8(dirFds), dirFds.length, u8(claims), claimBase, claims.length, u8(out), outCap, o.preserveOwner ? OPT_PRESERVE_OWNER : 0, o.umask, o.temp.prefix, o.temp.counter]);
  };
});
