/**
 * The data plane under abuse, against a REAL blitd: token misuse (wrong, reused, expired) on raw
 * sockets, malformed and oversized frames after a valid token, out-of-range gRPC FileData, and
 * the automatic gRPC fallback when the data port cannot be reached. Every case: the socket or
 * the push is refused, no file (and no temp file) appears, and the daemon keeps serving.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createServer as netServer, type AddressInfo } from 'node:net';
import type * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { PullClientMessage__Output, PullServerMessage } from '@blit/proto';
import { manifestEntries } from '../../src/remote/convert';
import { FrameDecoder, streamEndFrame } from '../../src/remote/dataplane';
import { packEntries } from '../../src/remote/manifest-pack';
import { runBlit, startDaemon, stopped, tcpReceiveQueue, tempDir, waitFor, writeTree, type Daemon } from './harness';
import {
  assertSameTree,
  fakeDaemon,
  fileEntry,
  fileFrames,
  forwarder,
  frame,
  jsonSummary,
  makeSourceTree,
  openDataStream,
  rawExchange,
  rawPull,
  rawPush,
  tempFilesIn,
  type RawPush,
} from './transfer-helpers';

const hello = (token: Buffer): Buffer => Buffer.concat([Buffer.from('BLITDATA'), Buffer.from([1]), token]);

describe('remote data plane: tokens, frames, fallback (real blitd)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let daemon: Daemon;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-dataplane-');
    moduleDir = path.join(tmp.dir, 'module');
    fs.mkdirSync(moduleDir);
    daemon = await startDaemon(['--port', '0', '--root', moduleDir]);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    // Every failure above must have been handled: no crash path, no stray rejection.
    assert.doesNotMatch(log, /unhandled error|uncaught/i);
  });

  /** A push of one 10-byte file 'f' into `dir`, read up to need_complete. */
  async function pushNeedingOneFile(dir: string, forceGrpcData = false): Promise<{ push: RawPush; port: number; tokens: Buffer }> {
    const push = await rawPush(daemon.port, 'default', dir, { forceGrpcData });
    const neg = (await push.until('negotiation')).negotiation!;
    push.call.write({ manifest: { entries: [fileEntry('f', 10)] } });
    push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
    const need = (await push.until('need')).need!;
    assert.deepEqual(need.indices, [0]);
    await push.until('needComplete');
    return { push, port: neg.tcpPort, tokens: neg.token };
  }

  function assertNothingWritten(dir: string): void {
    const abs = path.join(moduleDir, dir);
    assert.ok(!fs.existsSync(path.join(abs, 'f')), 'no file under the real name');
    assert.deepEqual(tempFilesIn(moduleDir), [], 'no temp file left');
  }

  it('offers 32-byte single-use tokens, one per stream, with a short lifetime', async () => {
    const push = await rawPush(daemon.port, 'default', 'tok0');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      assert.ok(neg.tcpPort > 0);
      assert.ok(neg.streams >= 1);
      assert.equal(neg.token.length, 32 * neg.streams);
      assert.ok(neg.tokenTtlMs > 0 && neg.tokenTtlMs <= 10_000);
    } finally {
      push.close();
    }
  });

  it('a wrong token: socket closed without an answer, nothing written', async () => {
    const push = await rawPush(daemon.port, 'default', 'tok1');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      const r = await rawExchange(neg.tcpPort, hello(crypto.randomBytes(32)));
      assert.equal(r.closed, true);
      assert.equal(r.received.length, 0, 'no accept byte');
      const garbage = await rawExchange(neg.tcpPort, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(20)));
      assert.equal(garbage.closed, true);
      assert.equal(garbage.received.length, 0);
    } finally {
      push.close();
    }
    assert.ok(!fs.existsSync(path.join(moduleDir, 'tok1', 'f')));
  });

  it('a reused token: the second socket is closed, the first keeps its stream', async () => {
    const push = await rawPush(daemon.port, 'default', 'tok2');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      const token = neg.token.subarray(0, 32);
      const first = await openDataStream(neg.tcpPort, token);
      const again = await rawExchange(neg.tcpPort, hello(token));
      assert.equal(again.closed, true);
      assert.equal(again.received.length, 0, 'reused token not accepted');
      assert.equal(first.destroyed, false, 'the first socket is still open');
      first.destroy();
    } finally {
      push.close();
    }
  });

  it('an expired token: closed without an answer (blitd --data-token-ttl-ms 300)', async () => {
    const short = await startDaemon(['--port', '0', '--root', moduleDir, '--data-token-ttl-ms', '300']);
    const push = await rawPush(short.port, 'default', 'tok3');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      assert.equal(neg.tokenTtlMs, 300);
      await new Promise((r) => setTimeout(r, neg.tokenTtlMs + 200));
      const late = await rawExchange(neg.tcpPort, hello(neg.token.subarray(0, 32)));
      assert.equal(late.closed, true);
      assert.equal(late.received.length, 0, 'late token not accepted');
      assert.ok(!fs.existsSync(path.join(moduleDir, 'tok3', 'f')));
    } finally {
      push.close();
      await short.stop();
    }
  });

  const badFrames: [string, (s: import('node:net').Socket) => void][] = [
    ['more bytes than the manifest size', (s) => s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 20, Buffer.alloc(20, 1))]))],
    ['an oversized frame length', (s) => s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 1n << 40n)]))],
    ['an unknown frame type', (s) => s.write(frame(9, 0, 0))],
    ['an index that is not in the need-list', (s) => s.write(Buffer.concat([frame(1, 7, 0), frame(2, 7, 10, Buffer.alloc(10))]))],
    ['a file that ends short', (s) => s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 5, Buffer.alloc(5, 1)), frame(3, 0, 0)]))],
    ['data for a file that is not open', (s) => s.write(frame(2, 0, 10, Buffer.alloc(10)))],
  ];
  badFrames.forEach(([what, send], i) => {
    it(`TCP frame with ${what}: BadFrame, no file, no temp`, async () => {
      const dir = `frame${i}`;
      const { push, port, tokens } = await pushNeedingOneFile(dir);
      try {
        const s = await openDataStream(port, tokens.subarray(0, 32));
        const closed = new Promise<void>((r) => s.on('close', () => r()));
        s.on('error', () => undefined);
        send(s);
        const err = await push.error();
        assert.equal(err?.code, 'BadFrame', `daemon error: ${JSON.stringify(err)}`);
        await closed;
      } finally {
        push.close();
      }
      assertNothingWritten(dir);
    });
  });

  /** Resolves once `rel` exists under the module (a small file is committed by the writer). */
  async function committedFile(rel: string): Promise<void> {
    for (let i = 0; i < 250 && !fs.existsSync(path.join(moduleDir, rel)); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fs.existsSync(path.join(moduleDir, rel)), `${rel} committed`);
  }

  it('a file sent again after it was committed (TCP): BadFrame "sent twice", the committed file stays', async () => {
    const { push, port, tokens } = await pushNeedingOneFile('again-tcp');
    try {
      const s = await openDataStream(port, tokens.subarray(0, 32));
      s.on('error', () => undefined);
      s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 10, Buffer.from('first.....')), frame(3, 0, 0)]));
      await committedFile('again-tcp/f');
      s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 10, Buffer.from('second....')), frame(3, 0, 0)]));
      const err = await push.error();
      assert.equal(err?.code, 'BadFrame', `daemon error: ${JSON.stringify(err)}`);
      assert.match(String(err?.message), /index 0 sent twice/);
    } finally {
      push.close();
    }
    assert.equal(fs.readFileSync(path.join(moduleDir, 'again-tcp/f'), 'utf8'), 'first.....');
    assert.deepEqual(tempFilesIn(moduleDir), [], 'no temp file left');
  });

  it('a file sent again after it was committed (gRPC): BadFrame, the committed file stays', async () => {
    const { push } = await pushNeedingOneFile('again-grpc', true);
    try {
      push.call.write({ fileData: { index: 0, offset: 0, data: Buffer.from('first.....'), last: true } });
      await committedFile('again-grpc/f');
      push.call.write({ fileData: { index: 0, offset: 0, data: Buffer.from('second....'), last: true } });
      const err = await push.error();
      assert.equal(err?.code, 'BadFrame', `daemon error: ${JSON.stringify(err)}`);
      assert.match(String(err?.message), /index 0, which is not open on the gRPC path/);
    } finally {
      push.close();
    }
    assert.equal(fs.readFileSync(path.join(moduleDir, 'again-grpc/f'), 'utf8'), 'first.....');
    assert.deepEqual(tempFilesIn(moduleDir), [], 'no temp file left');
  });

  it('gRPC FileData with an out-of-range index: BadFrame, no file', async () => {
    const { push } = await pushNeedingOneFile('grpc-index', true);
    try {
      push.call.write({ fileData: { index: 99, offset: 0, data: Buffer.alloc(10), last: true } });
      const err = await push.error();
      assert.equal(err?.code, 'BadFrame');
    } finally {
      push.close();
    }
    assertNothingWritten('grpc-index');
  });

  it('gRPC FileData with too many bytes: BadFrame, no file', async () => {
    const { push } = await pushNeedingOneFile('grpc-size', true);
    try {
      push.call.write({ fileData: { index: 0, offset: 0, data: Buffer.alloc(8, 1), last: false } });
      push.call.write({ fileData: { index: 0, offset: 8, data: Buffer.alloc(8, 1), last: true } });
      const err = await push.error();
      assert.equal(err?.code, 'BadFrame');
    } finally {
      push.close();
    }
    assertNothingWritten('grpc-size');
  });

  it('a valid TCP stream after all that still writes the file (the daemon keeps serving)', async () => {
    const { push, port, tokens } = await pushNeedingOneFile('good');
    try {
      const s = await openDataStream(port, tokens.subarray(0, 32));
      // Unused offered streams simply end; each accepted stream ends with STREAM_END.
      s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 10, Buffer.from('0123456789')), frame(3, 0, 0), frame(5, 0, 1, Buffer.from([0]))]));
      push.call.write({ dataComplete: true });
      const summary = (await push.until('summary')).summary!;
      assert.equal(summary.filesTransferred, 1);
      assert.equal(summary.tcpDataPlane, true);
      s.destroy();
    } finally {
      push.close();
    }
    assert.equal(fs.readFileSync(path.join(moduleDir, 'good', 'f'), 'utf8'), '0123456789');
  });

  it('a file the sender gives up on (FILE_ERROR) is failed and dropped; the next file is written', async () => {
    const push = await rawPush(daemon.port, 'default', 'gaveup');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      push.call.write({ manifest: { entries: [fileEntry('a', 10), fileEntry('b', 3)] } });
      push.call.write({ manifestComplete: { complete: true, totalEntries: 2 } });
      await push.until('needComplete');
      const s = await openDataStream(neg.tcpPort, neg.token.subarray(0, 32));
      const err = Buffer.from(JSON.stringify({ code: 'SourceChanged', reason: 'the file changed while it was being sent' }));
      s.write(Buffer.concat([
        frame(1, 0, 0), frame(2, 0, 5, Buffer.alloc(5, 1)), frame(4, 0, err.length, err),
        frame(1, 1, 0), frame(2, 1, 3, Buffer.from('bbb')), frame(3, 1, 0), frame(5, 0, 1, Buffer.from([0])),
      ]));
      push.call.write({ dataComplete: true });
      const summary = (await push.until('summary')).summary!;
      assert.equal(summary.filesTransferred, 1);
      assert.deepEqual(summary.failures.map((f) => [f.path.toString(), f.code]), [['a', 'SourceChanged']]);
      s.destroy();
    } finally {
      push.close();
    }
    assert.ok(!fs.existsSync(path.join(moduleDir, 'gaveup', 'a')));
    assert.equal(fs.readFileSync(path.join(moduleDir, 'gaveup', 'b'), 'utf8'), 'bbb');
    assert.deepEqual(tempFilesIn(moduleDir), []);
  });

  // busy-admin: a client whose wait for the accept byte ran out drops a stream blitd accepted
  // (DEVLOG hunt-load) and sends on the others. Before: `data stream 1 closed before its end`.
  it('a stream the client closed before its first byte is dropped; the push completes on the others', async () => {
    const { push, port, tokens } = await pushNeedingOneFile('dropped');
    try {
      assert.ok(tokens.length >= 64, 'two streams offered');
      const kept = await openDataStream(port, tokens.subarray(0, 32));
      const dropped = await openDataStream(port, tokens.subarray(32, 64));
      const gone = new Promise<void>((r) => dropped.on('close', () => r()));
      dropped.destroy();
      await gone;
      kept.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 10, Buffer.from('0123456789')), frame(3, 0, 0), frame(5, 0, 1, Buffer.from([0]))]));
      push.call.write({ dataComplete: true });
      const summary = (await push.until('summary')).summary!;
      assert.equal(summary.filesTransferred, 1);
      assert.deepEqual(summary.failures, []);
      kept.destroy();
    } finally {
      push.close();
    }
    assert.equal(fs.readFileSync(path.join(moduleDir, 'dropped', 'f'), 'utf8'), '0123456789');
    assert.deepEqual(tempFilesIn(moduleDir), []);
  });

  // pull-kept: the pull side of the case above. A client that gave up waiting for an accept byte
  // drops a stream blitd may accept anyway. Before StreamsKept, blitd sent on every accepted
  // stream still open at the first need: when the close arrived together with that need, the
  // sender on the dead stream failed the pull (EPIPE/ECONNRESET) or lost the files it wrote.
  describe('pull: a stream the client dropped after blitd accepted it', () => {
    const files: Record<string, Buffer> = { 'big.bin': crypto.randomBytes(3 << 20) };
    for (let i = 0; i < 40; i++) files[`sub/f${i}.bin`] = crypto.randomBytes(1000 + i * 7919);

    before(() => writeTree(path.join(moduleDir, 'pull-kept'), files));

    interface Pulled {
      received: Map<string, Buffer>;
      /** Files that came on the data streams (the rest over gRPC). */
      onStreams: number;
      errors: string[];
    }

    /**
     * A raw pull of `pull-kept/` that connects every offered stream, then, with blitd stopped,
     * closes the streams `drop` names and sends its need (saying `kept` when given) and
     * need_complete, so that blitd reads the closes and the need in one go when it resumes.
     */
    async function pullDropping(drop: (streams: number) => number[], kept: ((streams: number) => number[]) | undefined): Promise<Pulled> {
      const p = await rawPull(daemon.port, 'default', 'pull-kept/', 'MODE_COPY', { forceGrpcData: false });
      const sockets: net.Socket[] = [];
      const out: Pulled = { received: new Map(), onStreams: 0, errors: [] };
      try {
        const rels = new Map<number, string>();
        let neg;
        let index = 0;
        for (;;) {
          const m = await p.next();
          assert.ok(m, 'the call ended before manifest_complete');
          assert.ok(!m.error, m.error?.message);
          if (m.negotiation) neg = m.negotiation;
          if (m.manifest) for (const e of manifestEntries(m.manifest)) if (e.entry.kind === 'file') rels.set(index++, e.entry.rel.toString()); else index++;
          if (m.manifestComplete) break;
        }
        assert.ok(neg && neg.tcpPort > 0 && neg.streams >= 2, 'two or more streams offered');
        const n = neg.streams;
        const ended: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const s = await openDataStream(neg.tcpPort, neg.token.subarray(i * 32, (i + 1) * 32));
          sockets.push(s);
          if (drop(n).includes(i)) continue;
          let cur: Buffer[] = [];
          const decoder = new FrameDecoder({
            fileStart: () => (cur = []),
            data: (_i, chunk) => cur.push(Buffer.from(chunk)),
            fileEnd: (fi) => {
              out.received.set(rels.get(fi)!, Buffer.concat(cur));
              out.onStreams++;
            },
            fileError: (fi, code, reason) => out.errors.push(`${rels.get(fi)}: ${code} ${reason}`),
            streamEnd: () => undefined,
          });
          ended.push(new Promise((resolve, reject) => {
            s.on('data', (d: Buffer) => decoder.push(d));
            s.on('close', () => (decoder.streamEnded ? resolve() : reject(new Error(`data stream ${i} closed before STREAM_END`))));
          }));
        }
        const pid = daemon.proc.pid!;
        try {
          // The stop is asynchronous: a blitd still running reads the closes before the need (and
          // the pull passes without StreamsKept), which a sleep after the sends did not rule out.
          await stopped(pid);
          for (const i of drop(n)) {
            const gone = new Promise<void>((r) => sockets[i]!.once('close', () => r()));
            sockets[i]!.destroy();
            await gone;
          }
          const streamsKept = kept ? { streamsKept: { indices: kept(n) } } : {};
          // Each message waits, unread, on blitd's gRPC socket before the next is sent and blitd
          // resumes: it then reads the closes and both messages in one go, under any load.
          const queued = (): number => tcpReceiveQueue(daemon.port);
          for (const m of [{ need: { indices: [...rels.keys()], ...streamsKept } }, { needComplete: { totalFiles: rels.size, totalBytes: 0 } }]) {
            const before = queued();
            p.send(m);
            await waitFor(() => queued() > before, 10_000, `${Object.keys(m)[0]} queued on blitd's gRPC socket (${before} bytes before)`);
          }
        } finally {
          process.kill(pid, 'SIGCONT');
        }
        for (;;) {
          const m = await p.next();
          if (!m) {
            out.errors.push('the call ended before data_complete');
            break;
          }
          if (m.error) out.errors.push(`${m.error.code}: ${m.error.message}`);
          if (m.fileFailure) out.errors.push(`${m.fileFailure.path.toString()}: ${m.fileFailure.code} ${m.fileFailure.reason}`);
          if (m.fileData) {
            const rel = rels.get(m.fileData.index)!;
            out.received.set(rel, Buffer.concat([out.received.get(rel) ?? Buffer.alloc(0), m.fileData.data]));
          }
          if (m.dataComplete) break;
        }
        if (out.errors.length === 0) {
          for (const s of sockets) s.end();
          await Promise.all(ended);
          p.send({ done: true });
          for (const m of await p.rest()) if (m.error) out.errors.push(`${m.error.code}: ${m.error.message}`);
        }
      } finally {
        for (const s of sockets) s.destroy();
        p.close();
      }
      return out;
    }

    function assertEveryFile(got: Pulled): void {
      assert.deepEqual(got.errors, []);
      assert.deepEqual([...got.received.keys()].sort(), Object.keys(files).sort());
      for (const [rel, data] of Object.entries(files)) assert.ok(got.received.get(rel)!.equals(data), `${rel}: bytes differ`);
    }

    it('the client says it kept stream 0: blitd sends on it alone, every file arrives byte-exact', async () => {
      const got = await pullDropping((n) => Array.from({ length: n - 1 }, (_, i) => i + 1), () => [0]);
      assertEveryFile(got);
      assert.equal(got.onStreams, Object.keys(files).length, 'every file on the kept stream');
    });

    it('the client kept none (its gRPC fallback): blitd sends over gRPC, every file arrives', async () => {
      const got = await pullDropping((n) => Array.from({ length: n }, (_, i) => i), () => []);
      assertEveryFile(got);
      assert.equal(got.onStreams, 0);
    });

    it('an older client that does not say which streams it kept: blitd sends on every accepted stream', async () => {
      const got = await pullDropping(() => [], undefined);
      assertEveryFile(got);
      assert.equal(got.onStreams, Object.keys(files).length);
    });

    after(() => assert.doesNotMatch(daemon.stderr(), /pull failed/));
  });

  // The client's half of StreamsKept: the real `blit` against a stand-in daemon that records what
  // the client says (the cases above are blitd's half, with a raw client).
  describe('pull: the real client says which streams it kept, once', () => {
    const TOKENS = crypto.randomBytes(64);

    /**
     * Pulls `x/` from a stand-in daemon offering two data streams (token TTL 1 s: the client waits
     * 2 s for an accept byte) on a listener that never answers stream 0 and accepts stream 1
     * (a position in the list kept is not its token's index). The manifest holds `files`; their
     * bytes go on stream 1. Returns the messages the client sent.
     */
    async function pullFromStandIn(files: Record<string, string>, env: NodeJS.ProcessEnv): Promise<{ sent: PullClientMessage__Output[]; dst: string }> {
      const held: net.Socket[] = [];
      let stream1: net.Socket | undefined;
      const data = netServer((s) => {
        held.push(s);
        let got = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length < hello(TOKENS.subarray(32)).length) return;
          if (got.equals(hello(TOKENS.subarray(32)))) {
            stream1 = s;
            s.write(Buffer.from([1]));
          }
        });
        s.on('error', () => undefined);
      });
      const port = await new Promise<number>((r) => data.listen(0, '127.0.0.1', () => r((data.address() as AddressInfo).port)));
      const rels = Object.keys(files);
      const sent: PullClientMessage__Output[] = [];
      const standIn = await fakeDaemon({
        Pull: (call: grpc.ServerDuplexStream<PullClientMessage__Output, PullServerMessage>) => {
          call.on('data', (m: PullClientMessage__Output) => {
            sent.push(m);
            if (m.header) {
              call.write({ source: { isDir: true } });
              call.write({ negotiation: { tcpPort: port, token: TOKENS, streams: 2, tokenTtlMs: 1000 } });
              const entries = rels.map((rel) => ({ entry: { rel: Buffer.from(rel), kind: 'file' as const, size: files[rel]!.length, mtimeNs: 1_000_000_000_000_000_000n, mode: 0o644, uid: 0, gid: 0 }, checksum: undefined }));
              if (entries.length > 0) call.write({ manifest: { packed: packEntries(entries) } });
              call.write({ manifestComplete: { complete: true, totalEntries: rels.length, scanFailures: [] } });
            }
            if (m.need) for (const i of m.need.indices) for (const b of fileFrames(Number(i), Buffer.from(files[rels[Number(i)]!]!), 1 << 16)) stream1!.write(b);
            if (m.needComplete) {
              if (stream1) stream1.end(streamEndFrame(false));
              call.write({ dataComplete: true });
            }
            if (m.done) call.end();
          });
        },
      });
      const dst = path.join(tmp.dir, `kept-${crypto.randomBytes(4).toString('hex')}`);
      try {
        const r = await runBlit(['copy', `127.0.0.1:${standIn.port}:/default/x/`, dst], { env: { ...env, BLIT_DISABLE_PERF_HISTORY: '1' } });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        standIn.stop();
        for (const s of held) s.destroy();
        data.close();
      }
      return { sent, dst };
    }

    it('stream 0 never answered: the first need names stream 1 alone, need_complete says nothing more', async () => {
      const { sent, dst } = await pullFromStandIn({ 'a.txt': 'hello' }, { BLIT_FORCE_GRPC_DATA: '' });
      const needs = sent.filter((m) => m.need || m.needComplete);
      assert.equal(needs.length, 2);
      assert.deepEqual(needs[0]!.need?.streamsKept?.indices, [1]);
      assert.equal(needs[1]!.needComplete?.streamsKept, null, 'told once');
      assert.equal(fs.readFileSync(path.join(dst, 'a.txt'), 'utf8'), 'hello');
    });

    it('gRPC data (no stream connected): the client says it kept none, an empty list, not nothing', async () => {
      const { sent } = await pullFromStandIn({}, { BLIT_FORCE_GRPC_DATA: '1' });
      const needs = sent.filter((m) => m.need || m.needComplete);
      assert.equal(needs.length, 1);
      assert.deepEqual(needs[0]!.needComplete?.streamsKept, { indices: [] });
    });
  });

  it('gRPC data: a file left without its last chunk is failed and dropped at data_complete', async () => {
    const { push } = await pushNeedingOneFile('grpc-short', true);
    try {
      push.call.write({ fileData: { index: 0, offset: 0, data: Buffer.alloc(5, 1), last: false } });
      push.call.write({ dataComplete: true });
      const summary = (await push.until('summary')).summary!;
      assert.equal(summary.filesTransferred, 0);
      assert.equal(summary.failures.length, 1);
    } finally {
      push.close();
    }
    assertNothingWritten('grpc-short');
  });

  it('TCP data port unreachable: falls back to gRPC data with a warning', async () => {
    // The daemon listens on 127.0.0.2; the client reaches its gRPC port only through a forwarder
    // on 127.0.0.1, so the data port it is offered (on 127.0.0.1) refuses the connection.
    const mod = path.join(tmp.dir, 'fallback-module');
    const src = path.join(tmp.dir, 'fallback-src');
    fs.mkdirSync(mod);
    fs.mkdirSync(src);
    makeSourceTree(src);
    const d = await startDaemon(['--port', '0', '--bind', '127.0.0.2', '--root', mod]);
    const fwd = await forwarder('127.0.0.2', d.port);
    try {
      const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${fwd.port}:/default/x`, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: TCP data plane unreachable/);
      assert.equal(jsonSummary(r.stdout).tcpDataPlane, false);
      assertSameTree(src, path.join(mod, 'x'));
      const back = path.join(tmp.dir, 'fallback-back');
      const p = await runBlit(['copy', `127.0.0.1:${fwd.port}:/default/x/`, back, '--json'], { env });
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stderr, /warning: TCP data plane unreachable/);
      assert.equal(jsonSummary(p.stdout).tcpDataPlane, false);
      assertSameTree(src, back);
    } finally {
      fwd.close();
      await d.stop();
    }
  });
});
