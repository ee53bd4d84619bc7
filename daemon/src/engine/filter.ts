/**
 * What to transfer. Three independent layers, a path is excluded if any layer excludes it:
 *
 * 1. Globs (`--include` / `--exclude`, picomatch, dotfiles matched), with rsync's (and rclone's)
 *    shapes: a pattern without '/' matches the last component at any depth; a pattern with a '/'
 *    inside matches whole trailing components at any depth (`deep/x` matches `deep/x` and
 *    `sub/deep/x`, not `sub/adeep/x`); a leading '/' anchors it to the transfer root; a trailing
 *    '/' matches directories only; `dir/**` matches what is below dir, not dir itself (rsync
 *    creates it empty). Anchored-by-default was the day-one rule until the twelfth session: a
 *    mirror with `--exclude deep/x` deleted the `sub/deep/x` an rsync user meant to protect.
 *    Precedence (the rule we picked, because the two lists arrive without their relative order):
 *    the include list is consulted first, as if every --include came before every --exclude in
 *    rsync's first-match order. So `--include '*.txt' --exclude '*'` keeps .txt files and drops
 *    the rest. As in rsync, an excluded directory is not descended, so to keep files deep in a
 *    tree while excluding '*', also include the directories ('*\/').
 * 2. `--files-from FILE`: only the listed paths, the directories leading to them, and everything
 *    below a listed directory. The file is read as rsync reads it (parseFilesFrom); the list
 *    travels on as byte-exact paths (FilterSpec.filesFromPaths, the wire), never as text again.
 * 3. `--gitignore`: every .gitignore in the source tree applies to its directory and below, a
 *    deeper file overrides a shallower one, negation works (the `ignore` package implements git's
 *    rules for one file; we chain the files deepest first). `.git/` is always skipped.
 *
 * Excluded directories are never descended (walker) and never looked into on the destination
 * (differ), so excluded destination content is never deleted by a mirror.
 */
import * as fs from 'node:fs';
import picomatch from 'picomatch';
import ignore, { type Ignore } from 'ignore';
import type { FilterSpec } from './types';
import { BlitError, ErrorCodes, fromErrno } from './errors';
import { matchText } from './paths';
import { openRegularNoFollow } from './open-regular';

interface GlobRule {
  dirOnly: boolean;
  /** Test the whole relative path (else the last component only). */
  wholePath: boolean;
  match: (s: string) => boolean;
}

function compileGlob(raw: string, field: string): GlobRule {
  let p = raw.trim();
  if (p === '') throw new BlitError({ code: ErrorCodes.Usage, message: `empty pattern in ${field}` });
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  const rooted = p.startsWith('/');
  if (rooted) p = p.replace(/^\/+/, '');
  const wholePath = rooted || p.includes('/');
  // Floating (rsync: "matched against the end of the pathname"): any leading components.
  if (wholePath && !rooted) p = `**/${p}`;
  try {
    // picomatch's `a/**` also matches `a`; rsync's matches only what is below it: `a/**/*`.
    // (Not "`a/**` and not `a`": floating, `**/a` also matches `a/a`, which is below `a`.)
    const glob = picomatch(p.endsWith('/**') ? `${p}/*` : p, { dot: true });
    return { dirOnly, wholePath, match: glob };
  } catch (err) {
    throw new BlitError({ code: ErrorCodes.Usage, message: `invalid pattern '${raw}' in ${field}: ${(err as Error).message}` });
  }
}

function ruleMatches(rule: GlobRule, text: string, base: string, isDir: boolean): boolean {
  if (rule.dirOnly && !isDir) return false;
  return rule.match(rule.wholePath ? text : base);
}

export class Filter {
  private readonly includes: GlobRule[];
  private readonly excludesRules: GlobRule[];
  private readonly listed: Set<string> | null = null;
  private readonly listedAncestors: Set<string> | null = null;
  readonly gitignore: boolean;
  /** .gitignore matchers by directory text ('' = root). */
  private readonly gitMatchers = new Map<string, Ignore>();
  /** True when any layer can exclude something; false makes excludes() a constant. */
  readonly active: boolean;

  /** `listed`: the --files-from paths (see filesFromList); undefined = no such layer. */
  constructor(spec: FilterSpec, listed?: readonly Buffer[]) {
    this.includes = spec.includes.map((p) => compileGlob(p, '--include'));
    this.excludesRules = spec.excludes.map((p) => compileGlob(p, '--exclude'));
    this.gitignore = spec.gitignore;
    if (listed !== undefined) {
      this.listed = new Set();
      this.listedAncestors = new Set(['']);
      for (const p of listed) {
        // Text via matchText, as the paths it is compared with: injective, so byte-exact.
        const line = matchText(stripSlashes(p));
        if (line === '') continue;
        this.listed.add(line);
        const parts = line.split('/');
        for (let i = 1; i < parts.length; i++) this.listedAncestors.add(parts.slice(0, i).join('/'));
      }
    }
    this.active = this.excludesRules.length > 0 || this.listed !== null || this.gitignore;
  }

  /** Build from a spec, reading --files-from from disk when given as a file (error names it). */
  static fromSpec(spec: FilterSpec): Filter {
    return new Filter(spec, filesFromList(spec));
  }

