/**
 * Helpers for the transfer suites: a source tree with every kind of metadata that must survive the
 * wire, a byte-exact tree comparison, a raw gRPC push/pull session (for protocol abuse tests) and
 * a TCP forwarder (to make the daemon's data port unreachable while its gRPC port is reachable).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as native from '@blit/native';
import { blitService, PROTOCOL_VERSION, type FileEntry, type PullClientMessage, type PullServerMessage__Output, type PushClientMessage, type PushServerMessage__Output } from '@blit/proto';
import * as grpc from '@grpc/grpc-js';
import { messageReader } from '../../src/remote/call-io';
import { FrameType, frameHeader } from '../../src/remote/dataplane';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import type { OutgoingFile } from '../../src/remote/data-sender';
import type { Entry } from '../../src/engine/types';

export const NON_UTF8 = Buffer.from([0x6e, 0x6f, 0x6e, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]); // "non\xff\xfe.bin"
const MTIME_NS = 981173106123456789n; // 2001-02-03T04:05:06.123456789Z

/** Sets atime and mtime to `ns` (nanoseconds); `noFollow` for a symlink itself. */
export function setMtime(p: Buffer | string, ns: bigint, noFollow = false): void {
  native.utimensat(Buffer.from(p), ns, ns, { noFollow });
}

/** A small tree covering nested dirs, an empty dir, modes, a symlink, a non-UTF-8 name, ns mtimes. */
export function makeSourceTree(root: string): void {
  fs.mkdirSync(path.join(root, 'docs/deep/er'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'top.txt'), 'top level\n');
  fs.writeFileSync(path.join(root, 'docs/a.md'), '# a\n'.repeat(100));
  fs.writeFileSync(path.join(root, 'docs/deep/er/bin.dat'), Buffer.alloc(300_000, 7));
  fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  fs.chmodSync(path.join(root, 'run.sh'), 0o755);
  fs.writeFileSync(path.join(root, 'secret'), 'x', { mode: 0o600 });
  fs.chmodSync(path.join(root, 'secret'), 0o600);
  fs.writeFileSync(path.join(root, 'zero'), '');
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/docs/'), NON_UTF8]), 'bytes name');
  fs.symlinkSync('../top.txt', path.join(root, 'docs/link-to-top'));
  fs.symlinkSync('/nonexistent/target', path.join(root, 'dangling'));
  setMtime(path.join(root, 'top.txt'), MTIME_NS);
  setMtime(path.join(root, 'docs/deep/er/bin.dat'), MTIME_NS + 1n);
  setMtime(path.join(root, 'docs/link-to-top'), MTIME_NS + 2n, true);
  setMtime(path.join(root, 'empty'), MTIME_NS + 3n);
  setMtime(path.join(root, 'docs/deep'), MTIME_NS + 4n);
}

interface Node {
  kind: string;
  mode: number;
  mtimeNs: bigint;
  size: bigint;
  content?: Buffer;
  target?: Buffer;
}

/** Every entry below root keyed by its raw relative path (latin1 of the bytes). */
export function snapshot(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (abs: Buffer, rel: Buffer): void => {
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const a = Buffer.concat([abs, Buffer.from('/'), name]);
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = fs.lstatSync(a, { bigint: true });
      const node: Node = { kind: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file', mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs, size: st.size };
      if (node.kind === 'file') node.content = fs.readFileSync(a);
      if (node.kind === 'symlink') node.target = fs.readlinkSync(a, { encoding: 'buffer' });
      out.set(r.toString('latin1'), node);
      if (node.kind === 'dir') walk(a, r);
    }
  };
  walk(Buffer.from(root), Buffer.alloc(0));
  return out;
}

/** Assert two trees are identical: names (bytes), kinds, contents, modes, ns mtimes, link targets. */
export function assertSameTree(expected: string, actual: string): void {
  const a = snapshot(expected);
  const b = snapshot(actual);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), 'same names');
  for (const [k, n] of a) {
    const m = b.get(k)!;
    const shown = Buffer.from(k, 'latin1').toString();
    assert.equal(m.kind, n.kind, `${shown}: kind`);
    if (n.kind !== 'symlink') assert.equal(m.mode.toString(8), n.mode.toString(8), `${shown}: mode`);
    assert.equal(m.mtimeNs, n.mtimeNs, `${shown}: mtime (ns)`);
    if (n.kind === 'file') assert.ok(m.content!.equals(n.content!), `${shown}: content`);
    if (n.kind === 'symlink') assert.ok(m.target!.equals(n.target!), `${shown}: link target`);
  }
}

