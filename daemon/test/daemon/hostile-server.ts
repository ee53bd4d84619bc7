/**
 * A hostile blitd for the blit client: a real @grpc/grpc-js server on loopback serving blit.proto,
 * whose handlers each test scripts (what a malicious or compromised server could send to a user
 * running `blit copy HOST:/mod/path ./local` or an admin verb). A handler may write a typed
 * message (encoded by the proto as blitd's are) or raw bytes (hostile-client.ts's encoders: any
 * field, count or size). The pull flow's usual steps are helpers (PullSession), and a fake TCP
 * data plane speaks dataplane.ts's hello and frames, so a test falsifies only the step it attacks.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { blitClientConstructor, PROTOCOL_VERSION } from '@blit/proto';
import type * as pb from '@blit/proto';
import { ACK_ACCEPTED, FrameType, HEADER_BYTES, HELLO_BYTES, TOKEN_BYTES } from '../../src/remote/dataplane';
import { tempDir } from './harness';

export type Handler = grpc.UntypedHandleCall;

export interface FakeServer {
  port: number;
  /** Every Pull call's end (or failure) so far; a test awaits its script's end through it. */
  scriptErrors: Error[];
  close(): Promise<void>;
}

/**
 * Serves `handlers` (method name -> grpc-js handler); the others answer UNIMPLEMENTED. Responses
 * that are Buffers go out as they are (raw protobuf); anything else through the proto encoder.
 */
