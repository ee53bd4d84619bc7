/**
 * Push and pull skip the Handshake round trip: the call's header carries the protocol version
 * (and the client's version), and blitd refuses another version there with the Handshake's
 * message. A daemon that does not serve the call is still asked through the Handshake why.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { blitClientConstructor, PROTOCOL_VERSION, type PullServerMessage__Output, type PushServerMessage__Output } from '@blit/proto';
import { messageReader } from '../../src/remote/call-io';
import { runBlit, startDaemon, tempDir, type Daemon } from './harness';
import { fakeDaemon } from './transfer-helpers';

const VERSION = String(require('../../../../package.json').version);
const mismatch = (client: string): RegExp =>
  new RegExp(`^protocol mismatch: client speaks protocol 999 \\(blit ${client}\\), this daemon speaks protocol ${PROTOCOL_VERSION} \\(blitd ${VERSION.replace(/\./g, '\\.')}\\); install matching versions$`);

describe('push/pull without a Handshake round trip', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let d: Daemon;
  before(async () => {
    t = tempDir('blit-nohs-');
    fs.mkdirSync(path.join(t.dir, 'mod'));
    fs.mkdirSync(path.join(t.dir, 'src'));
    fs.writeFileSync(path.join(t.dir, 'src', 'f'), 'x');
    d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod')]);
  });
  after(async () => {
    await d.stop();
    t.cleanup();
  });

  it("blitd refuses a push or pull header of another protocol version with the Handshake's message", async () => {
    const c = new (blitClientConstructor())(`127.0.0.1:${d.port}`, grpc.credentials.createInsecure());
    try {
      for (const verb of ['push', 'pull'] as const) {
        const header = { protocolVersion: 999, clientVersion: 'test', module: 'default', path: Buffer.alloc(0) };
        const call = verb === 'push' ? c.Push() : c.Pull();
        const next = messageReader<PushServerMessage__Output | PullServerMessage__Output>(call);
        if (verb === 'push') (call as ReturnType<typeof c.Push>).write({ header });
        else (call as ReturnType<typeof c.Pull>).write({ header });
        const m = await next();
        assert.equal(m?.error?.code, 'ProtocolMismatch', verb);
        assert.match(m!.error!.message, mismatch('test'), verb);
        call.end();
      }
      // A header without the client's version (an older client) still gets a clear message.
      const call = c.Push();
      call.write({ header: { protocolVersion: 999, module: 'default', path: Buffer.alloc(0) } });
      const m = await messageReader<PushServerMessage__Output>(call)();
      assert.match(m!.error!.message, mismatch('unknown'));
    } finally {
      c.close();
    }
  });

  it('the CLI sends its version in the header and never calls Handshake', async () => {
    const calls: string[] = [];
    const headers: Array<{ protocolVersion: number; clientVersion: string }> = [];
    const refuse = (call: grpc.ServerDuplexStream<{ header?: { protocolVersion: number; clientVersion: string } }, unknown>): void => {
      call.once('data', (m) => {
        headers.push(m.header!);
        call.write({ error: { code: 'ProtocolMismatch', message: 'protocol mismatch: stand-in daemon' } });
        call.end();
      });
    };
    const fake = await fakeDaemon({
      Handshake: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        calls.push('Handshake');
        cb(null, { protocolVersion: PROTOCOL_VERSION, serverVersion: 'x', accepted: true, message: '' });
      },
      Push: (call: Parameters<typeof refuse>[0]) => (calls.push('Push'), refuse(call)),
      Pull: (call: Parameters<typeof refuse>[0]) => (calls.push('Pull'), refuse(call)),
    });
    try {
      const push = await runBlit(['copy', path.join(t.dir, 'src') + '/', `127.0.0.1:${fake.port}:/default/x/`]);
      const pull = await runBlit(['copy', `127.0.0.1:${fake.port}:/default/x/`, path.join(t.dir, 'pulled') + '/']);
      for (const r of [push, pull]) {
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /protocol mismatch: stand-in daemon \[ProtocolMismatch\]/);
      }
      assert.deepEqual(calls, ['Push', 'Pull']);
      assert.deepEqual(headers.map((h) => [h.protocolVersion, h.clientVersion]), [[PROTOCOL_VERSION, VERSION], [PROTOCOL_VERSION, VERSION]]);
    } finally {
      fake.stop();
    }
  });

  it('a daemon that does not serve push/pull is asked through the Handshake why', async () => {
    const fake = await fakeDaemon({
      Handshake: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { protocolVersion: 999, serverVersion: '9.9.9', accepted: false, message: 'protocol mismatch: this daemon speaks protocol 999' }),
    });
    try {
      const push = await runBlit(['copy', path.join(t.dir, 'src') + '/', `127.0.0.1:${fake.port}:/default/x/`]);
      const pull = await runBlit(['copy', `127.0.0.1:${fake.port}:/default/x/`, path.join(t.dir, 'pulled') + '/']);
      for (const r of [push, pull]) assert.match(r.stderr, /protocol mismatch: this daemon speaks protocol 999 \[ProtocolMismatch\]/);
    } finally {
      fake.stop();
    }
  });

  it('a closed port is reported as before: cannot connect, ECONNREFUSED, Unreachable', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const push = await runBlit(['copy', path.join(t.dir, 'src') + '/', `127.0.0.1:${closed}:/default/x/`]);
    const pull = await runBlit(['copy', `127.0.0.1:${closed}:/default/x/`, path.join(t.dir, 'pulled') + '/']);
    for (const r of [push, pull]) assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closed}: ECONNREFUSED \\[Unreachable\\]`));
  });

  // Since hunt-load a port that accepts TCP is waited on as a busy blitd would be, up to
  // DEFAULT_BUSY_TIMEOUT_MS (30 s), here shortened to 7 s (BLIT_TEST_BUSY_TIMEOUT_MS): still a
  // probe at 5 s that finds the port open and waits on, then the refusal; push and pull wait at once.
  it('a host that accepts the connection but never speaks gRPC fails after the busy deadline, named', async function () {
    this.timeout(120_000);
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as net.AddressInfo).port)));
    const env = { BLIT_TEST_BUSY_TIMEOUT_MS: '7000' };
    try {
      const [push, pull] = await Promise.all([
        runBlit(['copy', path.join(t.dir, 'src') + '/', `127.0.0.1:${port}:/default/x/`], { timeoutMs: 90_000, env }),
        runBlit(['copy', `127.0.0.1:${port}:/default/x/`, path.join(t.dir, 'pulled') + '/'], { timeoutMs: 90_000, env }),
      ]);
      for (const r of [push, pull]) {
        const m = new RegExp(`127\\.0\\.0\\.1:${port} accepts connections but blitd did not answer within (\\d+) s \\(overloaded or stopped\\?\\) \\[Unreachable\\]`).exec(r.stderr);
        assert.ok(m, r.stderr);
        assert.ok(Number(m[1]) >= 7, `gave up before the busy deadline: ${m[0]}`);
      }
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a push and a pull through the real daemon still work', async () => {
    const push = await runBlit(['copy', path.join(t.dir, 'src') + '/', `127.0.0.1:${d.port}:/default/y/`]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(fs.readFileSync(path.join(t.dir, 'mod', 'y', 'f'), 'utf8'), 'x');
    const pull = await runBlit(['copy', `127.0.0.1:${d.port}:/default/y/`, path.join(t.dir, 'back') + '/']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(fs.readFileSync(path.join(t.dir, 'back', 'f'), 'utf8'), 'x');
  });
});