  /** Register the content of `<dirRel>/.gitignore` (called by the walker, or by a manifest reader). */
  addGitignore(dirRel: Buffer | string, content: string): void {
    const key = typeof dirRel === 'string' ? dirRel : matchText(dirRel);
    this.gitMatchers.set(key, ignore({ allowRelativePaths: true }).add(content));
  }

  /** Is `rel` (relative to the transfer root) excluded? `isDir` for dir-only rules. */
  excludes(rel: Buffer | string, isDir: boolean): boolean {
    if (!this.active) return false;
    const text = typeof rel === 'string' ? rel : matchText(rel);
    if (text === '') return false;
    const slash = text.lastIndexOf('/');
    const base = slash < 0 ? text : text.slice(slash + 1);
    if (this.excludedByGlobs(text, base, isDir)) return true;
    if (this.listed && !this.inFilesFrom(text)) return true;
    if (this.gitignore && this.excludedByGitignore(text, base, isDir)) return true;
    return false;
  }

  private excludedByGlobs(text: string, base: string, isDir: boolean): boolean {
    if (this.excludesRules.length === 0) return false;
    for (const r of this.includes) if (ruleMatches(r, text, base, isDir)) return false;
    for (const r of this.excludesRules) if (ruleMatches(r, text, base, isDir)) return true;
    return false;
  }

  private inFilesFrom(text: string): boolean {
    if (this.listed!.has(text) || this.listedAncestors!.has(text)) return true;
    // Below a listed directory?
    let i = text.lastIndexOf('/');
    while (i > 0) {
      if (this.listed!.has(text.slice(0, i))) return true;
      i = text.lastIndexOf('/', i - 1);
    }
    return false;
  }

  private excludedByGitignore(text: string, base: string, isDir: boolean): boolean {
    if (base === '.git' && isDir) return true;
    if (this.gitMatchers.size === 0) return false;
    // Deepest .gitignore first: the first file with a verdict on this path decides.
    let dirEnd = text.lastIndexOf('/');
    for (;;) {
      const dir = dirEnd < 0 ? '' : text.slice(0, dirEnd);
      const m = this.gitMatchers.get(dir);
      if (m) {
        const sub = dirEnd < 0 ? text : text.slice(dirEnd + 1);
        const r = m.test(isDir ? sub + '/' : sub);
        if (r.unignored) return false;
        if (r.ignored) return true;
      }
      if (dirEnd < 0) return false;
      dirEnd = text.lastIndexOf('/', dirEnd - 1);
    }
  }
}

/**
 * The --files-from paths of a spec: the explicit list, or the file read with rsync's rules;
 * undefined when the spec has neither. Clients send this list on the wire.
 */
export function filesFromList(spec: FilterSpec): Buffer[] | undefined {
  if (spec.filesFromPaths !== undefined) return spec.filesFromPaths;
  if (spec.filesFrom === undefined) return undefined;
  let content: Buffer;
  try {
    content = fs.readFileSync(spec.filesFrom);
  } catch (err) {
    const cause = fromErrno(err, spec.filesFrom, 'cannot read --files-from');
    throw new BlitError({ code: ErrorCodes.Usage, message: cause.message.replace(`${spec.filesFrom}: `, ''), path: spec.filesFrom, cause: err });
  }
  return parseFilesFrom(content);
}

const isBlank = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;

/**
 * A --files-from file as rsync reads it, on bytes (names that are not UTF-8 survive): one path
 * per line, surrounding white space trimmed, empty lines and lines starting with '#' skipped,
 * leading './' and '/' dropped. A name that these rules cannot express needs filesFromPaths.
 */
export function parseFilesFrom(content: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start <= content.length) {
    let end = content.indexOf(0x0a, start);
    if (end < 0) end = content.length;
    let a = start;
    let b = end;
    start = end + 1;
    while (a < b && isBlank(content[a]!)) a++;
    while (b > a && isBlank(content[b - 1]!)) b--;
    if (a === b || content[a] === 0x23 /* # */) continue;
    for (;;) {
      if (content[a] === 0x2f /* / */) a++;
      else if (content[a] === 0x2e && content[a + 1] === 0x2f /* ./ */) a += 2;
      else break;
    }
    const p = stripSlashes(content.subarray(a, b));
    if (p.length > 0 && !(p.length === 1 && p[0] === 0x2e)) out.push(Buffer.from(p));
  }
  return out;
}

/** Without leading and trailing '/' ('a/b/' names the directory a/b). */
function stripSlashes(p: Buffer): Buffer {
  let a = 0;
  let b = p.length;
  while (a < b && p[a] === 0x2f) a++;
  while (b > a && p[b - 1] === 0x2f) b--;
  return p.subarray(a, b);
}

/** A filter that excludes nothing (for callers that have no spec). */
export function noFilter(): Filter {
  return new Filter({ excludes: [], includes: [], gitignore: false });
}

/**
 * The content of `path` if it is a regular file (openRegularNoFollow): a symlink fails with ELOOP
 * (git does not follow a symlinked .gitignore since 2.32), a FIFO or device is refused, never read. How every `.gitignore` is
 * read: the local engine's and a push client's walk, a pull's destination (through its pinned
 * parent), and the extension's upload on save. Here, not in walk.ts, because the extension
 * bundles this file and must not bundle the walk (it pulls in the native scanner).
 */
export function readFileNoFollow(path: Buffer | string): Buffer {
  const { fd } = openRegularNoFollow(path);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
