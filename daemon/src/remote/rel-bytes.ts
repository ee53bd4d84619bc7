/**
 * Relative paths as byte strings, checked and compared without allocating: they run once per
 * manifest entry on the destination of a remote transfer (remote/destination.ts), where the
 * manifest is untrusted and 100k entries are common.
 */

/**
 * The checks of checkRelative plus normal form, in one pass with no allocation (it runs for every
 * manifest entry): non-empty, no NUL, not absolute, and every '/'-separated component non-empty
 * and neither '.' nor '..'. False sends the entry to refusePath for the exact error.
 */
export function isNormalRelative(rel: Buffer): boolean {
  return isNormalRelativeAt(rel, 0, rel.length);
}

/** isNormalRelative of b[from, to). */
export function isNormalRelativeAt(b: Uint8Array, from: number, to: number): boolean {
  if (to <= from) return false;
  let start = from;
  for (let i = from; i <= to; i++) {
    const c = i < to ? b[i]! : 0x2f;
    if (c === 0) return false;
    if (c !== 0x2f) continue;
    const len = i - start;
    if (len === 0) return false;
    if (b[start] === 0x2e && (len === 1 || (len === 2 && b[start + 1] === 0x2e))) return false;
    start = i + 1;
  }
  return true;
}

/** Byte strings kept as (memory, offset, length) positions: no object per string. */
export class RelPositions {
  private readonly mems: Uint8Array[] = [];
  private last: ArrayBufferLike | undefined;
  /** Per string: index into mems, byte offset, length. */
  private readonly at: number[] = [];

  /** `rel`'s bytes must not change afterwards (they are read again by keys()). */
  add(rel: Buffer): void {
    this.addAt(rel, 0, rel.length);
  }

  /** add(b.subarray(start, start + len)) without the view. */
  addAt(b: Buffer, start: number, len: number): void {
    if (b.buffer !== this.last) {
      this.last = b.buffer;
      this.mems.push(new Uint8Array(b.buffer));
    }
    this.at.push(this.mems.length - 1, b.byteOffset + start, len);
  }

  get size(): number {
    return this.at.length / 3;
  }

  /** Every string as a latin1 key (the destination's key()). */
  keys(): Set<string> {
    const out = new Set<string>();
    const at = this.at;
    for (let i = 0; i < at.length; i += 3) {
      const m = this.mems[at[i]!]!;
      out.add(Buffer.from(m.buffer, m.byteOffset + at[i + 1]!, at[i + 2]!).toString('latin1'));
    }
    return out;
  }
}

/** Is `dir` the parent of `rel` (parentRel(rel).equals(dir), without a Buffer per entry)? */
export function inDir(rel: Buffer, dir: Buffer): boolean {
  return inDirAt(rel, 0, rel.length, dir);
}

/** inDir of b[from, to). */
export function inDirAt(b: Uint8Array, from: number, to: number, dir: Buffer): boolean {
  const n = dir.length;
  if (to - from <= n || (n > 0 && b[from + n] !== 0x2f)) return false;
  for (let i = from + (n > 0 ? n + 1 : 0); i < to; i++) if (b[i] === 0x2f) return false;
  for (let i = n - 1; i >= 0; i--) if (b[from + i] !== dir[i]) return false;
  return true;
}
