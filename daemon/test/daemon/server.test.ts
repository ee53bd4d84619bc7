import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { blitClientConstructor, PROTOCOL_VERSION, type HandshakeResponse__Output } from '@blit/proto';
import { connectDaemon } from '../../src/remote/grpc-client';
import { BlitError } from '../../src/engine/errors';
import { runBlit, runBlitd, startDaemon, tempDir, type Daemon } from './harness';

describe('blitd server: handshake, unix socket, shutdown', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  before(() => {
    t = tempDir('blit-server-');
    fs.mkdirSync(path.join(t.dir, 'mod'));
  });
  after(() => t.cleanup());

  describe('handshake', () => {
    let d: Daemon;
    before(async () => {
      d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod')]);
    });
    after(async () => {
      await d.stop();
    });

    it('refuses a raw client sending protocol_version 999, naming both versions', async () => {
      const Client = blitClientConstructor();
      const c = new Client(`127.0.0.1:${d.port}`, grpc.credentials.createInsecure());
      try {
        const res = await new Promise<HandshakeResponse__Output>((resolve, reject) =>
          c.Handshake({ protocolVersion: 999, clientVersion: 'test' }, { deadline: Date.now() + 5000 }, (err, r) => (err ? reject(err) : resolve(r!))),
        );
        assert.equal(res.accepted, false);
        assert.equal(res.protocolVersion, PROTOCOL_VERSION);
        assert.match(res.message, new RegExp(`client speaks protocol 999 .*this daemon speaks protocol ${PROTOCOL_VERSION}`));
      } finally {
        c.close();
      }
      assert.match(d.stderr(), /WARN refused handshake clientProtocol=999/);
    });

    it('turns the refusal into ProtocolMismatch for every client, and accepts the right version', async () => {
      await assert.rejects(connectDaemon({ host: '127.0.0.1', port: d.port }, { protocolVersion: 999 }), (e: unknown) => {
        assert.ok(e instanceof BlitError);
        assert.equal(e.code, 'ProtocolMismatch');
        assert.match(e.message, new RegExp(`protocol 999.*protocol ${PROTOCOL_VERSION}`));
        return true;
      });
      const ok = await connectDaemon({ host: '127.0.0.1', port: d.port });
      assert.equal(ok.handshake.accepted, true);
      assert.ok(ok.handshake.capabilities.includes('tcp-data'));
      ok.close();
    });
  });

  describe('unix socket', () => {
    it('listens only on a 0600 socket in a 0700 directory; the CLI reaches it as unix:PATH', async () => {
      const sock = path.join(t.dir, 'private', 'blitd.sock');
      const d = await startDaemon(['--socket', sock, '--root', path.join(t.dir, 'mod')]);
      try {
        assert.equal(d.address, `unix:${sock}`);
        assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
        assert.ok(fs.statSync(sock).isSocket());
        assert.equal(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
        const r = await runBlit(['jobs', 'list', `unix:${sock}`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /no running jobs/);
      } finally {
        assert.equal(await d.stop(), 0);
      }
    });

    it('refuses a socket directory other users can enter', async () => {
      const open = path.join(t.dir, 'open');
      fs.mkdirSync(open, { mode: 0o755 });
      fs.chmodSync(open, 0o755);
      const r = await runBlitd(['--socket', path.join(open, 's.sock'), '--root', path.join(t.dir, 'mod')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /accessible by other users \(mode 755\)/);
      assert.ok(!fs.existsSync(path.join(open, 's.sock')));
    });
  });

  describe('flags', () => {
    it('--log FILE --log-format json writes JSON lines to the file, not stderr', async () => {
      const log = path.join(t.dir, 'logs', 'blitd.log');
      const d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod'), '--log', log, '--log-format', 'json']);
      const r = await runBlit(['ls', `127.0.0.1:${d.port}:/nope`]);
      assert.equal(r.code, 1);
      assert.equal(await d.stop(), 0);
      assert.equal(d.stderr(), '');
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.map((l) => l.msg), ['listening', 'request failed', 'shutting down', 'stopped']);
      assert.equal(lines[1]!.code, 'ModuleNotFound');
      assert.equal(lines[1]!.level, 'warn');
    });

    it('--force-grpc-data and BLIT_FORCE_GRPC_DATA=1 announce gRPC data only', async () => {
      for (const [args, env] of [[['--force-grpc-data'], {}], [[], { BLIT_FORCE_GRPC_DATA: '1' }]] as const) {
        const d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod'), ...args], { env });
        try {
          const c = await connectDaemon({ host: '127.0.0.1', port: d.port });
          assert.deepEqual(c.handshake.capabilities, ['grpc-data']);
          c.close();
        } finally {
          await d.stop();
        }
      }
    });

    it('--bind ::1 listens on IPv6 loopback; the CLI reaches it as [::1]:PORT', async () => {
      const d = await startDaemon(['--port', '0', '--bind', '::1', '--root', path.join(t.dir, 'mod')]);
      try {
        assert.match(d.address, /^\[::1\]:\d+$/);
        const r = await runBlit(['list-modules', `[::1]:${d.port}`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'default\trw\texported root\n');
      } finally {
        await d.stop();
      }
    });

    it('refuses a port that is already taken, naming the address', async () => {
      const d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod')]);
      try {
        const r = await runBlitd(['--port', String(d.port), '--root', path.join(t.dir, 'mod')]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${d.port}`));
      } finally {
        await d.stop();
      }
    });
  });

  describe('shutdown', () => {
    it('ends open WatchJobs streams and still exits 0 promptly', async () => {
      const d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod'), '--log-level', 'debug']);
      const watcher = runBlit(['jobs', 'watch', `127.0.0.1:${d.port}`]);
      // Wait until the daemon has the stream open (the CLI's start-up time varies with load).
      for (let i = 0; !/method=WatchJobs/.test(d.stderr()); i++) {
        assert.ok(i < 1000, 'the watch never reached the daemon');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await d.stop(), 0);
      // Promptly = the open stream ended by itself, not by the grace-period timer (a wall-clock
      // bound is not a check a loaded box can keep).
      assert.doesNotMatch(d.stderr(), /grace period over/);
      assert.match(d.stderr(), /stopped/);
      const w = await watcher;
      assert.equal(w.code, 0, w.stderr);
    });

    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      it(`exits 0 on ${sig} after closing its listener`, async () => {
        const d = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'mod')]);
        assert.equal(await d.stop(sig), 0);
        assert.match(d.stderr(), new RegExp(`INFO shutting down signal=${sig}[\\s\\S]*INFO stopped`));
        const r = await runBlit(['list-modules', `127.0.0.1:${d.port}`]);
        assert.match(r.stderr, /ECONNREFUSED \[Unreachable\]/);
      });
    }
  });
});