/** Names in `dir` that look like blit temp files (none may survive a transfer). */
export function tempFilesIn(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      if (d.name.startsWith('.blit.')) out.push(path.join(dir, d.name));
      if (d.isDirectory()) walk(path.join(dir, d.name));
    }
  };
  walk(root);
  return out;
}

/** A process's open descriptors that point at a blit temp file (deleted or not), read from /proc. */
export function tempDescriptors(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return fs.readdirSync(dir).flatMap((fd) => {
    try {
      const target = fs.readlinkSync(path.join(dir, fd));
      return target.includes('/.blit.') ? [target] : [];
    } catch {
      return [];
    }
  });
}

/** Parses the `--json` summary that blit printed on stdout. */
export function jsonSummary(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Raw protocol sessions

export interface RawPush {
  conn: DaemonConnection;
  call: grpc.ClientDuplexStream<PushClientMessage, PushServerMessage__Output>;
  /** Next server message (or undefined at the end of the call); rejects on a call error. */
  next(): Promise<PushServerMessage__Output | undefined>;
  /** Read until a message with `field` arrives (skipping others); fails on error/end. */
  until(field: keyof PushServerMessage__Output): Promise<PushServerMessage__Output>;
  /** Read to the end; returns the RemoteError the daemon sent, if any. */
  error(): Promise<{ code: string; message: string } | undefined>;
  close(): void;
}

export async function rawPush(port: number, module: string, destPath: string | Buffer, opts: { forceGrpcData?: boolean; mode?: 'MODE_COPY' | 'MODE_MIRROR' } = {}): Promise<RawPush> {
  const conn = await connectDaemon({ host: '127.0.0.1', port });
  const call = conn.client.Push();
  // The reader the client and daemon use (undefined once the call ended; a call error rejects).
  const next = messageReader<PushServerMessage__Output>(call);
  call.write({
    header: {
      protocolVersion: PROTOCOL_VERSION,
      module,
      path: Buffer.from(destPath),
      options: { mode: opts.mode ?? 'MODE_COPY', compare: 'COMPARE_DEFAULT', filter: { excludes: [], includes: [] }, forceGrpcData: opts.forceGrpcData ?? false },
    },
  });
  return {
    conn,
    call,
    next,
    until: async (field) => {
      for (;;) {
        const m = await next();
        if (!m) throw new Error(`call ended before a '${String(field)}' message`);
        if (m.error) throw new Error(`daemon error ${m.error.code}: ${m.error.message}`);
        if (m[field] !== undefined && m[field] !== null) return m;
      }
    },
    error: async () => {
      for (;;) {
        let m: PushServerMessage__Output | undefined;
        try {
          m = await next();
        } catch {
          return undefined;
        }
        if (!m) return undefined;
        if (m.error) return { code: m.error.code, message: m.error.message };
      }
    },
    close: () => {
      call.cancel();
      conn.close();
    },
  };
}

export interface RawPull {
  send(m: PullClientMessage): void;
  next(): Promise<PullServerMessage__Output | undefined>;
  /** Every message up to the end of the call. */
  rest(): Promise<PullServerMessage__Output[]>;
  close(): void;
}

/** A raw Pull session (header sent); data over gRPC unless `forceGrpcData` is false. */
export async function rawPull(port: number, module: string, rel: string, mode: 'MODE_MOVE' | 'MODE_COPY', opts: { forceGrpcData?: boolean; removeEmptiedRoot?: boolean } = {}): Promise<RawPull> {
  const conn = await connectDaemon({ host: '127.0.0.1', port });
  const call = conn.client.Pull();
  // The reader the client and daemon use; a call error counts as the end (the tests look at the
  // RemoteError messages the daemon sent before it, not at the gRPC status).
  const read = messageReader<PullServerMessage__Output>(call);
  const next = (): Promise<PullServerMessage__Output | undefined> => read().catch(() => undefined);
  call.write({
    header: {
      protocolVersion: PROTOCOL_VERSION,
      module,
      path: Buffer.from(rel),
      options: { mode, compare: 'COMPARE_DEFAULT', filter: { excludes: [], includes: [] }, forceGrpcData: opts.forceGrpcData ?? true },
      removeEmptiedRoot: opts.removeEmptiedRoot ?? false,
    },
  });
  return {
    send: (m) => call.write(m),
    next,
    rest: async () => {
      const out: PullServerMessage__Output[] = [];
      for (let m = await next(); m; m = await next()) out.push(m);
      return out;
    },
    close: () => {
      call.cancel();
      conn.close();
    },
  };
}

/** A wire FileEntry for a regular file. */
export function fileEntry(rel: string | Buffer, size: number): FileEntry {
  return { path: Buffer.from(rel), kind: 'ENTRY_KIND_FILE', size, mtimeSec: 1_000_000_000, mtimeNsec: 5, mode: 0o644 };
}

/** Connect a raw socket and send `bytes`; resolves with what came back before the socket closed. */
export function rawExchange(port: number, bytes: Buffer, host = '127.0.0.1', timeoutMs = 5000): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ received: Buffer.concat(got), closed: false });
    }, timeoutMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => got.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(got), closed: true });
    });
  });
}

