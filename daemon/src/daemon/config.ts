/**
 * blitd configuration: a TOML file (smol-toml) with optional top-level `bind`, `port`, `log`,
 * `force_grpc_data` and any number of `[[module]]` tables (`name`, `path`, `read_only`,
 * `comment`). Every problem is reported as `FILE:LINE: key: cause` (InvalidConfig) so the daemon
 * refuses to start on a config it would misread.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { BlitError, ErrorCodes } from '../engine/errors';
import type { ModuleConfig } from './context';
import { MAX_DATA_STREAMS } from '../remote/dataplane';

export interface DaemonFileConfig {
  bind?: string;
  port?: number;
  log?: string;
  forceGrpcData?: boolean;
  dataTokenTtlMs?: number;
  dataStreams?: number;
  dataPort?: number;
  modules: ModuleConfig[];
}

const TOP_KEYS = new Set(['bind', 'port', 'log', 'force_grpc_data', 'data_token_ttl_ms', 'data_streams', 'data_port', 'module']);

/** Bounds of the data-plane settings (flags and TOML keys alike). */
export const DATA_LIMITS = {
  tokenTtlMs: { min: 50, max: 600_000 },
  streams: { min: 1, max: MAX_DATA_STREAMS },
  port: { min: 0, max: 65535 },
} as const;
const MODULE_KEYS = new Set(['name', 'path', 'read_only', 'comment']);
export const MODULE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Where each key was written: table index (-1 = top level) + key → 1-based line. */
interface KeyLines {
  key(table: number, key: string): number | undefined;
  header(table: number): number | undefined;
}

function scanKeyLines(text: string): KeyLines {
  const keys = new Map<string, number>();
  const headers: number[] = [];
  let table = -1;
  let inOtherTable = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (/^\[\[\s*module\s*\]\]/.test(line)) {
      headers.push(i + 1);
      table = headers.length - 1;
      inOtherTable = false;
      return;
    }
    if (line.startsWith('[')) {
      inOtherTable = true;
      return;
    }
    const m = /^("([^"]*)"|'([^']*)'|[A-Za-z0-9_.-]+)\s*=/.exec(line);
    if (!m || inOtherTable) return;
    const key = m[2] ?? m[3] ?? m[1]!;
    const id = `${table}:${key}`;
    if (!keys.has(id)) keys.set(id, i + 1);
  });
  return { key: (t, k) => keys.get(`${t}:${k}`), header: (t) => headers[t] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (isPlainObject(v)) return 'table';
  return typeof v;
}

