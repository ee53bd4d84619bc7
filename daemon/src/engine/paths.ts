/**
 * Buffer path helpers. Relative paths are raw bytes, '/'-separated, '' = the root. Absolute paths
 * given to node:fs are Buffers too, so names that are not valid UTF-8 survive byte-exact.
 */
const SLASH = 0x2f;
export const EMPTY = Buffer.alloc(0);

/** Join path parts with '/', skipping empty parts ('' + 'a' = 'a'). */
export function joinRel(...parts: Buffer[]): Buffer {
  const nonEmpty = parts.filter((p) => p.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const out: Buffer[] = [];
  nonEmpty.forEach((p, i) => {
    if (i > 0) out.push(SLASH_BUF);
    out.push(p);
  });
  return Buffer.concat(out);
}
const SLASH_BUF = Buffer.from('/');

/** Join two parts (hot path: no array, no filter). */
export function join2(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = Buffer.allocUnsafe(a.length + 1 + b.length);
  a.copy(out, 0);
  out[a.length] = SLASH;
  b.copy(out, a.length + 1);
  return out;
}

/** Parent of a relative path ('a/b' → 'a', 'a' → ''). */
export function parentRel(rel: Buffer): Buffer {
  const i = rel.lastIndexOf(SLASH);
  return i < 0 ? EMPTY : rel.subarray(0, i);
}

/** Last component ('a/b' → 'b'). */
export function baseName(rel: Buffer): Buffer {
  const i = rel.lastIndexOf(SLASH);
  return i < 0 ? rel : rel.subarray(i + 1);
}

/** Number of components ('' → 0, 'a/b' → 2); used to order directories deepest first. */
export function depth(rel: Buffer): number {
  if (rel.length === 0) return 0;
  let n = 1;
  for (let i = 0; i < rel.length; i++) if (rel[i] === SLASH) n++;
  return n;
}

/** Absolute Buffer path for `rel` under the absolute root `rootAbs`. */
export function absPath(rootAbs: Buffer, rel: Buffer): Buffer {
  return join2(rootAbs, rel);
}

/** Strip trailing slashes (but keep a lone '/'). */
export function stripTrailingSlash(p: Buffer): Buffer {
  let end = p.length;
  while (end > 1 && p[end - 1] === SLASH) end--;
  return p.subarray(0, end);
}

/**
 * rsync's rule for a source argument: `SRC/`, `SRC/.` and `.` name a directory's contents (they
 * land in DST itself and a move keeps the directory); `SRC` names the directory itself.
 */
export function namesContents(arg: string): boolean {
  return arg.endsWith('/') || arg === '.' || arg.endsWith('/.');
}

/**
 * Display form: valid UTF-8 is kept, every byte of an invalid sequence becomes \xNN, and a
 * backslash is doubled so the form stays unambiguous.
 */
export function displayPath(p: Buffer | string): string {
  if (typeof p === 'string') return p;
  let out = '';
  let i = 0;
  while (i < p.length) {
    const b = p[i]!;
    if (b < 0x80) {
      out += b === 0x5c ? '\\\\' : String.fromCharCode(b);
      i++;
      continue;
    }
    const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    if (len > 0 && i + len <= p.length && validUtf8(p.subarray(i, i + len))) {
      out += p.toString('utf8', i, i + len);
      i += len;
    } else {
      out += '\\x' + b.toString(16).padStart(2, '0');
      i++;
    }
  }
  return out;
}

function validUtf8(seq: Buffer): boolean {
  for (let k = 1; k < seq.length; k++) if ((seq[k]! & 0xc0) !== 0x80) return false;
  // Round-trip check rejects overlongs and surrogates that the lead-byte test lets through.
  return Buffer.from(seq.toString('utf8'), 'utf8').equals(seq);
}

/** Text form for matching (filters): lossless for valid UTF-8, latin1-ish escape otherwise. */
export function matchText(rel: Buffer): string {
  return displayPath(rel);
}

/** Is `inner` equal to `outer` or below it (both absolute, normalised, no trailing slash)? */
export function isSameOrInside(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  const prefix = outer.endsWith('/') ? outer : outer + '/';
  return inner.startsWith(prefix);
}
