/**
 * `blit.targets` settings: parsing with errors that name the entry and field, remote-spec
 * formatting (the `HOST[:PORT]:/MODULE/PATH` form blitd's StartTransfer takes), and the rule for
 * choosing a target. Pure: no `vscode` import, so it is unit-tested with mocha.
 */
export interface Target {
  name: string;
  host: string;
  port: number;
  module: string;
  /** Path inside the module, '/'-separated, no leading slash ('' = module root). */
  remotePath: string;
  /** The globs never transferred: the entry's `excludes`, or DEFAULT_EXCLUDES when it has none. */
  excludes: string[];
  uploadOnSave: boolean;
}

export const DEFAULT_PORT = 9031;

/**
 * What a target without an `excludes` key leaves out, as the VS Code SFTP extensions' `ignore`
 * default: editor settings, git metadata and Finder litter are not part of a site. An entry with
 * `excludes` (even []) gets exactly its list. Plain names: each matches at any depth (filter.ts).
 */
export const DEFAULT_EXCLUDES: readonly string[] = ['.vscode', '.git', '.DS_Store'];

/** A bad `blit.targets` entry: `field` is the settings path at fault, e.g. `blit.targets[1].port`. */
export class TargetConfigError extends Error {
  constructor(readonly field: string, readonly cause_: string) {
    super(`${field}: ${cause_}`);
    this.name = 'TargetConfigError';
  }
}

export interface ParsedTargets {
  targets: Target[];
  /** One error per rejected entry; the valid entries are still usable. */
  errors: TargetConfigError[];
}

const MODULE_NAME = /^[A-Za-z0-9._-]+$/;

/** Every key a target may have: an unknown one is refused, since a misspelt `remotePath` would
 *  silently send a push (or a mirror's deletions) to the module root. */
const TARGET_KEYS = ['name', 'host', 'port', 'module', 'remotePath', 'excludes', 'uploadOnSave'] as const;

/** The known key `key` was probably meant as: same letters ignoring case and '_'/'-', or one edit away. */
function likelyKey(key: string): string | undefined {
  const norm = (k: string): string => k.toLowerCase().replace(/[_-]/g, '');
  return TARGET_KEYS.find((k) => norm(k) === norm(key)) ?? TARGET_KEYS.find((k) => editDistanceAtMostOne(norm(k), norm(key)));
}

function editDistanceAtMostOne(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1) || (a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2));
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** Normalises a remote path: strips surrounding slashes, refuses `..` and NUL. */
export function normaliseRemotePath(p: string, field: string): string {
  if (p.includes('\0')) throw new TargetConfigError(field, 'must not contain a NUL character');
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new TargetConfigError(field, `must not contain '..' (got ${JSON.stringify(p)})`);
  return parts.join('/');
}

export function parseTarget(raw: unknown, at: string): Target {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TargetConfigError(at, `must be an object with name, host and module (got ${describe(raw)})`);
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if ((TARGET_KEYS as readonly string[]).includes(key)) continue;
    const meant = likelyKey(key);
    throw new TargetConfigError(`${at}.${key}`, `is not a target setting${meant ? ` (did you mean "${meant}"?)` : ''}; a target has ${TARGET_KEYS.join(', ')}`);
  }
  const str = (key: string, required: boolean, fallback = ''): string => {
    const v = o[key];
    if (v === undefined || v === null || v === '') {
      if (required) throw new TargetConfigError(`${at}.${key}`, 'is required');
      return fallback;
    }
    if (typeof v !== 'string') throw new TargetConfigError(`${at}.${key}`, `must be a string (got ${describe(v)})`);
    return v.trim();
  };
  const name = str('name', true);
  const host = str('host', true).replace(/^\[(.*)\]$/, '$1');
  if (/\s|\//.test(host)) throw new TargetConfigError(`${at}.host`, `is not a host name or address (got ${JSON.stringify(host)})`);
  // One colon is a HOST:PORT written into host (an IPv6 address has at least two).
  if (/^[^:]+:\d*$/.test(host)) throw new TargetConfigError(`${at}.host`, `must be a host name or address without a port; put the port in "port" (got ${JSON.stringify(host)})`);
  const module = str('module', true);
  if (!MODULE_NAME.test(module)) {
    throw new TargetConfigError(`${at}.module`, `must be a module name (letters, digits, '.', '_', '-'; got ${JSON.stringify(module)})`);
  }
  let port = DEFAULT_PORT;
  if (o.port !== undefined && o.port !== null && o.port !== '') {
    const n = typeof o.port === 'string' && /^\d+$/.test(o.port.trim()) ? Number(o.port) : o.port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
      throw new TargetConfigError(`${at}.port`, `must be an integer from 1 to 65535 (got ${describe(o.port)})`);
    }
    port = n;
  }
  const remotePath = normaliseRemotePath(str('remotePath', false), `${at}.remotePath`);
  let excludes: string[] = [...DEFAULT_EXCLUDES];
  if (o.excludes !== undefined && o.excludes !== null) {
    if (!Array.isArray(o.excludes) || o.excludes.some((e) => typeof e !== 'string')) {
      throw new TargetConfigError(`${at}.excludes`, `must be an array of glob strings (got ${describe(o.excludes)})`);
    }
    excludes = (o.excludes as string[]).filter((e) => e.trim() !== '');
  }
  let uploadOnSave = false;
  if (o.uploadOnSave !== undefined && o.uploadOnSave !== null) {
    if (typeof o.uploadOnSave !== 'boolean') {
      throw new TargetConfigError(`${at}.uploadOnSave`, `must be true or false (got ${describe(o.uploadOnSave)})`);
    }
    uploadOnSave = o.uploadOnSave;
  }
  return { name, host, port, module, remotePath, excludes, uploadOnSave };
}