export async function startFakeServer(handlers: Record<string, Handler>): Promise<FakeServer> {
  const service = blitClientConstructor().service;
  const rawCapable: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const encode = def.responseSerialize;
    rawCapable[name] = { ...def, responseSerialize: (m: unknown) => (Buffer.isBuffer(m) ? m : encode(m)) };
  }
  const server = new grpc.Server({ 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  server.addService(rawCapable, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    scriptErrors: [],
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

export type PullCall = grpc.ServerDuplexStream<pb.PullClientMessage__Output, pb.PullServerMessage | Buffer>;

/** One client's Pull call, with the honest steps as helpers. */
export class PullSession {
  private readonly queue: pb.PullClientMessage__Output[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  readonly header: Promise<pb.PullHeader__Output>;
  /** Manifest indices the client asked for (filled by untilNeedComplete). */
  readonly needs: number[] = [];

  constructor(readonly call: PullCall) {
    call.on('data', (m: pb.PullClientMessage__Output) => {
      this.queue.push(m);
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    call.on('end', end);
    call.on('error', end);
    call.on('cancelled', end);
    this.header = this.next().then((m) => {
      if (!m?.header) throw new Error('the client did not start with a header');
      return m.header;
    });
  }

  /** The client's next message; undefined once it ended or cancelled the call. */
  async next(): Promise<pb.PullClientMessage__Output | undefined> {
    while (this.queue.length === 0 && !this.ended) await new Promise<void>((r) => (this.wake = r));
    return this.queue.shift();
  }

  send(m: pb.PullServerMessage | Buffer): void {
    this.call.write(m);
  }

  /** Source described, negotiation (TCP when `tcp` is given, else none), one manifest batch, complete. */
  async offer(entries: pb.FileEntry[], opts: { isDir?: boolean; tcp?: FakeDataPlane; batches?: pb.FileEntry[][] } = {}): Promise<void> {
    await this.header;
    this.send({ source: { isDir: opts.isDir ?? true } });
    this.send({ negotiation: opts.tcp ? opts.tcp.negotiation() : { tcpPort: 0, streams: 0, token: Buffer.alloc(0) } });
    const batches = opts.batches ?? [entries];
    for (const b of batches) this.send({ manifest: { entries: b } });
    this.send({ manifestComplete: { complete: true, totalEntries: batches.reduce((n, b) => n + b.length, 0) } });
  }

  /** Reads needs until need_complete; true when the client said it keeps no TCP stream (gRPC data). */
  async untilNeedComplete(): Promise<{ grpcData: boolean }> {
    let kept: number[] | undefined;
    for (;;) {
      const m = await this.next();
      if (!m) throw new Error('the client ended the call before need_complete');
      if (m.need) {
        this.needs.push(...m.need.indices);
        kept ??= m.need.streamsKept?.indices;
      }
      if (m.needComplete) {
        kept ??= m.needComplete.streamsKept?.indices;
        return { grpcData: (kept ?? []).length === 0 };
      }
    }
  }

  /** FileData messages for one whole file (one chunk), over gRPC. */
  sendFileGrpc(index: number, data: Buffer): void {
    this.send({ fileData: { index, offset: 0, data, last: true } });
  }

  /** data_complete, then wait for the client's `done` (or its end) and end the call. */
  async finish(): Promise<void> {
    this.send({ dataComplete: true });
    for (;;) {
      const m = await this.next();
      if (!m || m.done) break;
    }
    this.call.end();
  }
}

/** A Pull handler running `script` per call; an exception in it is kept for the test to see. */
export function pullHandler(script: (s: PullSession) => Promise<void>, errors?: Error[]): Handler {
  return ((call: PullCall) => {
    const s = new PullSession(call);
    script(s).catch((err: Error) => {
      errors?.push(err);
      try {
        call.end();
      } catch {
        // the call is gone already
      }
    });
  }) as Handler;
}

/** A FileEntry as blitd sends one. */
export function fileEntry(rel: string | Buffer, size: number, extra: Partial<pb.FileEntry> = {}): pb.FileEntry {
  return { path: Buffer.from(rel), kind: 'ENTRY_KIND_FILE', size, mtimeSec: 1_700_000_000, mtimeNsec: 0, mode: 0o644, ...extra };
}

export function dirEntry(rel: string | Buffer): pb.FileEntry {
  return { path: Buffer.from(rel), kind: 'ENTRY_KIND_DIR', size: 0, mtimeSec: 1_700_000_000, mtimeNsec: 0, mode: 0o755 };
}

export function symlinkEntry(rel: string | Buffer, target: string): pb.FileEntry {
  return { path: Buffer.from(rel), kind: 'ENTRY_KIND_SYMLINK', size: 0, mtimeSec: 1_700_000_000, mtimeNsec: 0, mode: 0o777, linkTarget: Buffer.from(target) };
}

/** A data-plane frame (dataplane.ts): header u8 type | u64 index | u64 length, then the payload. */
export function frame(type: number, index: number | bigint, payload: Buffer = Buffer.alloc(0), length: number | bigint = payload.length): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h[0] = type;
  h.writeBigUInt64BE(BigInt(index), 1);
  h.writeBigUInt64BE(BigInt(length), 9);
  return Buffer.concat([h, payload]);
}

/** FILE_START, one DATA frame (when not empty), FILE_END. */
export function fileFrames(index: number, data: Buffer): Buffer {
  return Buffer.concat([frame(FrameType.FileStart, index), ...(data.length > 0 ? [frame(FrameType.Data, index, data)] : []), frame(FrameType.FileEnd, index)]);
}

export const streamEnd = (): Buffer => frame(FrameType.StreamEnd, 0, Buffer.from([0]));

/**
 * A fake TCP data plane: accepts any hello (BLITDATA, version, a token) with the accept byte and
 * hands the socket to the test, which then writes whatever frames it likes.
 */
export class FakeDataPlane {
  private readonly server = net.createServer();
  readonly sockets: net.Socket[] = [];
  private waiting: ((s: net.Socket) => void) | undefined;

  static async start(): Promise<FakeDataPlane> {
    const d = new FakeDataPlane();
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', r));
    return d;
  }

  private constructor() {
    this.server.on('connection', (sock) => {
      sock.on('error', () => {});
      let hello = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        hello = Buffer.concat([hello, d]);
        if (hello.length < HELLO_BYTES) return;
        sock.off('data', onData);
        sock.write(Buffer.from([ACK_ACCEPTED]));
        this.sockets.push(sock);
        this.waiting?.(sock);
      };
      sock.on('data', onData);
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  negotiation(streams = 1): pb.DataTransferNegotiation {
    return { tcpPort: this.port, streams, token: Buffer.alloc(streams * TOKEN_BYTES, 7), tokenTtlMs: 5000 };
  }

  /** The first accepted stream (waits for the client's hello). */
  async stream(): Promise<net.Socket> {
    if (this.sockets[0]) return this.sockets[0];
    return new Promise((r) => (this.waiting = r));
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

export { PROTOCOL_VERSION };

export interface HostilePullFixture {
  /** The fake server's port (one server for the describe). */
  readonly port: number;
  /** This test's temp directory. */
  readonly dir: string;
  /** `<dir>/dst`, created empty: where the test's blit pulls to. */
  readonly dst: string;
  /** `127.0.0.1:PORT:/m/src/`: the pull source on the fake server. */
  readonly source: string;
  /** What the server does with the next Pull call (set by each test). */
  script: (s: PullSession) => Promise<void>;
}

/**
 * The set-up the hunt-server pull tests share: a fake server for the describe serving Pull through
 * `script` (and `handlers`, e.g. Handshake), a fresh temp directory with an empty `dst/` per test.
 * Registers the mocha hooks of the describe it is called in (as module-fixture.ts).
 */
export function hostilePullFixture(prefix: string, handlers: Record<string, Handler> = {}): HostilePullFixture {
  let server: FakeServer | undefined;
  let tmp: { dir: string; cleanup: () => void } | undefined;
  const must = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`hostile pull fixture: ${what}`);
    return v;
  };
  const fx: HostilePullFixture = {
    get port() {
      return must(server, 'no server (before hook not run)').port;
    },
    get dir() {
      return must(tmp, 'no temp directory outside a test').dir;
    },
    get dst() {
      return path.join(fx.dir, 'dst');
    },
    get source() {
      return `127.0.0.1:${fx.port}:/m/src/`;
    },
    script: () => Promise.reject(new Error('hostile pull fixture: the test set no script')),
  };
  before(async () => {
    server = await startFakeServer({ Pull: pullHandler((s) => fx.script(s)), ...handlers });
  });
  after(async () => server?.close());
  beforeEach(() => {
    tmp = tempDir(prefix);
    fs.mkdirSync(fx.dst);
  });
  afterEach(() => {
    tmp?.cleanup();
    tmp = undefined;
  });
  return fx;
}