/** Parse and validate a config file's text. `file` is used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string): DaemonFileConfig {
  const fail = (line: number | undefined, key: string, cause: string): never => {
    throw new BlitError({ code: ErrorCodes.InvalidConfig, message: `${file}:${line ?? 1}: ${key}: ${cause}` });
  };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      return fail(err.line, 'syntax', `${first} (column ${err.column})`);
    }
    throw err;
  }
  const lines = scanKeyLines(text);
  const out: DaemonFileConfig = { modules: [] };
  for (const [key, value] of Object.entries(doc)) {
    const at = lines.key(-1, key);
    if (!TOP_KEYS.has(key)) fail(at, key, `unknown key (expected one of: ${[...TOP_KEYS].join(', ')})`);
    if (key === 'bind') {
      if (typeof value !== 'string' || value === '') fail(at, key, `expected a non-empty string, got ${typeName(value)}`);
      out.bind = value as string;
    } else if (key === 'port') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
        fail(at, key, `expected an integer port 0..65535, got ${typeName(value)} ${String(value)}`);
      }
      out.port = value as number;
    } else if (key === 'log') {
      if (typeof value !== 'string' || value === '') fail(at, key, `expected a file path string, got ${typeName(value)}`);
      out.log = path.resolve(path.dirname(file), value as string);
    } else if (key === 'force_grpc_data') {
      if (typeof value !== 'boolean') fail(at, key, `expected true or false, got ${typeName(value)}`);
      out.forceGrpcData = value as boolean;
    } else if (key === 'data_token_ttl_ms' || key === 'data_streams' || key === 'data_port') {
      const lim = key === 'data_token_ttl_ms' ? DATA_LIMITS.tokenTtlMs : key === 'data_streams' ? DATA_LIMITS.streams : DATA_LIMITS.port;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < lim.min || value > lim.max) {
        fail(at, key, `expected an integer ${lim.min}..${lim.max}, got ${typeName(value)} ${String(value)}`);
      }
      if (key === 'data_token_ttl_ms') out.dataTokenTtlMs = value as number;
      else if (key === 'data_streams') out.dataStreams = value as number;
      else out.dataPort = value as number;
    } else if (key === 'module') {
      if (!Array.isArray(value)) fail(at, key, 'expected [[module]] tables');
      out.modules = (value as unknown[]).map((m, i) => parseModule(m, i, file, lines, fail));
    }
  }
  const seen = new Map<string, number>();
  out.modules.forEach((m, i) => {
    const prev = seen.get(m.name);
    if (prev !== undefined) {
      fail(lines.key(i, 'name') ?? lines.header(i), 'name', `duplicate module name '${m.name}' (first defined at line ${lines.key(prev, 'name') ?? '?'})`);
    }
    seen.set(m.name, i);
  });
  return out;
}

function parseModule(
  raw: unknown,
  i: number,
  file: string,
  lines: KeyLines,
  fail: (line: number | undefined, key: string, cause: string) => never,
): ModuleConfig {
  const header = lines.header(i) ?? lines.key(-1, 'module');
  if (!isPlainObject(raw)) return fail(header, 'module', 'expected a table');
  const at = (k: string): number | undefined => lines.key(i, k) ?? header;
  for (const key of Object.keys(raw)) {
    if (!MODULE_KEYS.has(key)) fail(at(key), key, `unknown key in [[module]] (expected one of: ${[...MODULE_KEYS].join(', ')})`);
  }
  const { name, path: p, read_only: readOnly = false, comment = '' } = raw;
  if (name === undefined) fail(header, 'name', 'missing: every [[module]] needs name and path');
  if (typeof name !== 'string') return fail(at('name'), 'name', `expected a string, got ${typeName(name)}`);
  if (!MODULE_NAME_RE.test(name)) fail(at('name'), 'name', `'${name}' is not a valid module name (letters, digits, '.', '_', '-')`);
  if (p === undefined) fail(header, 'path', `missing: module '${name}' needs a path`);
  if (typeof p !== 'string' || p === '') return fail(at('path'), 'path', `expected a non-empty string, got ${typeName(p)}`);
  if (typeof readOnly !== 'boolean') fail(at('read_only'), 'read_only', `expected true or false, got ${typeName(readOnly)}`);
  if (typeof comment !== 'string') fail(at('comment'), 'comment', `expected a string, got ${typeName(comment)}`);
  const abs = path.resolve(path.dirname(file), p);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch (err) {
    return fail(at('path'), 'path', `'${abs}' does not exist (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!fs.statSync(real).isDirectory()) fail(at('path'), 'path', `'${abs}' is not a directory`);
  return { name, path: real, readOnly: readOnly as boolean, comment: comment as string };
}

/** Read and validate a config file; unreadable file → InvalidConfig naming it. */
export function loadConfigFile(file: string): DaemonFileConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BlitError({ code: ErrorCodes.InvalidConfig, message: `${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
  }
  return parseConfig(text, file);
}

/** The single `default` module exported when the config defines none. */
export function defaultModule(root: string): ModuleConfig {
  let real: string;
  try {
    real = fs.realpathSync(root);
  } catch (err) {
    throw new BlitError({ code: ErrorCodes.InvalidConfig, message: `--root ${root}: does not exist (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  if (!fs.statSync(real).isDirectory()) throw new BlitError({ code: ErrorCodes.InvalidConfig, message: `--root ${root}: not a directory` });
  return { name: 'default', path: real, readOnly: false, comment: 'exported root' };
}
