/**
 * The blit client against a hostile server (hostile-server.ts): counts and sizes it must not
 * trust (a manifest message that decodes into gigabytes, a negotiation offering a million data
 * streams), a server that never ends or never answers (Ctrl-C cancels cleanly, as README says),
 * and a server of another protocol version (a named refusal).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TOKEN_BYTES } from '../../src/remote/dataplane';
import { runBlit, startBlit, waitFor } from './harness';
import { ld, peakRss, repeat } from './hostile-client';
import { FakeDataPlane, fileEntry, fileFrames, hostilePullFixture, startFakeServer, streamEnd, PROTOCOL_VERSION } from './hostile-server';

const MB = 1024 * 1024;

describe('hunt-server: counts, silence and versions from a hostile server (real blit CLI)', function () {
  this.timeout(60_000);
  let handshake: (req: { protocolVersion: number }) => Record<string, unknown>;
  const fx = hostilePullFixture('blit-hunt-server-counts-', {
    Handshake: ((call: grpc.ServerUnaryCall<{ protocolVersion: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, handshake(call.request))) as grpc.UntypedHandleCall,
    ListModules: ((_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { modules: [{ name: 'm', comment: '', readOnly: false }] })) as grpc.UntypedHandleCall,
  });

  beforeEach(() => {
    handshake = () => ({ protocolVersion: PROTOCOL_VERSION, serverVersion: 'fake', accepted: true });
  });

  const args = (): string[] => ['copy', fx.source, `${fx.dst}/`, '--no-progress'];

  it('a 16 MB manifest message of 8 million empty entries is refused undecoded (BadFrame naming manifest.entries); the client stays small', async () => {
    fx.script = async (s) => {
      await s.header;
      s.send({ source: { isDir: true } });
      s.send({ negotiation: { tcpPort: 0, streams: 0, token: Buffer.alloc(0) } });
      // PullServerMessage{manifest (1): ManifestBatch{entries (1): 8M × empty FileEntry}}
      s.send(ld(1, repeat(Buffer.from([0x0a, 0x00]), 8_000_000)));
      await s.finish();
    };
    const run = startBlit(args());
    let peak = 0;
    const sample = setInterval(() => {
      try {
        peak = Math.max(peak, peakRss(run.pid));
      } catch {
        // exited
      }
    }, 50);
    const r = await run.done;
    clearInterval(sample);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /PullServerMessage of \d+ bytes refused undecoded: manifest\.entries holds more values.*\[BadFrame\]/);
    assert.ok(peak < 512 * MB, `client peak RSS ${(peak / MB).toFixed(0)} MB`);
    assert.deepEqual(fs.readdirSync(fx.dst), []);
  });

  it('a negotiation offering 100,000 data streams: the client opens at most 16 and the pull completes', async () => {
    let tcp: FakeDataPlane | undefined;
    let connections = 0;
    fx.script = async (s) => {
      tcp = await FakeDataPlane.start();
      try {
        await s.header;
        s.send({ source: { isDir: true } });
        s.send({ negotiation: { tcpPort: tcp.port, streams: 100_000, token: Buffer.alloc(100_000 * TOKEN_BYTES, 1), tokenTtlMs: 5000 } });
        s.send({ manifest: { entries: [fileEntry('a', 4)] } });
        s.send({ manifestComplete: { complete: true, totalEntries: 1 } });
        await s.untilNeedComplete();
        connections = tcp.sockets.length;
        const [first, ...rest] = tcp.sockets;
        first!.end(Buffer.concat([fileFrames(0, Buffer.from('aaaa')), streamEnd()]));
        for (const sock of rest) sock.end(streamEnd());
        await s.finish();
      } finally {
        tcp.close();
      }
    };
    const r = await runBlit(args());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(connections >= 1 && connections <= 16, `${connections} data streams opened`);
    assert.equal(fs.readFileSync(path.join(fx.dst, 'a'), 'utf8'), 'aaaa');
  });

  for (const what of ['an endless manifest stream', 'a server that never answers'] as const) {
    it(`${what}: Ctrl-C (SIGINT) cancels cleanly, exit 1 [Cancelled], nothing left in DST`, async () => {
      let sent = 0;
      let stop = false;
      fx.script = async (s) => {
        await s.header;
        if (what === 'a server that never answers') {
          sent = 1;
          while (!stop && (await s.next()) !== undefined);
          return;
        }
        s.send({ source: { isDir: true } });
        s.send({ negotiation: { tcpPort: 0, streams: 0, token: Buffer.alloc(0) } });
        const cancelled = s.next().then(() => (stop = true));
        while (!stop) {
          const entries = Array.from({ length: 1000 }, (_, i) => fileEntry(`d${sent}/f${i}`, 0));
          sent++;
          if (!s.call.write({ manifest: { entries } })) await new Promise((r) => s.call.once('drain', r));
          await new Promise((r) => setImmediate(r));
        }
        await cancelled;
      };
      const run = startBlit(args());
      await waitFor(() => sent >= (what === 'an endless manifest stream' ? 20 : 1), 30_000, 'the client is in the pull');
      run.kill('SIGINT');
      const r = await run.done;
      stop = true;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /\[Cancelled\]/);
      assert.deepEqual(fs.readdirSync(fx.dst), []);
    });
  }

  it('a server of another protocol version that still says "accepted": a named refusal (ProtocolMismatch), admin verb and pull', async () => {
    handshake = () => ({ protocolVersion: PROTOCOL_VERSION + 1, serverVersion: 'fake-9', accepted: true });
    const r = await runBlit(['list-modules', `127.0.0.1:${fx.port}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`protocol ${PROTOCOL_VERSION + 1}, this client speaks ${PROTOCOL_VERSION} \\[ProtocolMismatch\\]`));
    // A pull asks the Handshake why when the server does not serve Pull (as an older blitd).
    const noPull = await startFakeServer({ Handshake: ((_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, handshake({ protocolVersion: 0 }))) as grpc.UntypedHandleCall });
    try {
      const p = await runBlit(['copy', `127.0.0.1:${noPull.port}:/m/src/`, `${fx.dst}/`]);
      assert.equal(p.code, 1, p.stderr);
      assert.match(p.stderr, /\[ProtocolMismatch\]/);
      assert.deepEqual(fs.readdirSync(fx.dst), []);
    } finally {
      await noPull.close();
    }
  });

  it('a handshake refusal whose message carries ESC and newlines: shown escaped, named ProtocolMismatch', async () => {
    handshake = () => ({ protocolVersion: 99, serverVersion: 'x', accepted: false, message: 'old\x1b[2J\nblitd' });
    const r = await runBlit(['list-modules', `127.0.0.1:${fx.port}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!r.stderr.includes('\x1b'), r.stderr);
    assert.match(r.stderr, /old\\x1b\[2J\\x0ablitd \[ProtocolMismatch\]/);
  });
});
