/**
 * A data port whose packets are dropped silently (a firewall's DROP: the SYN is never answered,
 * no RST, no ICMP) against a REAL blitd. The client's connect deadline for a data stream
 * (dataplane.ts CONNECT_TIMEOUT_MS, 2 s) is apart from its wait for blitd's accept byte (token
 * TTL + 1 s, up to 30 s): the TCP handshake is the kernel's (listen backlog) and does not wait for
 * a busy blitd, so only the accept byte gets the long wait. Here the TTL is 20 s: a single wait
 * would hold the fallback back 21 s, and the warning would name it. (A blitd busy at its data
 * accept still gets the TCP data plane: hunt-load-busy.test.ts, push and pull.)
 *
 * The drop is an nft rule on loopback for blitd's --data-port (only that port: the gRPC port
 * answers); `ip route add blackhole` is no silent drop (connect fails at once, EINVAL).
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';
import { CLI_ENV } from './module-fixture';
import { assertSameTree, freePort, jsonSummary, tempFilesIn } from './transfer-helpers';
import { dropOnLoopback, needNft } from '../need-nft';


describe('a data port that drops packets silently: the transfer falls back to gRPC data at the connect deadline (real blitd)', function () {
  this.timeout(90_000);
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  let mod: string;
  let dataPort: number;
  let daemon: Daemon;
  let undrop: (() => void) | undefined;

  before(async () => {
    needNft();
    tmp = tempDir('blit-syn-drop-');
    src = path.join(tmp.dir, 'src');
    mod = path.join(tmp.dir, 'module');
    fs.mkdirSync(mod);
    writeTree(src, { 'big.bin': crypto.randomBytes(2 << 20), 'sub/a.txt': 'a', 'sub/b.bin': crypto.randomBytes(70_000) });
    dataPort = await freePort();
    daemon = await startDaemon(['--port', '0', '--root', mod, '--data-port', String(dataPort), '--data-token-ttl-ms', '20000'], { env: CLI_ENV });
    undrop = dropOnLoopback(`blit_syn_drop_${process.pid}`, dataPort);
  });

  after(async () => {
    undrop?.();
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    assert.doesNotMatch(log, /unhandled error|uncaught|push failed|pull failed/i);
  });

  const warning = (): RegExp =>
    new RegExp(`warning: TCP data plane unreachable \\(data plane 127\\.0\\.0\\.1:${dataPort}: not connected within 2000 ms\\); sending file data over the gRPC connection instead`);

  it('push: warns that the data port did not connect within 2000 ms and completes over gRPC', async () => {
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/default/pushed`, '--json'], { env: CLI_ENV, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stderr}\n${daemon.stderr()}`);
    assert.match(r.stderr, warning());
    assert.equal(jsonSummary(r.stdout).tcpDataPlane, false);
    assertSameTree(src, path.join(mod, 'pushed'));
    assert.deepEqual(tempFilesIn(mod), []);
  });

  it('pull: the same', async () => {
    fs.cpSync(src, path.join(mod, 'to-pull'), { recursive: true, preserveTimestamps: true });
    const dst = path.join(tmp.dir, 'pulled');
    const r = await runBlit(['copy', `127.0.0.1:${daemon.port}:/default/to-pull/`, dst, '--json'], { env: CLI_ENV, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stderr}\n${daemon.stderr()}`);
    assert.match(r.stderr, warning());
    assert.equal(jsonSummary(r.stdout).tcpDataPlane, false);
    assertSameTree(path.join(mod, 'to-pull'), dst);
    assert.deepEqual(tempFilesIn(dst), []);
  });
});
