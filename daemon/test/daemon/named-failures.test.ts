/**
 * Every failure named: a transfer that ends on a full destination says "no space left on device"
 * ([NoSpace], exit 1) with the path, never the transport error that is its consequence. On a push
 * into a full module blitd fails the job and closes the data streams while the client is still
 * writing a big file: the client's write then fails (EPIPE, ECONNRESET) at about the time blitd's
 * NoSpace arrives on the control stream, and the client used to report whichever came first
 * (`data stream write failed: EPIPE [IoError]`). The file here is far bigger than the 1 MiB
 * module, so the client is always mid-write when blitd fails; and the push's control stream runs
 * (TCP data) through a relay that hands blitd's answers to the client LATE_MS late, so blitd's status always
 * arrives after the break of the data stream it closed at the same moment (the data streams go
 * to blitd direct): the interleaving that was reported as EPIPE, every time instead of sometimes
 * (3 of 5 runs without the relay). The delay only forces the order; nothing is timed. Pull (the
 * client's own disk full) and the gRPC data fallback alike. Needs root (mount); skipped elsewhere
 * as the other tmpfs tests.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mountTmpfs, umount } from '../cli/harness';
import { writeTree } from './harness';
import { moduleFixture } from './module-fixture';
import { tempFilesIn } from './transfer-helpers';

/** 48 MiB: dozens of socket buffers beyond what a 1 MiB tmpfs takes. */
const BIG = 48 << 20;

/** How late the relay hands blitd's answers to the client: far longer than the client takes to see its write fail. */
const LATE_MS = 1000;

/**
 * A relay to blitd's gRPC port: what the client sends goes on at once, what blitd sends reaches
 * the client LATE_MS late, in order (timers of one delay fire in the order they were set).
 */
async function lateAnswers(port: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const daemon = net.connect(port, '127.0.0.1');
    const drop = (): void => {
      client.destroy();
      daemon.destroy();
    };
    for (const s of [client, daemon]) {
      sockets.add(s);
      s.on('error', drop);
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', drop);
    client.pipe(daemon);
    daemon.on('data', (chunk: Buffer) => setTimeout(() => client.destroyed || client.write(chunk), LATE_MS));
    daemon.on('end', () => setTimeout(() => client.end(), LATE_MS));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

const isMountPoint = (p: string): boolean => spawnSync('mountpoint', ['-q', p]).status === 0;

describe('a transfer into a full destination is reported as NoSpace, not as the broken data stream', function () {
  this.timeout(120_000);
  const fx = moduleFixture('blit-named-fail-', {
    beforeCleanup: (dir) => {
      for (const m of ['mnt', 'module']) if (isMountPoint(path.join(dir, m))) umount(path.join(dir, m));
    },
  });

  const mountOrSkip = (ctx: Mocha.Context, dir: string): void => {
    if (process.getuid?.() !== 0) ctx.skip();
    mountTmpfs(dir, '1m');
  };

  for (const grpc of [false, true]) {
    const how = grpc ? ' (--force-grpc-data)' : '';
    const flags = grpc ? ['--force-grpc-data'] : [];

    it(`push${how}: blitd's NoSpace with the path, exit 1; no EPIPE, no temp left`, async function () {
      mountOrSkip(this, fx.moduleDir);
      const src = path.join(fx.dir, 'src');
      writeTree(src, { 'big.bin': Buffer.alloc(BIG, 7) });
      await fx.start();
      // gRPC data has no data stream to break (and crawls through the relay: HTTP/2 flow control).
      const relay = grpc ? undefined : await lateAnswers(fx.daemon.port);
      let out;
      try {
        out = await fx.blit(['copy', ...flags, `${src}/`, `127.0.0.1:${relay?.port ?? fx.daemon.port}:/default/dst/`]);
      } finally {
        relay?.close();
      }
      const what = `exit ${out.code}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
      assert.equal(out.code, 1, what);
      assert.match(out.stderr, /blit: error: 127\.0\.0\.1:\d+: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
      assert.doesNotMatch(out.stderr, /EPIPE|ECONNRESET|data stream|\[IoError\]/, what);
      assert.deepEqual(tempFilesIn(fx.moduleDir), [], what);
    });

    it(`pull${how}: the client's own NoSpace with the path, exit 1; not blitd's complaint`, async function () {
      const mnt = path.join(fx.dir, 'mnt');
      fs.mkdirSync(mnt);
      mountOrSkip(this, mnt);
      writeTree(path.join(fx.moduleDir, 'src'), { 'big.bin': Buffer.alloc(BIG, 7) });
      await fx.start();
      const out = await fx.blit(['copy', ...flags, fx.remote('src/'), path.join(mnt, 'dst')]);
      const what = `exit ${out.code}\n--- stderr\n${out.stderr}\n--- blitd\n${fx.daemon.stderr()}`;
      assert.equal(out.code, 1, what);
      assert.match(out.stderr, /blit: error: big\.bin: cannot write: no space left on device \(ENOSPC\) \[NoSpace\]/, what);
      assert.doesNotMatch(out.stderr, /EPIPE|ECONNRESET|data stream|\[IoError\]/, what);
      assert.deepEqual(tempFilesIn(mnt), [], what);
    });
  }
});