/** A loopback TCP port nothing listens on right now (listened on, then closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Open a data stream with a valid token; resolves with the socket once the daemon accepted it. */
export function openDataStream(port: number, token: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => s.write(Buffer.concat([Buffer.from('BLITDATA'), Buffer.from([1]), token])));
    s.once('data', (d) => (d[0] === 1 ? resolve(s) : reject(new Error('not accepted'))));
    s.on('error', reject);
    s.once('close', () => reject(new Error('closed before accept')));
  });
}

/** A data-plane frame header: [u8 type][u64 index][u64 length]. */
export function frame(type: number, index: number, length: number | bigint, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(17);
  h[0] = type;
  h.writeBigUInt64BE(BigInt(index), 1);
  h.writeBigUInt64BE(BigInt(length), 9);
  return Buffer.concat([h, payload]);
}

/** One file as data-plane frames: FILE_START, DATA frames of at most `frameBytes`, FILE_END. */
export function fileFrames(index: number, content: Buffer, frameBytes: number): Buffer[] {
  const out = [frameHeader(FrameType.FileStart, index, 0)];
  for (let off = 0; off < content.length; off += frameBytes) {
    const piece = content.subarray(off, off + frameBytes);
    out.push(frameHeader(FrameType.Data, index, piece.length), piece);
  }
  out.push(frameHeader(FrameType.FileEnd, index, 0));
  return out;
}

/** A TCP forwarder from 127.0.0.1:<port> to target; only the gRPC port is forwarded. */
export function forwarder(targetHost: string, targetPort: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((c) => {
      const up = net.connect({ host: targetHost, port: targetPort });
      sockets.add(c);
      sockets.add(up);
      c.pipe(up);
      up.pipe(c);
      const done = (): void => {
        c.destroy();
        up.destroy();
      };
      c.on('error', done);
      up.on('error', done);
      c.on('close', done);
      up.on('close', done);
    });
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          server.close();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}

/** A sender's queue item for `data` written to `<dir>/<name>` (its real mtime, mode 0644). */
export function outgoing(dir: string, index: number, name: string, data: Buffer): OutgoingFile {
  const abs = path.join(dir, name);
  fs.writeFileSync(abs, data);
  const st = fs.statSync(abs, { bigint: true });
  const entry: Entry = { rel: Buffer.from(name), kind: 'file', size: data.length, mtimeNs: st.mtimeNs, mode: 0o644, uid: 0, gid: 0 };
  return { index, abs: Buffer.from(abs), entry };
}

/** A gRPC server with only the given handlers (a stand-in for another blitd, e.g. an older one). */
export async function fakeDaemon(handlers: grpc.UntypedServiceImplementation): Promise<{ port: number; stop: () => void }> {
  const server = new grpc.Server();
  server.addService(blitService().service, handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, stop: () => server.forceShutdown() };
}
