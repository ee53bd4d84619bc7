/**
 * blitd data-plane settings against real processes: --data-streams and --data-token-ttl-ms reach
 * the negotiation; --data-port pins every transfer's streams to one port (tokens dispatched to
 * the transfer that issued them, strangers closed), and a port in use stops blitd at start.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, runBlitd, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { fileEntry, freePort, jsonSummary, openDataStream, rawExchange, rawPush, tempFilesIn } from './transfer-helpers';


const hello = (token: Buffer): Buffer => Buffer.concat([Buffer.from('BLITDATA'), Buffer.from([1]), token]);

describe('blitd data-plane settings (real blitd)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let dataPort: number;
  let daemon: Daemon;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-dsettings-');
    moduleDir = path.join(tmp.dir, 'module');
    fs.mkdirSync(moduleDir);
    dataPort = await freePort();
    daemon = await startDaemon(['--port', '0', '--root', moduleDir, '--data-port', String(dataPort), '--data-streams', '3', '--data-token-ttl-ms', '1500']);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    assert.doesNotMatch(log, /unhandled error|uncaught/i);
  });

  it('the negotiation offers the pinned port, the configured stream count and token lifetime', async () => {
    const a = await rawPush(daemon.port, 'default', 'n1');
    const b = await rawPush(daemon.port, 'default', 'n2');
    try {
      const na = (await a.until('negotiation')).negotiation!;
      const nb = (await b.until('negotiation')).negotiation!;
      assert.equal(na.tcpPort, dataPort);
      assert.equal(nb.tcpPort, dataPort, 'two transfers share the port');
      assert.equal(na.streams, 3);
      assert.equal(na.token.length, 3 * 32);
      assert.equal(na.tokenTtlMs, 1500);
      // Each token reaches its own transfer; a stranger's token is closed without an answer.
      const sa = await openDataStream(dataPort, na.token.subarray(0, 32));
      const sb = await openDataStream(dataPort, nb.token.subarray(32, 64));
      const stranger = await rawExchange(dataPort, hello(crypto.randomBytes(32)));
      assert.equal(stranger.closed, true);
      assert.equal(stranger.received.length, 0);
      const reused = await rawExchange(dataPort, hello(na.token.subarray(0, 32)));
      assert.equal(reused.received.length, 0, 'a used token is refused on the shared port too');
      sa.destroy();
      sb.destroy();
    } finally {
      a.close();
      b.close();
    }
  });

  it('a token presented after its lifetime is closed on the shared port, nothing written', async () => {
    const push = await rawPush(daemon.port, 'default', 'late');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      push.call.write({ manifest: { entries: [fileEntry('f', 10)] } });
      push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
      await push.until('needComplete');
      await new Promise((r) => setTimeout(r, neg.tokenTtlMs + 200));
      const late = await rawExchange(dataPort, hello(neg.token.subarray(0, 32)));
      assert.equal(late.received.length, 0);
      assert.ok(!fs.existsSync(path.join(moduleDir, 'late', 'f')));
    } finally {
      push.close();
    }
  });

  it('push and pull with blit use the TCP data plane through the pinned port', async () => {
    const src = path.join(tmp.dir, 'src');
    writeTree(src, { 'a.txt': 'a', 'd/b.bin': Buffer.alloc(300_000, 3) });
    const p = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/pinned`, '--json'], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(jsonSummary(p.stdout).tcpDataPlane, true);
    const back = path.join(tmp.dir, 'back');
    const q = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/pinned/`, back, '--json'], { env });
    assert.equal(q.code, 0, q.stderr);
    assert.equal(jsonSummary(q.stdout).tcpDataPlane, true);
    assert.ok(fs.readFileSync(path.join(back, 'd/b.bin')).equals(Buffer.alloc(300_000, 3)));
    assert.deepEqual(tempFilesIn(moduleDir), []);
  });

  it('a data port in use stops blitd at start with a clear error', async () => {
    const r = await runBlitd(['--port', '0', '--root', moduleDir, '--data-port', String(dataPort)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`data plane listen on 127\\.0\\.0\\.1:${dataPort}: .*EADDRINUSE`));
  });

  it('bad flag values are usage errors', async () => {
    const r = await runBlitd(['--port', '0', '--root', moduleDir, '--data-token-ttl-ms', '5']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /--data-token-ttl-ms.*expected an integer 50\.\.600000/);
  });
});
