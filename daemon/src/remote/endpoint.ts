/**
 * Parsing of transfer endpoints: a local path or a remote `HOST[:PORT]:/MODULE[/PATH]` spec.
 * Shared by the CLI, the admin verbs and the daemon's StartTransfer.
 */
import { BlitError, ErrorCodes } from '../engine/errors';

export const DEFAULT_PORT = 9031;

export type Endpoint =
  | { kind: 'local'; path: string }
  | {
      kind: 'remote';
      host: string;
      port: number;
      module: string;
      /** Path inside the module; '' = module root; never starts with or ends in '/'. */
      path: string;
      /** The spec ended in '/' (or '/.'): as a source, its contents are transferred (rsync). */
      trailingSlash: boolean;
    };

export type RemoteEndpoint = Extract<Endpoint, { kind: 'remote' }>;

// host part: [v6] or a name/IPv4 without ':' '/' '['; optional :PORT; then ':/' and the module path.
const REMOTE_RE = /^(\[[^\]/]*\]|[^:/[\]\s]+)(?::(\d+))?:(\/.*)$/;
const HOSTPORT_RE = /^(\[[^\]/]*\]|[^:/[\]\s]+)(?::(\d+))?$/;

function usage(arg: string, cause: string): BlitError {
  return new BlitError({ code: ErrorCodes.Usage, message: `invalid remote '${arg}': ${cause}` });
}

function parsePort(arg: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(arg, `port ${text} is not in 1..65535`);
  return port;
}

function parseHost(arg: string, raw: string): string {
  if (raw.startsWith('[')) {
    const inner = raw.slice(1, -1);
    if (inner === '' || !/^[0-9a-fA-F:.%A-Za-z]+$/.test(inner) || !inner.includes(':')) {
      throw usage(arg, `'${raw}' is not a bracketed IPv6 address`);
    }
    return inner;
  }
  return raw;
}

/**
 * `HOST:/MODULE[/PATH]`, `HOST:PORT:/MODULE[/PATH]`, `[::1]:9031:/mod/path`, `[::1]:/mod` are
 * remote; everything else is a local path (so `./a:b` or `/x/y:z` stay local). A string that
 * looks remote but is malformed (bad port, no module, `..` in the module path) is a Usage error.
 */
export function parseEndpoint(arg: string): Endpoint {
  if (arg === '') throw new BlitError({ code: ErrorCodes.Usage, message: 'empty path argument' });
  // Local forms: anything starting with '/', '.', '~' or without ':/' cannot be a remote spec.
  if (arg.startsWith('/') || arg.startsWith('./') || arg.startsWith('../') || arg.startsWith('~')) {
    return { kind: 'local', path: arg };
  }
  const m = REMOTE_RE.exec(arg);
  if (!m) {
    // Looks like HOST:PORT:/... but the port is not numeric, or a bracketed host is broken.
    if (/^\[/.test(arg) && arg.includes(']:')) throw usage(arg, 'expected [IPV6]:[PORT:]/MODULE[/PATH]');
    if (/^[^:/\s]+:[^:/]*:\//.test(arg)) throw usage(arg, 'expected HOST:PORT:/MODULE[/PATH] with a numeric port');
    return { kind: 'local', path: arg };
  }
  const host = parseHost(arg, m[1]!);
  const port = parsePort(arg, m[2]);
  const rest = m[3]!.replace(/^\/+/, '');
  const parts = rest.split('/').filter((p) => p !== '');
  const module = parts.shift();
  if (!module) throw usage(arg, 'no module name after ":/" (expected HOST[:PORT]:/MODULE[/PATH])');
  for (const p of parts) {
    if (p === '..') throw usage(arg, "'..' is not allowed in a remote path");
  }
  if (module === '.' || module === '..') throw usage(arg, `'${module}' is not a module name`);
  const path = parts.filter((p) => p !== '.').join('/');
  const trailingSlash = rest.endsWith('/') || rest.endsWith('/.');
  return { kind: 'remote', host, port, module, path, trailingSlash };
}

/** `HOST[:PORT]` or `[IPV6][:PORT]` for the admin verbs that address a daemon, not a path. */
export function parseHostPort(arg: string): { host: string; port: number } {
  const m = HOSTPORT_RE.exec(arg);
  if (!m) throw new BlitError({ code: ErrorCodes.Usage, message: `invalid daemon address '${arg}': expected HOST[:PORT] or [IPV6][:PORT]` });
  return { host: parseHost(arg, m[1]!), port: parsePort(arg, m[2]) };
}

/** gRPC target string for a host and port (IPv6 literals bracketed). */
export function grpcTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Display form of a remote endpoint, the way the user typed it. */
export function formatRemote(ep: { host: string; port: number; module: string; path: string }): string {
  const p = ep.path ? `/${ep.path}` : '';
  return `${grpcTarget(ep.host, ep.port)}:/${ep.module}${p}`;
}