/** Parses the whole `blit.targets` value. Duplicate names are rejected (commands pick by name). */
export function parseTargets(raw: unknown, setting = 'blit.targets'): ParsedTargets {
  if (raw === undefined || raw === null) return { targets: [], errors: [] };
  if (!Array.isArray(raw)) {
    return { targets: [], errors: [new TargetConfigError(setting, `must be an array of targets (got ${describe(raw)})`)] };
  }
  const targets: Target[] = [];
  const errors: TargetConfigError[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const at = `${setting}[${i}]`;
    try {
      const t = parseTarget(entry, at);
      if (seen.has(t.name)) throw new TargetConfigError(`${at}.name`, `duplicate target name ${JSON.stringify(t.name)}`);
      seen.add(t.name);
      targets.push(t);
    } catch (e) {
      if (e instanceof TargetConfigError) errors.push(e);
      else throw e;
    }
  });
  return { targets, errors };
}

/** The remote spec blitd understands: `HOST:PORT:/MODULE[/PATH]`, IPv6 hosts in brackets. */
export function remoteSpec(t: Target, trailingSlash = false): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  const path = t.remotePath ? `/${t.module}/${t.remotePath}` : `/${t.module}`;
  return `${host}:${t.port}:${path}${trailingSlash ? '/' : ''}`;
}

/** Short human description, e.g. `staging (10.0.0.5:9031:/www/site)`. */
export function describeTarget(t: Target): string {
  return `${t.name} (${remoteSpec(t)})`;
}

export type TargetChoice =
  | { kind: 'none'; message: string }
  | { kind: 'one'; target: Target }
  | { kind: 'ask'; candidates: Target[] };

/**
 * Which target a command uses: the one named (if given and present), the only one, or ask the user.
 * `filter` narrows the candidates (e.g. upload-on-save targets).
 */
export function chooseTarget(targets: Target[], requestedName?: string, filter?: (t: Target) => boolean): TargetChoice {
  const candidates = filter ? targets.filter(filter) : targets;
  if (requestedName !== undefined) {
    const hit = candidates.find((t) => t.name === requestedName);
    if (hit) return { kind: 'one', target: hit };
    return { kind: 'none', message: `No Blit target named ${JSON.stringify(requestedName)} in blit.targets.` };
  }
  if (candidates.length === 0) {
    return { kind: 'none', message: 'No Blit targets configured: run "Blit: Add Remote Target" or edit blit.targets.' };
  }
  if (candidates.length === 1) return { kind: 'one', target: candidates[0]! };
  return { kind: 'ask', candidates };
}

/** The settings object written back by the Add Remote Target wizard (defaults left out). */
export function targetToSetting(t: Target): Record<string, unknown> {
  const o: Record<string, unknown> = { name: t.name, host: t.host, port: t.port, module: t.module, remotePath: t.remotePath };
  // the defaults stay implicit (a later change of them reaches this entry); any other list, [] too, is written
  const defaults = t.excludes.length === DEFAULT_EXCLUDES.length && t.excludes.every((e, i) => e === DEFAULT_EXCLUDES[i]);
  if (!defaults) o.excludes = t.excludes;
  if (t.uploadOnSave) o.uploadOnSave = true;
  return o;
}
